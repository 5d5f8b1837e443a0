// Command pop3d is the POP3 server of the toolkit; see docs/man/pop3d.8.md.
package main

import (
	"os"

	"mailtk/internal/cmdutil"
	"mailtk/internal/pop3d"
)

func main() { os.Exit(cmdutil.Main(pop3d.NewApp(), os.Args)) }
