package mimeenc

import (
	"encoding/binary"
	"io"
)

// qpMaxPad bounds white space held back while the decoder learns whether
// it ends a line (then it is transport padding, dropped) or not.
const qpMaxPad = 4096

// Decoder states between bytes.
const (
	qsText  = iota // ordinary text
	qsCR           // after a CR (and maybe white space before it)
	qsEq           // after '='
	qsEqHex        // after '=' and one hex digit
	qsEqWS         // after '=' and white space: only a line break may follow
	qsEqCR         // after '=', maybe white space, and CR
)

// qpUnhex maps a hex digit (either case: RFC 2045 §6.7 note (2) lets a
// robust decoder take lower case) to its value, anything else to 0xFF.
var qpUnhex = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xFF
	}
	for i, c := range "0123456789ABCDEF" {
		t[c] = byte(i)
	}
	for i, c := range "abcdef" {
		t[c] = byte(10 + i)
	}
	return t
}()

// QPReader decodes quoted-printable (RFC 2045 §6.7). It accepts what the
// RFC asks a robust decoder to accept: lower-case hex digits, LF or CR LF
// line ends, white space at the end of a line (transport padding, removed
// as rule 3 says) and after a soft break's "=", a soft break at the very
// end of the input, and lines longer than 76 characters.
//
// These are malformed and, unless Lenient, a *SyntaxError naming the line
// and column: "=" followed by anything but two hex digits or a line end,
// control characters other than tab (a CR not followed by LF included)
// and bytes above 126. Lenient passes each through unchanged ("=" and
// what follows it as they are), as encoding/quotedprintable does.
//
// QUIRK: lines longer than 76 characters are decoded in both modes (note
// (5) allows it); the data is unambiguous.
type QPReader struct {
	decoder
	lenient bool
	eol     []byte

	line, col int64 // position of the last byte read: line from 1, column from 1
	state     int
	hex1      byte  // the first digit after '='
	eqLine    int64 // position of the '=' being decoded
	eqCol     int64
	crCol     int64  // column of a pending CR
	pad       []byte // white space held back in qsText and qsCR
	eqPad     []byte // white space after '=' in qsEqWS and qsEqCR
}

// NewQPReader returns a quoted-printable decoder reading from r.
func NewQPReader(r io.Reader, opt QPOptions) *QPReader {
	d := &QPReader{decoder: decoder{r: r}, lenient: opt.Lenient, eol: []byte("\n"), line: 1}
	if opt.CRLF {
		d.eol = []byte("\r\n")
	}
	d.in = make([]byte, qpBlock)
	d.out = make([]byte, 0, 2*qpBlock+2*qpMaxPad+64)
	d.pad = make([]byte, 0, qpMaxPad)
	d.eqPad = make([]byte, 0, qpMaxPad)
	return d
}

// Read decodes into p.
func (d *QPReader) Read(p []byte) (int, error) { return d.read(p, d) }

// WriteTo decodes everything to w, reading ahead in a second goroutine.
// On an error the read-ahead may still be blocked in a Read of the
// source; neither the source nor this Reader may be used again.
func (d *QPReader) WriteTo(w io.Writer) (int64, error) { return d.writeTo(w, d) }

// round decodes the input of one round and takes note of the read error
// that came with it.
func (d *QPReader) round(raw []byte, rerr error) {
	if len(raw) > 0 {
		d.decode(raw)
	}
	switch {
	case d.err != nil:
	case isEOF(rerr):
		d.finish()
	case rerr != nil:
		d.err = rerr
	}
}

// fail records a malformed sequence; it reports whether decoding stops.
//
// QUIRK: lenient: false, and the caller passes the bytes through as they
// are (RFC 2045 §6.7 note (3) for '='; note (4) would drop control and
// 8-bit bytes, which loses data), as encoding/quotedprintable does.
func (d *QPReader) fail(line, col int64, format string, args ...any) bool {
	if d.lenient {
		return false
	}
	d.err = lineError(line, col, format, args...)
	return true
}

