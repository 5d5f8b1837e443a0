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
	return &cli.App{
		Name:      "qpenc",
		Usage:     "quoted-printable encode or decode (RFC 2045 §6.7), or RFC 2047 Q header words",
		UsageText: "qpenc [-d] [--binary] [--crlf] [--lenient] [-o FILE] [FILE]\n   qpenc -q [--charset CHARSET] [--field NAME] [--crlf] [FILE]\n   qpenc -d -q [--lenient] [FILE]",
		Description: "Reads FILE (or standard input, also for \"-\") and writes standard output (or -o FILE).\n" +
			"Encoding: text mode by default (LF and CR LF are line breaks), lines of at most 76 characters.\n" +
			"Exit status: 0 success; 64 usage error; 65 malformed input (the message names line and column;\n" +
			"standard output may hold the data decoded before it, -o FILE is not created); 74 I/O error; 78 bad --config file.",
		HideHelpCommand: true,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "decode", Aliases: []string{"d"}, Usage: "decode instead of encoding"},
			&cli.BoolFlag{Name: "binary", Aliases: []string{"b"}, Usage: "encode CR and LF too (=0D, =0A): any bytes round-trip exactly"},
			&cli.BoolFlag{Name: "crlf", Usage: "write CR LF line ends instead of LF"},
			&cli.BoolFlag{Name: "lenient", Usage: "decoding: pass malformed sequences through instead of failing"},
			&cli.BoolFlag{Name: "header", Aliases: []string{"q"}, Usage: "RFC 2047 encoded-words: encode each input line as a header value, or decode every encoded-word"},
			&cli.StringFlag{Name: "charset", Value: "UTF-8", Usage: "--header: the `CHARSET` to encode to (the input is UTF-8)"},
			&cli.StringFlag{Name: "field", Usage: "--header: start each output with \"`NAME`: \" and count it in the first line"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write to `FILE`, created only when all went well"},
		},
		Action: run,
	}
}

func run(c *cli.Context) error {
	if c.Bool("header") && c.Bool("binary") {
		return cmdutil.UsageError("--binary and --header exclude each other")
	}
	if !c.Bool("header") && (c.IsSet("charset") || c.IsSet("field")) {
		return cmdutil.UsageError("--charset and --field need --header")
	}
	wopt := mimeenc.WordOptions{Encoding: 'Q', Charset: c.String("charset"), Field: c.String("field"), CRLF: c.Bool("crlf")}
	if c.Bool("header") && !c.Bool("decode") {
		if _, err := mimeenc.EncodeWords("", wopt); err != nil {
			return cmdutil.UsageError("%v", err)
		}
	}
	return filter.Run(c, func(w io.Writer, r io.Reader) error {
		opt := mimeenc.QPOptions{Binary: c.Bool("binary"), CRLF: c.Bool("crlf"), Lenient: c.Bool("lenient")}
		switch {
		case c.Bool("header") && c.Bool("decode"):
			return mimeenc.DecodeWordLines(w, r, c.Bool("lenient"))
		case c.Bool("header"):
			return mimeenc.EncodeWordLines(w, r, wopt)
		case c.Bool("decode"):
			_, err := mimeenc.NewQPReader(r, opt).WriteTo(w)
			return err
		}
		e := mimeenc.NewQPWriter(w, opt)
		if _, err := e.ReadFrom(r); err != nil {
			return err
		}
		return e.Close()
	})
}
