package mimepack

import (
	"bufio"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"

	"mailtk/internal/exitcode"
)

// Verify checks a multipart/signed message (RFC 1847 §2.1) with an
// external verifier. The first body part, header included, is written
// byte for byte with CRLF line ends (the canonical form it was signed in,
// RFC 3156 §5, RFC 8551 §3.1.1) to one file, the decoded signature to
// another, and CMD runs with "$1" = the signature file and "$2" = the
// signed data file (also in $MIMEPACK_SIGNATURE and $MIMEPACK_SIGNED).
// The verifier's exit status decides: 0 is a good signature.
func (a *App) Verify(r io.Reader, cmd string) error {
	src := bufio.NewReaderSize(inputReader{r}, bufSize)
	if b, _ := src.Peek(5); string(b) == "From " {
		src.ReadSlice('\n')
	}
	w := &walker{lim: a.Limits}
	raw, h, err := w.header(src, "TEXT")
	if err != nil {
		return err
	}
	top := w.newPart(h, raw, "text/plain", 0)
	if top.Type != "multipart/signed" || !top.Container {
		return exitcode.Errorf(exitcode.DataErr, "not a multipart/signed message (it is %s)", top.Type)
	}
	dir, err := os.MkdirTemp(a.TempDir, "mimepack-verify-")
	if err != nil {
		return exitcode.New(exitcode.CantCreat, err)
	}
	defer os.RemoveAll(dir)
	data, sig := filepath.Join(dir, "signed"), filepath.Join(dir, "signature")

	mr := newMultipartReader(src, top.Params["boundary"])
	p1, err := mr.next()
	if err != nil {
		return w.locate(err, "TEXT")
	}
	if err := writeFile(data, &toCRLF{r: p1}); err != nil {
		return w.locate(err, "1")
	}
	p2, err := mr.next()
	if err != nil {
		return w.locate(err, "TEXT")
	}
	br := bufio.NewReaderSize(p2, bufSize)
	raw2, h2, err := w.header(br, "2")
	if err != nil {
		return err
	}
	sp := w.newPart(h2, raw2, "text/plain", 1)
	sp.Path, sp.body = "2", br
	if err := writeFile(sig, sp.Decoded()); err != nil {
		return err
	}
	for {
		if _, err := mr.next(); err == io.EOF {
			break
		} else if err != nil {
			return w.locate(err, "TEXT")
		}
	}
	c := exec.Command(a.Shell, "-c", cmd, "mimepack", sig, data)
	c.Env = append(os.Environ(), "MIMEPACK_SIGNATURE="+sig, "MIMEPACK_SIGNED="+data)
	c.Stdout, c.Stderr = a.Stdout, a.Stderr
	err = c.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ee) && ee.ExitCode() != 126 && ee.ExitCode() != 127 && ee.ExitCode() >= 0:
		return exitcode.Errorf(exitcode.DataErr, "signature does not verify (%q exited %d)", cmd, ee.ExitCode())
	}
	return exitcode.Errorf(exitcode.Unavailable, "%q: %v", cmd, err)
}

func writeFile(path string, r io.Reader) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return exitcode.New(exitcode.CantCreat, err)
	}
	_, err = io.Copy(f, r)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = exitcode.New(exitcode.IOErr, cerr)
	}
	return err
}

// toCRLF reads r with every bare LF turned into CRLF.
type toCRLF struct {
	r      io.Reader
	prevCR bool
	in     []byte
	out    []byte
	pend   []byte
}

func (t *toCRLF) Read(p []byte) (int, error) {
	if len(t.pend) == 0 {
		if t.in == nil {
			t.in, t.out = make([]byte, 16<<10), make([]byte, 0, 32<<10)
		}
		n, err := t.r.Read(t.in)
		if n == 0 {
			return 0, err
		}
		out := t.out[:0]
		for _, c := range t.in[:n] {
			if c == '\n' && !t.prevCR {
				out = append(out, '\r')
			}
			out = append(out, c)
			t.prevCR = c == '\r'
		}
		t.pend = out
	}
	n := copy(p, t.pend)
	t.pend = t.pend[n:]
	return n, nil
}
