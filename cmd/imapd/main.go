// Command imapd is the IMAP server of mailtk. See docs/man/imapd.8.md.
package main

import (
	"os"

	"mailtk/internal/cmdutil"
	"mailtk/internal/imapd"
)

func main() { os.Exit(cmdutil.Main(imapd.NewApp(), os.Args)) }
