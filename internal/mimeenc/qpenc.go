package mimeenc

import (
	"encoding/binary"
	"io"
)

// QPOptions configure the quoted-printable Writer and Reader.
type QPOptions struct {
	// Binary encodes CR and LF as =0D and =0A (RFC 2045 §6.7 rule 4),
	// so that any bytes come back unchanged. Without it (text mode) LF
	// and CR LF in the input are line breaks and stay line breaks.
	Binary bool
	// CRLF writes CR LF line ends (the Writer: hard and soft breaks; the
	// Reader: decoded line breaks) instead of LF.
	CRLF bool
	// Lenient makes the Reader pass malformed sequences through as
	// they are, as encoding/quotedprintable and most mail readers do,
	// instead of failing with a *SyntaxError.
	Lenient bool
}

// qpSoftLimit is how many characters a line may hold before the "=" of
// a soft break: RFC 2045 §6.7 rule 5 allows 76 with the "=". Lines that
// end in a hard break keep to it too.
const qpSoftLimit = 75

// qpBlock is how many input bytes the Writer encodes per round.
const qpBlock = 32 * 1024

// Byte classes of the encoder.
const (
	qpLit = iota // stands for itself (rule 2)
	qpWS         // space or tab: itself, unless last on a line (rule 3)
	qpCR         // text mode: maybe half of a CR LF line break
	qpLF         // text mode: a line break
	qpEsc        // =XX (rule 1)
)

// qpClasses is [text mode, binary mode].
var qpClasses = func() (t [2][256]uint8) {
	for m := range t {
		for c := 0; c < 256; c++ {
			switch {
			case c == ' ' || c == '\t':
				t[m][c] = qpWS
			case c >= 33 && c <= 126 && c != '=':
				t[m][c] = qpLit
			default:
				t[m][c] = qpEsc
			}
		}
	}
	t[0]['\r'] = qpCR
	t[0]['\n'] = qpLF
	return t
}()

// qpEscapes holds "=XX" for every byte, upper-case hex as rule 1 wants,
// in the low 3 bytes of a little-endian word.
var qpEscapes = func() (t [256]uint32) {
	const hex = "0123456789ABCDEF"
	for c := range t {
		t[c] = uint32('=') | uint32(hex[c>>4])<<8 | uint32(hex[c&15])<<16
	}
	return t
}()

// QPWriter encodes to quoted-printable. Close must be called: it
// encodes white space or a CR held back at the end of the input.
type QPWriter struct {
	w      io.Writer
	class  *[256]uint8
	binary bool
	eol    []byte
	in     []byte // ReadFrom's buffer
	out    []byte
	col    int  // characters on the current output line
	pendWS byte // space or tab at the end of the last Write, not yet placed
	pendCR bool // CR at the end of the last Write (text mode)
	err    error
	closed bool
}

// NewQPWriter returns a quoted-printable encoder writing to w.
func NewQPWriter(w io.Writer, opt QPOptions) *QPWriter {
	e := &QPWriter{w: w, binary: opt.Binary, eol: []byte("\n")}
	e.class = &qpClasses[0]
	if opt.Binary {
		e.class = &qpClasses[1]
	}
	if opt.CRLF {
		e.eol = []byte("\r\n")
	}
	// Worst case: every byte escaped, a soft break every 25 escapes.
	e.out = make([]byte, 0, qpBlock*4+64)
	return e
}

// Write encodes p.
func (e *QPWriter) Write(p []byte) (int, error) {
	if e.closed {
		return 0, errClosed
	}
	n := 0
	for len(p) > 0 && e.err == nil {
		k := min(len(p), qpBlock)
		e.encode(p[:k])
		e.flush()
		p = p[k:]
		n += k
	}
	return n, e.err
}

