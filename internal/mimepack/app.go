// Package mimepack builds MIME messages from files (RFC 2045, 2046, 2047,
// 2183, 2231), lists and unpacks them, wraps them in RFC 1847 security
// multiparts with an external signer or encryptor, and splits and joins
// message/partial fragments (RFC 2046 §5.2.2). Everything streams: memory
// use does not grow with the size of a part.
package mimepack

import (
	"bufio"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"mailtk/internal/exitcode"
)

// App is the environment of one run: where it reads and writes, the
// clock, the randomness, the limits. Tests fill it; NewApp uses the
// process's own.
type App struct {
	Stdin    io.Reader
	Stdout   io.Writer
	Stderr   io.Writer
	Now      func() time.Time
	Rand     io.Reader
	Hostname string
	TempDir  string // for spool files; "" is os.TempDir()
	Shell    string // runs --sign-cmd and friends; "/bin/sh"
	Limits   Limits
}

// OutputError is a failure to write the output.
type OutputError struct{ Err error }

func (e *OutputError) Error() string { return "write: " + e.Err.Error() }

func (e *OutputError) Unwrap() error { return e.Err }

type outputWriter struct{ w io.Writer }

func (o outputWriter) Write(p []byte) (int, error) {
	n, err := o.w.Write(p)
	if err != nil {
		err = &OutputError{err}
	}
	return n, err
}

// exitError gives err its exit status (RFC-independent, sysexits):
// malformed input 65, unreadable input or unwritable output 74.
func exitError(err error) error {
	if err == nil {
		return nil
	}
	var ee *exitcode.Error
	var pe *PartError
	var ie *InputError
	var oe *OutputError
	switch {
	case errors.As(err, &ee):
		return err
	case errors.As(err, &pe):
		return exitcode.New(exitcode.DataErr, err)
	case errors.As(err, &ie), errors.As(err, &oe):
		return exitcode.New(exitcode.IOErr, err)
	}
	return err
}

const usageText = `Build (the default) writes a complete message to standard output, ready
for "| sendmail -t": a text body (--body FILE or -m TEXT), an HTML
alternative (--html FILE) and each FILE as an attachment ("-" is standard
input). With --digest the FILEs are messages, sent as a multipart/digest.
Options come before the FILEs.

   -l [MSG]             list the part tree with IMAP part numbers (--json)
   -x [-C DIR] [MSG]    write every part into DIR, never outside it, never
                        over an existing file; print what was written
   --part PATH [MSG]    write one decoded part to standard output
   --verify-cmd CMD [MSG]  check a multipart/signed message with CMD
   --join FRAGMENT...   reassemble message/partial fragments (any order)

EXIT STATUS: 0 success, 64 usage, 65 malformed input (the part path is
named), 66 an input file is missing, 69 a --sign-cmd, --encrypt-cmd or
--verify-cmd failed, 73 a file cannot be created, 74 I/O error.`

// NewApp returns the mimepack command line.
func NewApp() *cli.App {
	return &cli.App{
		Name:                      "mimepack",
		Usage:                     "build, list and unpack MIME messages",
		UsageText:                 "mimepack [options] [FILE|-]...\nmimepack -l|-x|--part PATH|--verify-cmd CMD [options] [MSG]\nmimepack --join FRAGMENT...",
		Description:               usageText,
		HideHelpCommand:           true,
		DisableSliceFlagSeparator: true,
		Flags:                     flags(),
		Action: func(c *cli.Context) error {
			a := &App{
				Stdin:  c.App.Reader,
				Stdout: c.App.Writer,
				Stderr: c.App.ErrWriter,
				Now:    time.Now,
				Rand:   rand.Reader,
				Shell:  "/bin/sh",
				Limits: Limits{
					MaxDepth:       c.Int("max-depth"),
					MaxParts:       c.Int("max-parts"),
					MaxHeaderBytes: c.Int("max-header-bytes"),
				},
			}
			a.Hostname, _ = os.Hostname()
			return exitError(a.run(c))
		},
	}
}

