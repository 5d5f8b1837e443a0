package filter

import (
	"io"

	"github.com/urfave/cli/v2"

	"mailtk/internal/cmdutil"
	"mailtk/internal/mimeenc"
)

// Codec is what a program puts into the shared command line of qpenc
// and b64mime: its body codec, its own flags, and the RFC 2047 encoding
// of its header words. The shared flags are --decode, --crlf, --lenient,
// --header, --charset, --field and --output.
type Codec struct {
	// Encoding is the RFC 2047 encoding of --header: 'Q' or 'B'.
	Encoding byte
	// HeaderAliases are the short names of --header, if any.
	HeaderAliases []string
	// Lenient is the help text of --lenient.
	Lenient string
	// Flags are the codec's own, listed after --decode.
	Flags []cli.Flag
	// Check, if set, checks the codec's flags before any input is read;
	// its error should be a cmdutil.UsageError.
	Check func(c *cli.Context) error
	// Encode and Decode run the body codec from r to w.
	Encode, Decode func(c *cli.Context, w io.Writer, r io.Reader) error
}

// AppFlags returns the program's flags: the shared ones and the codec's.
func (k *Codec) AppFlags() []cli.Flag {
	flags := []cli.Flag{
		&cli.BoolFlag{Name: "decode", Aliases: []string{"d"}, Usage: "decode instead of encoding"},
	}
	flags = append(flags, k.Flags...)
	return append(flags,
		&cli.BoolFlag{Name: "crlf", Usage: "write CR LF line ends instead of LF"},
		&cli.BoolFlag{Name: "lenient", Usage: k.Lenient},
		&cli.BoolFlag{Name: "header", Aliases: k.HeaderAliases, Usage: "RFC 2047 encoded-words: encode each input line as a header value, or decode every encoded-word"},
		&cli.StringFlag{Name: "charset", Value: "UTF-8", Usage: "--header: the `CHARSET` to encode to (the input is UTF-8)"},
		&cli.StringFlag{Name: "field", Usage: "--header: start each output with \"`NAME`: \" and count it in the first line"},
		&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write to `FILE`, created only when all went well"},
	)
}

// Action checks the command line and runs the codec, or the header-word
// coder with --header, through Run.
func (k *Codec) Action(c *cli.Context) error {
	if k.Check != nil {
		if err := k.Check(c); err != nil {
			return err
		}
	}
	header, decode := c.Bool("header"), c.Bool("decode")
	if !header && (c.IsSet("charset") || c.IsSet("field")) {
		return cmdutil.UsageError("--charset and --field need --header")
	}
	wopt := mimeenc.WordOptions{Encoding: k.Encoding, Charset: c.String("charset"), Field: c.String("field"), CRLF: c.Bool("crlf")}
	if header && !decode {
		// An unknown charset is a usage error, found before any input.
		if _, err := mimeenc.EncodeWords("", wopt); err != nil {
			return cmdutil.UsageError("%v", err)
		}
	}
	return Run(c, func(w io.Writer, r io.Reader) error {
		switch {
		case header && decode:
			return mimeenc.DecodeWordLines(w, r, c.Bool("lenient"))
		case header:
			return mimeenc.EncodeWordLines(w, r, wopt)
		case decode:
			return k.Decode(c, w, r)
		}
		return k.Encode(c, w, r)
	})
}
