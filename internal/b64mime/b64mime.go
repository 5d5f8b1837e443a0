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
	codec := &filter.Codec{
		Encoding: 'B',
		Lenient:  "decoding: skip characters outside the alphabet and bad padding instead of failing",
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "wrap", Aliases: []string{"w"}, Value: 76, Usage: "encoding: `COLS` characters per line, 0 for no line breaks"},
			&cli.BoolFlag{Name: "portable", Usage: "use the portable codec instead of the SIMD one (same output, slower)"},
		},
		Check:  check,
		Encode: encode,
		Decode: decode,
	}
	return &cli.App{
		Name:      "b64mime",
		Usage:     "MIME base64 encode or decode (RFC 2045 §6.8), or RFC 2047 B header words",
		UsageText: "b64mime [-d] [-w COLS] [--crlf] [--lenient] [--portable] [-o FILE] [FILE]\n   b64mime --header [--charset CHARSET] [--field NAME] [--crlf] [-o FILE] [FILE]\n   b64mime -d --header [--lenient] [-o FILE] [FILE]",
		Description: "Reads FILE (or standard input, also for \"-\") and writes standard output (or -o FILE).\n" +
			"Decoding ignores line breaks and white space; anything else outside the alphabet is an error.\n" +
			"Exit status: 0 success; 64 usage error; 65 malformed input (the message names the byte offset;\n" +
			"standard output may hold the data decoded before it, -o FILE is not created); 74 I/O error; 78 bad --config file.",
		HideHelpCommand: true,
		Flags:           codec.AppFlags(),
		Action:          codec.Action,
	}
}

func check(c *cli.Context) error {
	if c.Int("wrap") < 0 {
		return cmdutil.UsageError("--wrap must be 0 or more")
	}
	return nil
}

func options(c *cli.Context) mimeenc.B64Options {
	wrap := c.Int("wrap")
	if wrap == 0 {
		wrap = -1 // no line breaks
	}
	return mimeenc.B64Options{Wrap: wrap, CRLF: c.Bool("crlf"), Lenient: c.Bool("lenient"), Portable: c.Bool("portable")}
}

func encode(c *cli.Context, w io.Writer, r io.Reader) error {
	e := mimeenc.NewB64Writer(w, options(c))
	if _, err := e.ReadFrom(r); err != nil {
		return err
	}
	return e.Close()
}

func decode(c *cli.Context, w io.Writer, r io.Reader) error {
	_, err := mimeenc.NewB64Reader(r, options(c)).WriteTo(w)
	return err
}