func flags() []cli.Flag {
	d := DefaultLimits()
	return []cli.Flag{
		&cli.StringFlag{Name: "subject", Aliases: []string{"s"}, Usage: "`TEXT` of the Subject (RFC 2047 encoded when not ASCII)"},
		&cli.StringFlag{Name: "from", Aliases: []string{"f"}, Usage: "From `ADDRESS`"},
		&cli.StringSliceFlag{Name: "to", Aliases: []string{"t"}, Usage: "To `ADDRESS` (repeatable)"},
		&cli.StringSliceFlag{Name: "cc", Aliases: []string{"c"}, Usage: "Cc `ADDRESS` (repeatable)"},
		&cli.StringSliceFlag{Name: "header", Aliases: []string{"H"}, Usage: "extra header `FIELD`, as 'Name: value' (repeatable)"},
		&cli.StringFlag{Name: "body", Usage: "text body from `FILE` (- for standard input)"},
		&cli.StringFlag{Name: "message", Aliases: []string{"m"}, Usage: "text body `TEXT`"},
		&cli.StringFlag{Name: "html", Usage: "HTML body from `FILE`; with a text body, multipart/alternative"},
		&cli.BoolFlag{Name: "digest", Usage: "the FILEs are messages: build a multipart/digest"},
		&cli.StringFlag{Name: "charset", Usage: "`CHARSET` of text files that are neither ASCII nor UTF-8 (default unknown-8bit)"},
		&cli.BoolFlag{Name: "7bit", Usage: "no 8bit parts: quoted-printable instead (for relays without 8BITMIME)"},
		&cli.BoolFlag{Name: "crlf", Usage: "write CRLF line ends (default LF, as sendmail -t expects)"},
		&cli.StringFlag{Name: "sign-cmd", Usage: "sign with `CMD` (stdin: the part, stdout: a detached signature): multipart/signed"},
		&cli.StringFlag{Name: "encrypt-cmd", Usage: "encrypt with `CMD` (stdin: the part, stdout: the encrypted data)"},
		&cli.StringFlag{Name: "micalg", Usage: "`ALG` as the micalg parameter of multipart/signed (default: read from the signature)"},
		&cli.Int64Flag{Name: "split", Usage: "cut the message into message/partial fragments of at most `BYTES` of content each"},
		&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "with --split: write fragments to `PREFIX`.01, PREFIX.02, ..."},
		&cli.BoolFlag{Name: "list", Aliases: []string{"l"}, Usage: "list the part tree of a message"},
		&cli.BoolFlag{Name: "json", Usage: "with -l: JSON output"},
		&cli.BoolFlag{Name: "extract", Aliases: []string{"x"}, Usage: "unpack every part of a message into a directory"},
		&cli.StringFlag{Name: "directory", Aliases: []string{"C"}, Value: ".", Usage: "with -x: write into `DIR`"},
		&cli.StringFlag{Name: "part", Usage: "write the decoded part `PATH` (IMAP numbering) to standard output"},
		&cli.StringFlag{Name: "verify-cmd", Usage: "verify a multipart/signed message with `CMD` (\"$1\": signature file, \"$2\": signed data file)"},
		&cli.BoolFlag{Name: "join", Usage: "reassemble message/partial fragments given as files"},
		&cli.IntFlag{Name: "max-depth", Value: d.MaxDepth, Usage: "refuse messages nested deeper than `N` levels"},
		&cli.IntFlag{Name: "max-parts", Value: d.MaxParts, Usage: "refuse messages of more than `N` parts"},
		&cli.IntFlag{Name: "max-header-bytes", Value: d.MaxHeaderBytes, Usage: "refuse header blocks longer than `N` bytes"},
	}
}

