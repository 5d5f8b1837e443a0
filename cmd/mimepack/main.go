// Command mimepack builds, lists and unpacks MIME messages; see
// docs/man/mimepack.1.md.
package main

import (
	"os"

	"mailtk/internal/cmdutil"
	"mailtk/internal/mimepack"
)

func main() { os.Exit(cmdutil.Main(mimepack.NewApp(), os.Args)) }
