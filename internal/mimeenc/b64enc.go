package mimeenc

import (
	"errors"
	"io"
)

// B64Options configure the base64 Writer and Reader.
type B64Options struct {
	// Wrap is the length of an output line: 0 means 76, the RFC 2045
	// §6.8 maximum; a negative value writes no line breaks at all.
	Wrap int
	// CRLF ends output lines with CR LF instead of LF.
	CRLF bool
	// Lenient makes the Reader skip characters outside the alphabet,
	// misplaced and missing padding, as RFC 2045 §6.8 allows, instead of
	// failing with a *SyntaxError.
	Lenient bool
	// Portable uses encoding/base64 instead of the SIMD block codec.
	Portable bool
}

// b64Block is how many input bytes the Writer encodes per round: a
// multiple of 3 (whole quanta) and of 57 (a 76-column line). Large
// rounds mean few system calls and goroutine hand-overs; the work of a
// round is bound by memory bandwidth either way.
const b64Block = 57 * 8192

var errClosed = errors.New("mimeenc: write after Close")

// B64Writer encodes to base64 (RFC 2045 §6.8) with line breaks every
// Wrap characters. Close writes the final quantum with its padding and
// the final line break; without Close the output is incomplete.
type B64Writer struct {
	w      io.Writer
	codec  b64Codec
	wrap   int
	eol    []byte
	in     []byte // pending input, len < b64Block+3
	enc    []byte // one round of encoded text
	out    []byte // one round of output with line breaks
	col    int    // characters on the current output line
	err    error
	closed bool
}

// NewB64Writer returns a base64 encoder writing to w.
func NewB64Writer(w io.Writer, opt B64Options) *B64Writer {
	wrap := opt.Wrap
	if wrap == 0 {
		wrap = 76
	}
	e := &B64Writer{w: w, codec: newB64Codec(opt.Portable), wrap: wrap, eol: []byte("\n")}
	if opt.CRLF {
		e.eol = []byte("\r\n")
	}
	encLen := (b64Block+3)/3*4 + 4 // + a carried quantum (chunk)
	outLen := encLen + len(e.eol)
	if wrap > 0 {
		outLen += (encLen/wrap + 1) * len(e.eol)
	}
	e.in = make([]byte, 0, b64Block+3)
	e.enc = make([]byte, encLen)
	e.out = make([]byte, 0, outLen)
	return e
}

// Write encodes p. Output is written in rounds of about 600 KiB.
func (e *B64Writer) Write(p []byte) (int, error) {
	if e.closed {
		return 0, errClosed
	}
	n := 0
	for len(p) > 0 && e.err == nil {
		k := copy(e.in[len(e.in):cap(e.in)-3], p)
		e.in = e.in[:len(e.in)+k]
		p = p[k:]
		n += k
		if len(e.in) >= b64Block {
			e.round(false)
		}
	}
	return n, e.err
}

// ReadFrom encodes everything r gives until EOF, reading ahead in a
// second goroutine. It does not Close.
// On an error the read-ahead may still be blocked in a Read of r;
// r must not be used again.
func (e *B64Writer) ReadFrom(r io.Reader) (int64, error) {
	if e.closed {
		return 0, errClosed
	}
	e.round(false) // what Write left: fewer than 3 bytes stay, as chunk wants
	return readFrom(r, b64Block, &e.err, e.chunk)
}

// chunk encodes the whole quanta of what is pending plus p, in one
// write, and keeps the rest; len(p) <= b64Block.
func (e *B64Writer) chunk(p []byte) {
	enc := e.enc[:0]
	if len(e.in) > 0 {
		k := min(3-len(e.in), len(p))
		e.in = append(e.in, p[:k]...)
		p = p[k:]
		if len(e.in) < 3 {
			return
		}
		enc = enc[:4]
		e.codec.encode(enc, e.in)
		e.in = e.in[:0]
	}
	n := len(p) / 3 * 3
	m := len(enc)
	enc = enc[:m+n/3*4]
	e.codec.encode(enc[m:], p[:n])
	e.in = append(e.in, p[n:]...)
	if len(enc) > 0 {
		_, e.err = e.w.Write(e.wrapLines(e.out[:0], enc))
	}
}

// Close encodes the last bytes, ends the last line and reports any
// write error. It does not close the underlying writer.
func (e *B64Writer) Close() error {
	if e.closed {
		return e.err
	}
	e.closed = true
	if e.err == nil {
		e.round(true)
	}
	if e.err == nil && e.col > 0 && e.wrap > 0 {
		_, e.err = e.w.Write(e.eol)
	}
	return e.err
}

// round encodes the whole quanta of e.in (all of it when final) and
// writes them out, keeping the remainder for the next round.
func (e *B64Writer) round(final bool) {
	n := len(e.in) / 3 * 3
	if final {
		n = len(e.in)
	}
	if n == 0 {
		return
	}
	enc := e.enc[:(n+2)/3*4]
	e.codec.encode(enc, e.in[:n])
	rest := copy(e.in, e.in[n:])
	e.in = e.in[:rest]
	out := e.wrapLines(e.out[:0], enc)
	_, e.err = e.w.Write(out)
}

// wrapLines appends enc to out with a line break every e.wrap characters.
func (e *B64Writer) wrapLines(out, enc []byte) []byte {
	if e.wrap < 0 {
		return append(out, enc...)
	}
	for len(enc) > 0 {
		room := e.wrap - e.col
		if room > len(enc) {
			e.col += len(enc)
			return append(out, enc...)
		}
		out = append(out, enc[:room]...)
		out = append(out, e.eol...)
		e.col = 0
		enc = enc[room:]
	}
	return out
}