// decode decodes p, appending to d.out, until p ends or an error.
func (d *QPReader) decode(p []byte) {
	out := d.out
	pos := qpPos{d.line, d.col}
	defer func() { d.out, d.line, d.col = out, pos.line, pos.col }()
	for i := 0; i < len(p); i++ {
		if d.state == qsText && len(d.pad) == 0 && cap(out)-len(out) >= len(p)-i+8 {
			// The text of a line, plain characters and =XX, a word at
			// a time; anything else ends it.
			o, n, lines, start := qpDecodeRun(out, p[i:])
			out = o
			if lines > 0 {
				pos.line += lines
				pos.col = int64(n - start)
			} else {
				pos.col += int64(n)
			}
			i += n
			if i == len(p) {
				break
			}
		}
		pos.col++
		var step qpStep
		if d.state == qsText {
			out, step = d.text(out, p[i], &pos)
		} else {
			out, step = d.escape(out, p[i], &pos)
		}
		switch step {
		case qpStop:
			return
		case qpAgain:
			i, pos.col = i-1, pos.col-1 // the byte again, as text
		}
	}
}

// qpPos is the position of the last byte read.
type qpPos struct{ line, col int64 }

// qpStep tells decode what to do after a byte.
type qpStep int

const (
	qpNext  qpStep = iota // go on with the next byte
	qpAgain               // decode this byte again, in the state now set
	qpStop                // d.err is set
)

// flushPad writes white space held back: it did not end the line.
func (d *QPReader) flushPad(out []byte) []byte {
	if len(d.pad) > 0 {
		out = append(out, d.pad...)
		d.pad = d.pad[:0]
	}
	return out
}

// text decodes byte c in state qsText.
func (d *QPReader) text(out []byte, c byte, pos *qpPos) ([]byte, qpStep) {
	switch {
	case c > ' ' && c < 0x7f && c != '=':
		out = append(d.flushPad(out), c)
	case c == '=':
		out = d.flushPad(out)
		d.state, d.eqLine, d.eqCol = qsEq, pos.line, pos.col
	case c == ' ' || c == '\t':
		if len(d.pad) == cap(d.pad) {
			// QUIRK: a run of white space this long is not
			// transport padding; keep it.
			out = d.flushPad(out)
		}
		d.pad = append(d.pad, c)
	case c == '\n':
		d.pad = d.pad[:0] // trailing white space: rule 3
		out = append(out, d.eol...)
		pos.line, pos.col = pos.line+1, 0
	case c == '\r':
		d.state, d.crCol = qsCR, pos.col
	default:
		if d.fail(pos.line, pos.col, "unencoded byte %s (rule 4 needs =%02X)", quoteByte(c), c) {
			return out, qpStop
		}
		out = append(d.flushPad(out), c)
	}
	return out, qpNext
}

