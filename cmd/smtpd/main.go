// Command smtpd receives mail by SMTP or LMTP and delivers it to Maildirs.
// See docs/man/smtpd.8.md.
package main

import (
	"os"

	"mailtk/internal/cmdutil"
	"mailtk/internal/smtpd"
)

func main() { os.Exit(cmdutil.Main(smtpd.NewApp(), os.Args)) }
