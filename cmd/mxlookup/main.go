// Command mxlookup finds the mail exchangers of domains as an SMTP client
// does. See docs/man/mxlookup.1.md.
package main

import (
	"os"

	"mailtk/internal/cmdutil"
	"mailtk/internal/mxlookup"
)

func main() { os.Exit(cmdutil.Main(mxlookup.NewApp(), os.Args)) }
