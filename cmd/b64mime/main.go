// Command b64mime encodes and decodes MIME base64; see docs/man/b64mime.1.md.
package main

import (
	"os"

	"mailtk/internal/b64mime"
	"mailtk/internal/cmdutil"
)

func main() { os.Exit(cmdutil.Main(b64mime.NewApp(), os.Args)) }
