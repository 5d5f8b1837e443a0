// Package b64mime is the b64mime program: a MIME base64 filter (RFC
// 2045 §6.8) and RFC 2047 "B" header-word encoder and decoder, built on
// internal/mimeenc.
package b64mime

import (
	"io"

	"github.com/urfave/cli/v2"

	"mailtk/internal/cmdutil"
	"mailtk/internal/mimeenc"
	"mailtk/internal/mimeenc/filter"
)

// NewApp returns the b64mime command-line application.
func NewApp() *cli.App {
	return &cli.App{
		Name:      "b64mime",
		Usage:     "MIME base64 encode or decode (RFC 2045 §6.8), or RFC 2047 B header words",
		UsageText: "b64mime [-d] [-w COLS] [--crlf] [--lenient] [-o FILE] [FILE]\n   b64mime --header [--charset CHARSET] [--field NAME] [--crlf] [FILE]\n   b64mime -d --header [--lenient] [FILE]",
		Description: "Reads FILE (or standard input, also for \"-\") and writes standard output (or -o FILE).\n" +
			"Decoding ignores line breaks and white space; anything else outside the alphabet is an error.\n" +
			"Exit status: 0 success; 64 usage error; 65 malformed input (the message names the byte offset;\n" +
			"standard output may hold the data decoded before it, -o FILE is not created); 74 I/O error; 78 bad --config file.",
		HideHelpCommand: true,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "decode", Aliases: []string{"d"}, Usage: "decode instead of encoding"},
			&cli.IntFlag{Name: "wrap", Aliases: []string{"w"}, Value: 76, Usage: "encoding: `COLS` characters per line, 0 for no line breaks"},
			&cli.BoolFlag{Name: "crlf", Usage: "write CR LF line ends instead of LF"},
			&cli.BoolFlag{Name: "lenient", Usage: "decoding: skip characters outside the alphabet and bad padding instead of failing"},
			&cli.BoolFlag{Name: "header", Usage: "RFC 2047 encoded-words: encode each input line as a header value, or decode every encoded-word"},
			&cli.StringFlag{Name: "charset", Value: "UTF-8", Usage: "--header: the `CHARSET` to encode to (the input is UTF-8)"},
			&cli.StringFlag{Name: "field", Usage: "--header: start each output with \"`NAME`: \" and count it in the first line"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write to `FILE`, created only when all went well"},
			&cli.BoolFlag{Name: "portable", Usage: "use the portable codec instead of the SIMD one (same output, slower)"},
		},
		Action: run,
	}
}

func run(c *cli.Context) error {
	wrap := c.Int("wrap")
	if wrap < 0 {
		return cmdutil.UsageError("--wrap must be 0 or more")
	}
	if wrap == 0 {
		wrap = -1 // no line breaks
	}
	if !c.Bool("header") && (c.IsSet("charset") || c.IsSet("field")) {
		return cmdutil.UsageError("--charset and --field need --header")
	}
	wopt := mimeenc.WordOptions{Encoding: 'B', Charset: c.String("charset"), Field: c.String("field"), CRLF: c.Bool("crlf")}
	if c.Bool("header") && !c.Bool("decode") {
		if _, err := mimeenc.EncodeWords("", wopt); err != nil {
			return cmdutil.UsageError("%v", err)
		}
	}
	opt := mimeenc.B64Options{Wrap: wrap, CRLF: c.Bool("crlf"), Lenient: c.Bool("lenient"), Portable: c.Bool("portable")}
	return filter.Run(c, func(w io.Writer, r io.Reader) error {
		switch {
		case c.Bool("header") && c.Bool("decode"):
			return mimeenc.DecodeWordLines(w, r, c.Bool("lenient"))
		case c.Bool("header"):
			return mimeenc.EncodeWordLines(w, r, wopt)
		case c.Bool("decode"):
			_, err := mimeenc.NewB64Reader(r, opt).WriteTo(w)
			return err
		}
		e := mimeenc.NewB64Writer(w, opt)
		if _, err := e.ReadFrom(r); err != nil {
			return err
		}
		return e.Close()
	})
}
