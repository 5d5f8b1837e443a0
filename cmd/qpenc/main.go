// Command qpenc encodes and decodes quoted-printable; see docs/man/qpenc.1.md.
package main

import (
	"os"

	"mailtk/internal/cmdutil"
	"mailtk/internal/qpenc"
)

func main() { os.Exit(cmdutil.Main(qpenc.NewApp(), os.Args)) }
