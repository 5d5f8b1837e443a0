// Package filter runs a stream codec as a Unix filter for the qpenc and
// b64mime programs: one input (a FILE argument, "-" or standard input),
// one output (standard output, or -o FILE written atomically), and the
// errors mapped to sysexits once.
package filter

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"mailtk/internal/cmdutil"
	"mailtk/internal/exitcode"
	"mailtk/internal/mimeenc"
)

// Run calls fn with the program's input and output. Exit status through
// the returned error: 64 for a bad command line, 65 for malformed input
// (a *mimeenc.SyntaxError), 74 for anything else (I/O).
//
// With --output FILE the data goes to a temporary file in FILE's
// directory that is renamed to FILE only when fn succeeded, so a failed
// run never leaves a partial FILE. A FILE that exists and is not a
// regular file (/dev/null, a FIFO) is written directly. On standard output, what was written
// before an error stays written: the exit status says it is incomplete.
func Run(c *cli.Context, fn func(w io.Writer, r io.Reader) error) error {
	if c.NArg() > 1 {
		return cmdutil.UsageError("at most one input FILE (got %d)", c.NArg())
	}
	name, in := "stdin", c.App.Reader
	if p := c.Args().First(); p != "" && p != "-" {
		f, err := os.Open(p)
		if err != nil {
			return exitcode.New(exitcode.IOErr, err)
		}
		defer f.Close()
		name, in = p, f
	}
	out := c.App.Writer
	var tmp *os.File
	if p := c.String("output"); p != "" {
		if fi, err := os.Stat(p); err == nil && !fi.Mode().IsRegular() {
			// A device or FIFO (-o /dev/null, -o /dev/stdout): write to
			// it; renaming a file over it would replace it.
			f, err := os.OpenFile(p, os.O_WRONLY, 0)
			if err != nil {
				return exitcode.New(exitcode.IOErr, err)
			}
			defer f.Close()
			out = f
		} else {
			tmp, err = os.CreateTemp(filepath.Dir(p), "."+filepath.Base(p)+".tmp*")
			if err != nil {
				return exitcode.New(exitcode.IOErr, err)
			}
			defer func() {
				if tmp != nil {
					tmp.Close()
					os.Remove(tmp.Name())
				}
			}()
			out = tmp
		}
	}
	if err := fn(out, in); err != nil {
		var se *mimeenc.SyntaxError
		if errors.As(err, &se) {
			return exitcode.New(exitcode.DataErr, fmt.Errorf("%s: %w", name, err))
		}
		return exitcode.New(exitcode.IOErr, err)
	}
	if tmp != nil {
		err := tmp.Chmod(0o644)
		if err == nil {
			err = tmp.Sync()
		}
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(tmp.Name(), c.String("output"))
		}
		if err != nil {
			return exitcode.New(exitcode.IOErr, err)
		}
		tmp = nil
	}
	return nil
}
