// Package lineio reads protocol lines with a hard length bound.
//
// SMTP, POP3 and IMAP all read CRLF-terminated command lines from a peer
// that may be hostile. A Reader never holds more than its bound in memory
// for one line, reports how each line ended (so a server can refuse bare
// LF, RFC 5321 §2.3.8, the SMTP smuggling class), and after an over-long
// line it discards the rest of that line, so the next ReadLine starts at
// the next command: the session stays in sync (RFC 5321 §4.5.3.1).
//
// The package is pure: it knows io.Reader and nothing of connections.
package lineio

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// ErrTooLong is returned for a line longer than the Reader's bound. The
// rest of the line has been read and discarded.
var ErrTooLong = errors.New("line too long")

// Ending tells how a line was terminated.
type Ending int

const (
	CRLF Ending = iota // "\r\n", the only terminator the mail protocols define
	LF                 // a bare "\n"
	EOF                // the input ended without a terminator
)

// Reader reads bounded lines. It is not safe for concurrent use.
type Reader struct {
	br  *bufio.Reader
	max int
}

// NewReader returns a Reader whose lines may hold at most max octets,
// not counting the terminator.
func NewReader(r io.Reader, max int) *Reader {
	size := max + 2
	if size < 4096 {
		size = 4096
	}
	return &Reader{br: bufio.NewReaderSize(r, size), max: max}
}

// Max returns the bound on a line's length.
func (r *Reader) Max() int { return r.max }

// SetMax changes the bound; it may not exceed the one given to NewReader
// by more than the buffer allows, so it is meant for lowering it (POP3's
// 255 octets before login) and restoring it.
func (r *Reader) SetMax(max int) {
	if max+2 > r.br.Size() {
		max = r.br.Size() - 2
	}
	r.max = max
}

// ReadLine returns the next line without its terminator, and how it
// ended. The slice is valid until the next call. At the end of input it
// returns io.EOF (with any final unterminated line first, Ending EOF).
// A line longer than the bound gives ErrTooLong with a nil line.
func (r *Reader) ReadLine() ([]byte, Ending, error) {
	b, err := r.br.ReadSlice('\n')
	switch {
	case err == nil:
		if len(b) >= 2 && b[len(b)-2] == '\r' {
			line := b[:len(b)-2]
			if len(line) > r.max {
				return nil, CRLF, ErrTooLong
			}
			return line, CRLF, nil
		}
		line := b[:len(b)-1]
		if len(line) > r.max {
			return nil, LF, ErrTooLong
		}
		return line, LF, nil
	case errors.Is(err, bufio.ErrBufferFull):
		return nil, CRLF, r.discard()
	case len(b) > 0 && errors.Is(err, io.EOF):
		if len(b) > r.max {
			return nil, EOF, ErrTooLong
		}
		return b, EOF, nil
	default:
		return nil, EOF, err
	}
}

// discard skips to the end of the current line.
func (r *Reader) discard() error {
	for {
		_, err := r.br.ReadSlice('\n')
		switch {
		case err == nil:
			return ErrTooLong
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			return ErrTooLong // the next ReadLine reports the EOF
		default:
			return err
		}
	}
}

// Buffered returns how many octets have been read from the underlying
// reader but not yet consumed. A server checks it after STARTTLS/STLS:
// anything buffered was pipelined in plaintext and must be discarded,
// never executed (CVE-2011-0411 class).
func (r *Reader) Buffered() int { return r.br.Buffered() }

// Reset discards all buffered data and reads from rd from now on, as after
// a TLS upgrade.
func (r *Reader) Reset(rd io.Reader) { r.br.Reset(rd) }

// Read reads raw octets (for literals and chunks), consuming buffered
// data first.
func (r *Reader) Read(p []byte) (int, error) { return r.br.Read(p) }

// HasBareCR reports whether line holds a CR, which inside a line the mail
// protocols never allow (RFC 5321 §2.3.8).
func HasBareCR(line []byte) bool { return bytes.IndexByte(line, '\r') >= 0 }
