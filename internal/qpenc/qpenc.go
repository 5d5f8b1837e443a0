// Package qpenc is the qpenc program: a quoted-printable filter (RFC
// 2045 §6.7) and RFC 2047 "Q" header-word encoder and decoder, built on
// internal/mimeenc.
package qpenc

import (
	"io"

	"github.com/urfave/cli/v2"

	"mailtk/internal/cmdutil"
	"mailtk/internal/mimeenc"
	"mailtk/internal/mimeenc/filter"
)

// NewApp returns the qpenc command-line application.
func NewApp() *cli.App {
	codec := &filter.Codec{
		Encoding:      'Q',
		HeaderAliases: []string{"q"},
		Lenient:       "decoding: pass malformed sequences through instead of failing",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "binary", Aliases: []string{"b"}, Usage: "encode CR and LF too (=0D, =0A): any bytes round-trip exactly"},
		},
		Check:  check,
		Encode: encode,
		Decode: decode,
	}
	return &cli.App{
		Name:      "qpenc",
		Usage:     "quoted-printable encode or decode (RFC 2045 §6.7), or RFC 2047 Q header words",
		UsageText: "qpenc [-d] [--binary] [--crlf] [--lenient] [-o FILE] [FILE]\n   qpenc -q [--charset CHARSET] [--field NAME] [--crlf] [-o FILE] [FILE]\n   qpenc -d -q [--lenient] [-o FILE] [FILE]",
		Description: "Reads FILE (or standard input, also for \"-\") and writes standard output (or -o FILE).\n" +
			"Encoding: text mode by default (LF and CR LF are line breaks), lines of at most 76 characters.\n" +
			"Exit status: 0 success; 64 usage error; 65 malformed input (the message names line and column;\n" +
			"standard output may hold the data decoded before it, -o FILE is not created); 74 I/O error; 78 bad --config file.",
		HideHelpCommand: true,
		Flags:           codec.AppFlags(),
		Action:          codec.Action,
	}
}

func check(c *cli.Context) error {
	if c.Bool("header") && c.Bool("binary") {
		return cmdutil.UsageError("--binary and --header exclude each other")
	}
	return nil
}

func options(c *cli.Context) mimeenc.QPOptions {
	return mimeenc.QPOptions{Binary: c.Bool("binary"), CRLF: c.Bool("crlf"), Lenient: c.Bool("lenient")}
}

func encode(c *cli.Context, w io.Writer, r io.Reader) error {
	e := mimeenc.NewQPWriter(w, options(c))
	if _, err := e.ReadFrom(r); err != nil {
		return err
	}
	return e.Close()
}

func decode(c *cli.Context, w io.Writer, r io.Reader) error {
	_, err := mimeenc.NewQPReader(r, options(c)).WriteTo(w)
	return err
}