// run picks the mode from the flags.
func (a *App) run(c *cli.Context) error {
	modes := 0
	for _, f := range []string{"list", "extract", "part", "verify-cmd", "join"} {
		if c.IsSet(f) {
			modes++
		}
	}
	if modes > 1 {
		return exitcode.Errorf(exitcode.Usage, "-l, -x, --part, --verify-cmd and --join exclude each other")
	}
	if a.Limits.MaxDepth < 1 || a.Limits.MaxParts < 1 || a.Limits.MaxHeaderBytes < 1024 {
		return exitcode.Errorf(exitcode.Usage, "limits must be positive (--max-header-bytes at least 1024)")
	}
	out := bufio.NewWriterSize(outputWriter{a.Stdout}, 64<<10)
	a.Stdout = out
	err := a.dispatch(c)
	// A message that failed to build is not completed with what is still
	// buffered (it may be on its way to sendmail -t); a listing is.
	if err != nil && a.building(c) {
		return err
	}
	if ferr := out.Flush(); err == nil {
		err = ferr
	}
	return err
}

// building tells whether the command line builds a message.
func (a *App) building(c *cli.Context) bool {
	for _, f := range []string{"list", "extract", "part", "verify-cmd", "join"} {
		if c.IsSet(f) {
			return false
		}
	}
	return true
}

func (a *App) dispatch(c *cli.Context) error {
	args := c.Args().Slice()
	switch {
	case c.Bool("join"):
		if len(args) == 0 {
			return exitcode.Errorf(exitcode.Usage, "--join needs the fragment files")
		}
		return a.Join(args)
	case c.Bool("list"), c.Bool("extract"), c.IsSet("part"), c.IsSet("verify-cmd"):
		if len(args) > 1 {
			return exitcode.Errorf(exitcode.Usage, "one message at a time")
		}
		in, closeIn, err := a.openMessage(args)
		if err != nil {
			return err
		}
		defer closeIn()
		switch {
		case c.Bool("list"):
			return a.List(in, c.Bool("json"))
		case c.Bool("extract"):
			return a.Extract(in, c.String("directory"))
		case c.IsSet("part"):
			return a.WritePart(in, c.String("part"))
		default:
			return a.Verify(in, c.String("verify-cmd"))
		}
	}
	if c.Bool("json") || c.IsSet("directory") {
		return exitcode.Errorf(exitcode.Usage, "--json goes with -l, -C with -x")
	}
	m := &Message{
		From:       c.String("from"),
		To:         c.StringSlice("to"),
		Cc:         c.StringSlice("cc"),
		Subject:    c.String("subject"),
		Headers:    c.StringSlice("header"),
		BodyFile:   c.String("body"),
		BodyText:   c.String("message"),
		HasText:    c.IsSet("message"),
		HTMLFile:   c.String("html"),
		Files:      args,
		Digest:     c.Bool("digest"),
		Charset:    c.String("charset"),
		SevenBit:   c.Bool("7bit"),
		CRLF:       c.Bool("crlf"),
		SignCmd:    c.String("sign-cmd"),
		EncryptCmd: c.String("encrypt-cmd"),
		Micalg:     c.String("micalg"),
	}
	if c.IsSet("split") {
		if c.Int64("split") < 1024 {
			return exitcode.Errorf(exitcode.Usage, "--split needs at least 1024 bytes")
		}
		if c.String("output") == "" {
			return exitcode.Errorf(exitcode.Usage, "--split needs -o PREFIX for the fragment files")
		}
		return a.BuildSplit(m, c.Int64("split"), c.String("output"))
	}
	if c.IsSet("output") {
		return exitcode.Errorf(exitcode.Usage, "-o goes with --split")
	}
	return a.Build(a.Stdout, m)
}

// openMessage opens the message to read: the named file or standard input.
func (a *App) openMessage(args []string) (io.Reader, func(), error) {
	if len(args) == 0 || args[0] == "-" {
		return a.Stdin, func() {}, nil
	}
	f, err := os.Open(args[0])
	if err != nil {
		return nil, nil, exitcode.New(exitcode.NoInput, err)
	}
	return f, func() { f.Close() }, nil
}

// warnf prints a diagnostic that does not change the exit status.
func (a *App) warnf(format string, args ...any) {
	fmt.Fprintf(a.Stderr, "mimepack: "+format+"\n", args...)
}
