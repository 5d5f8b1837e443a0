// Command sendmail is the /usr/sbin/sendmail interface of mailtk. See
// docs/man/sendmail.8.md.
package main

import (
	"os"

	"mailtk/internal/sendmail"
)

func main() { os.Exit(sendmail.Main(os.Args)) }