// escape decodes byte c after a CR or inside an '=' sequence.
func (d *QPReader) escape(out []byte, c byte, pos *qpPos) ([]byte, qpStep) {
	softBreak := func() ([]byte, qpStep) {
		d.state = qsText
		pos.line, pos.col = pos.line+1, 0
		return out, qpNext
	}
	switch d.state {
	case qsCR:
		d.state = qsText
		if c == '\n' {
			d.pad = d.pad[:0]
			out = append(out, d.eol...)
			pos.line, pos.col = pos.line+1, 0
			return out, qpNext
		}
		if d.fail(pos.line, d.crCol, "CR not followed by LF") {
			return out, qpStop
		}
		return append(d.flushPad(out), '\r'), qpAgain
	case qsEq:
		switch {
		case qpUnhex[c] < 16:
			d.hex1, d.state = c, qsEqHex
			return out, qpNext
		case c == ' ' || c == '\t':
			d.eqPad = append(d.eqPad[:0], c)
			d.state = qsEqWS
			return out, qpNext
		case c == '\r':
			d.eqPad = d.eqPad[:0]
			d.state = qsEqCR
			return out, qpNext
		case c == '\n':
			return softBreak()
		}
		if d.fail(d.eqLine, d.eqCol, "'=' followed by %s, not two hex digits", quoteByte(c)) {
			return out, qpStop
		}
		d.state = qsText
		return append(out, '='), qpAgain
	case qsEqHex:
		d.state = qsText
		if v := qpUnhex[c]; v < 16 {
			return append(out, qpUnhex[d.hex1]<<4|v), qpNext
		}
		if d.fail(d.eqLine, d.eqCol, "'=' followed by %s%s, not two hex digits", quoteByte(d.hex1), quoteByte(c)) {
			return out, qpStop
		}
		return append(out, '=', d.hex1), qpAgain
	case qsEqWS:
		switch {
		case (c == ' ' || c == '\t') && len(d.eqPad) < cap(d.eqPad):
			d.eqPad = append(d.eqPad, c)
			return out, qpNext
		case c == '\r':
			d.state = qsEqCR
			return out, qpNext
		case c == '\n':
			return softBreak() // with transport padding
		}
		if d.fail(d.eqLine, d.eqCol, "'=' followed by white space that does not end the line") {
			return out, qpStop
		}
		d.state = qsText
		return append(append(out, '='), d.eqPad...), qpAgain
	default: // qsEqCR
		if c == '\n' {
			return softBreak()
		}
		if d.fail(d.eqLine, d.eqCol, "'=' followed by a CR that is not part of CR LF") {
			return out, qpStop
		}
		d.state = qsText
		return append(append(append(out, '='), d.eqPad...), '\r'), qpAgain
	}
}

// finish ends the input: trailing white space goes (rule 3), a final
// soft break is accepted, a half-finished escape is malformed.
func (d *QPReader) finish() {
	switch d.state {
	case qsCR:
		if d.fail(d.line, d.crCol, "CR not followed by LF") {
			return
		}
		d.out = append(d.out, d.pad...)
		d.out = append(d.out, '\r')
	case qsEqHex:
		if d.fail(d.eqLine, d.eqCol, "'=' followed by %s and the end of the input", quoteByte(d.hex1)) {
			return
		}
		d.out = append(d.out, '=', d.hex1)
	}
	// qsEq, qsEqWS, qsEqCR: a soft break at the end, as an encoder
	// writes for input without a final line break.
	d.pad = d.pad[:0]
	d.state = qsText
	d.err = io.EOF
}

// qpDecodeRun decodes the longest prefix of p made of plain characters,
// complete =XX escapes and white space that is not at the end of the
// prefix (unless an '=' follows), appending it to out, which has room for
// len(p)+8 bytes. It returns how many bytes of p it consumed.
//
// It works a word at a time: find the first byte of 8 that is not plain,
// store all 8 and keep those before it, decode an escape or skip a soft
// line break, go on. lines counts the soft breaks, lineStart is where the
// last line begins in p.
func qpDecodeRun(out, p []byte) (_ []byte, n int, lines int64, lineStart int) {
	o := len(out)
	buf := out[:cap(out)]
	i := 0
	for i+8 <= len(p) {
		x := load8(p[i:])
		binary.LittleEndian.PutUint64(buf[o:], x)
		m := qpSpecial8(x)
		if m == 0 {
			o += 8
			i += 8
			continue
		}
		n := firstByte(m)
		o += n
		i += n
		if p[i] != '=' || i+2 >= len(p) {
			break
		}
		h, l := qpUnhex[p[i+1]], qpUnhex[p[i+2]]
		if h|l >= 16 {
			// A soft line break ("=" LF or "=" CR LF) is skipped here;
			// anything else is the caller's.
			switch {
			case p[i+1] == '\n':
				i += 2
			case p[i+1] == '\r' && p[i+2] == '\n':
				i += 3
			default:
				return buf[:o], i, lines, lineStart
			}
			lines++
			lineStart = i
			continue
		}
		buf[o] = h<<4 | l
		o++
		i += 3
	}
	// White space just before where the run stopped may end a line
	// (transport padding, rule 3): leave it to the caller. A literal
	// space is one input and one output byte; an escape ends in a digit.
	for i > 0 && (p[i-1] == ' ') && (i == len(p) || p[i] != '=') {
		i--
		o--
	}
	return buf[:o], i, lines, lineStart
}
