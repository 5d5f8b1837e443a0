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
const qpBlock = 128 * 1024

// qpCodes holds, for [text mode, binary mode] and every byte, its
// encoding in the low 3 bytes of a little-endian word and its length in
// the top byte: 1 for a byte that stands for itself (RFC 2045 §6.7 rule
// 2), 3 for "=XX" (rule 1, upper-case hex). Length 0 marks the bytes
// whose encoding depends on the next one: space and tab (rule 3), and in
// text mode CR and LF (line breaks, rule 4).
const qpWSCode = 0x81 << 24

var qpCodes = func() (t [2][256]uint32) {
	const hex = "0123456789ABCDEF"
	for m := range t {
		for c := 0; c < 256; c++ {
			switch {
			case c == ' ' || c == '\t':
				t[m][c] = qpWSCode | uint32(c)
			case c >= 33 && c <= 126 && c != '=':
				t[m][c] = 1<<24 | uint32(c)
			default:
				t[m][c] = 3<<24 | uint32('=') | uint32(hex[c>>4])<<8 | uint32(hex[c&15])<<16
			}
		}
	}
	t[0]['\r'] = 0
	t[0]['\n'] = 0
	return t
}()

// QPWriter encodes to quoted-printable. Close must be called: it
// encodes white space or a CR held back at the end of the input.
type QPWriter struct {
	w      io.Writer
	codes  *[256]uint32
	binary bool
	eol    []byte
	soft   []byte // "=" and eol: a soft line break
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
	e.codes = &qpCodes[0]
	if opt.Binary {
		e.codes = &qpCodes[1]
	}
	if opt.CRLF {
		e.eol = []byte("\r\n")
	}
	e.soft = append([]byte("="), e.eol...)
	// Worst case: every byte escaped, a soft break every 25 escapes.
	e.out = make([]byte, 0, qpBlock*4+64) // +64: room for word-sized stores
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
		e.encodeFlush(p[:k])
		p = p[k:]
		n += k
	}
	return n, e.err
}

// ReadFrom encodes everything r gives until EOF, reading ahead in a
// second goroutine. It does not Close.
// On an error the read-ahead may still be blocked in a Read of r;
// r must not be used again.
func (e *QPWriter) ReadFrom(r io.Reader) (int64, error) {
	if e.closed {
		return 0, errClosed
	}
	return readFrom(r, qpBlock, &e.err, e.encodeFlush)
}

// encodeFlush encodes p and writes it out; len(p) <= qpBlock.
func (e *QPWriter) encodeFlush(p []byte) {
	e.encode(p)
	e.flush()
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
	const hex = "0123456789ABCDEF"
	binary.LittleEndian.PutUint32(out[o:], uint32('=')|uint32(hex[c>>4])<<8|uint32(hex[c&15])<<16)
	return out[:o+3], col + 3
}

// encode appends the encoding of p to e.out; len(p) <= qpBlock.
//
// It is one long loop on purpose: the word path, the unrolled byte
// path and the byte loop share buf, o and col in registers, and moving
// them into functions of their own costs a call and a spill per few
// bytes. What is rare (a line break, white space, what the last call
// held back) is in functions.
func (e *QPWriter) encode(p []byte) {
	if len(p) == 0 {
		return
	}
	out, col, i := e.settle(e.out, e.col, p[0])
	// The hot loop stores whole words into buf at o: every store has
	// room, as buf is 4 times a block plus slack.
	codes := e.codes
	mode := 0
	if e.binary {
		mode = 1
	}
	buf := out[:cap(out)]
	o := len(out)
	try8 := 0 // binary: where to try the word path again
	for i < len(p) {
		unroll := true
		if i >= try8 && i+8 <= len(p) {
			// The plain characters among the next 8, as many as fit on
			// the line, stored as one word. A space that turns out to
			// end the line is escaped when the line break comes.
			x := load8(p[i:])
			n := 8
			if m := qpSpecial8(x); m != 0 {
				n = firstByte(m)
			}
			n = min(n, qpSoftLimit-col)
			if i+n == len(p) && p[i+n-1] == ' ' {
				n-- // the next call or Close decides about it
			}
			binary.LittleEndian.PutUint64(buf[o:], x)
			o += n
			col += n
			i += n
			if n == 8 {
				continue
			}
			// The byte that stopped the word: an escape that fits on
			// the line is written here; the rest (line breaks, white
			// space, a full line) below. Binary data is mostly escapes:
			// the next 8 bytes go through the byte loop.
			if e.binary && n < 2 {
				try8 = i + 8
			} else if code := qpCodes[mode][p[i]]; code>>24 == 3 && col <= qpSoftLimit-3 {
				binary.LittleEndian.PutUint32(buf[o:], code)
				o += 3
				col += 3
				i++
				continue
			} else {
				unroll = false
			}
		}
		if unroll && col <= qpSoftLimit-3*8 && i+8 <= len(p) {
			// 8 bytes cannot fill the line: no length checks.
			end := i + 8
			for ; i < end; i++ {
				code := qpCodes[mode][p[i]]
				n := int(code >> 24)
				if n|2 != 3 {
					break // space, tab, CR, LF: below
				}
				binary.LittleEndian.PutUint32(buf[o:], code)
				o += n
				col += n
			}
			if i == end {
				continue
			}
		}
		c := p[i]
		code := codes[c]
		if n := int(code >> 24); n == 1 || n == 3 {
			if col+n > qpSoftLimit {
				o += copy(buf[o:], e.soft)
				col = 0
			}
			binary.LittleEndian.PutUint32(buf[o:], code)
			o += n
			col += n
			i++
			continue
		}
		out, col, i = e.special(buf[:o], col, p, i)
		o = len(out)
	}
	e.out, e.col = buf[:o], col
}

// settle places what the previous call held back, now that the next
// byte, first, is known. It returns how many bytes of the input it used.
func (e *QPWriter) settle(out []byte, col int, first byte) ([]byte, int, int) {
	if e.pendCR {
		e.pendCR = false
		if first == '\n' {
			return append(out, e.eol...), 0, 1
		}
		out, col = e.escape(out, col, '\r')
	} else if c := e.pendWS; c != 0 {
		e.pendWS = 0
		if !e.binary && (first == '\n' || first == '\r') {
			out, col = e.escape(out, col, c)
		} else {
			out, col = e.plain(out, col, c)
		}
	}
	return out, col, 0
}

// special encodes p[i], a space or tab, or in text mode a CR or LF, and
// returns where to go on in p.
func (e *QPWriter) special(out []byte, col int, p []byte, i int) ([]byte, int, int) {
	c := p[i]
	switch {
	case c == ' ' || c == '\t':
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
	case c == '\r':
		// A space before a CR is escaped whether or not an LF
		// follows, as the byte loop does it, so the output does not
		// depend on where the input was cut.
		out, col = e.unspace(out, col)
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
	default: // LF
		out, col = e.unspace(out, col)
		out = append(out, e.eol...)
		col = 0
	}
	return out, col, i + 1
}

// unspace escapes a space that would end the line (rule 3): the word
// path writes spaces as themselves without looking at what follows.
func (e *QPWriter) unspace(out []byte, col int) ([]byte, int) {
	if n := len(out); n > 0 && out[n-1] == ' ' {
		return e.escape(out[:n-1], col-1, ' ')
	}
	return out, col
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