// ReadFrom encodes everything r gives until EOF. It does not Close.
func (e *QPWriter) ReadFrom(r io.Reader) (int64, error) {
	if e.closed {
		return 0, errClosed
	}
	if e.in == nil {
		e.in = make([]byte, qpBlock)
	}
	var total int64
	for e.err == nil {
		n, err := io.ReadFull(r, e.in)
		total += int64(n)
		if n > 0 {
			e.encode(e.in[:n])
			e.flush()
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return total, err
		}
	}
	return total, e.err
}

// Close encodes what was held back (a final space, tab or CR must be
// escaped: rule 3) and reports any write error. It does not close the
// underlying writer. No line break is added: input without a final
// line break encodes to output without one.
func (e *QPWriter) Close() error {
	if e.closed {
		return e.err
	}
	e.closed = true
	if e.pendCR {
		e.out, e.col = e.escape(e.out, e.col, '\r')
		e.pendCR = false
	}
	if e.pendWS != 0 {
		e.out, e.col = e.escape(e.out, e.col, e.pendWS)
		e.pendWS = 0
	}
	e.flush()
	return e.err
}

func (e *QPWriter) flush() {
	if e.err == nil && len(e.out) > 0 {
		_, e.err = e.w.Write(e.out)
	}
	e.out = e.out[:0]
}

// escape appends =XX for c, after a soft break if the line is full.
func (e *QPWriter) escape(out []byte, col int, c byte) ([]byte, int) {
	if col+3 > qpSoftLimit {
		out = append(out, '=')
		out = append(out, e.eol...)
		col = 0
	}
	o := len(out)
	out = out[:o+4] // room for the 4-byte store; the 4th byte is dropped
	binary.LittleEndian.PutUint32(out[o:], qpEscapes[c])
	return out[:o+3], col + 3
}

// encode appends the encoding of p to e.out; len(p) <= qpBlock.
func (e *QPWriter) encode(p []byte) {
	out, col := e.out, e.col
	i := 0
	if len(p) == 0 {
		return
	}
	// Settle what the previous call held back, now that the next byte
	// is known.
	if e.pendCR {
		e.pendCR = false
		if p[0] == '\n' {
			out = append(out, e.eol...)
			col, i = 0, 1
		} else {
			out, col = e.escape(out, col, '\r')
		}
	} else if c := e.pendWS; c != 0 {
		e.pendWS = 0
		if !e.binary && (p[0] == '\n' || p[0] == '\r') {
			out, col = e.escape(out, col, c)
		} else {
			out, col = e.plain(out, col, c)
		}
	}
	class := e.class
	for i < len(p) {
		// Fast path: 8 plain characters that fit on the line, the last
		// not a space (which might end a line).
		if col <= qpSoftLimit-8 && i+8 <= len(p) {
			if x := load8(p[i:]); qpPlain8(x) && p[i+7] != ' ' {
				o := len(out)
				out = out[:o+8]
				binary.LittleEndian.PutUint64(out[o:], x)
				col += 8
				i += 8
				continue
			}
		}
		c := p[i]
		switch class[c] {
		case qpLit:
			out, col = e.plain(out, col, c)
		case qpWS:
			if i+1 == len(p) {
				e.pendWS = c // placed by the next call or Close
				break
			}
			// Rule 3: white space must not end an encoded line.
			if n := p[i+1]; !e.binary && (n == '\n' || n == '\r') {
				out, col = e.escape(out, col, c)
			} else {
				out, col = e.plain(out, col, c)
			}
		case qpCR:
			if i+1 == len(p) {
				e.pendCR = true
				break
			}
			if p[i+1] != '\n' {
				out, col = e.escape(out, col, c) // a bare CR is data
				break
			}
			i++
			fallthrough
		case qpLF:
			out = append(out, e.eol...)
			col = 0
		default:
			out, col = e.escape(out, col, c)
		}
		i++
	}
	e.out, e.col = out, col
}

// plain appends c as itself, after a soft break if the line is full.
func (e *QPWriter) plain(out []byte, col int, c byte) ([]byte, int) {
	if col >= qpSoftLimit {
		out = append(out, '=')
		out = append(out, e.eol...)
		col = 0
	}
	return append(out, c), col + 1
}
