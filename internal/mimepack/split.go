package mimepack

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// bufSize is the read buffer of every level of the parser. A delimiter
// line longer than this (a boundary followed by kilobytes of "transport
// padding") is treated as content, which is what a reader with a bounded
// line buffer must do.
const bufSize = 64 << 10

// errNoClose reports a multipart body that ended before its close
// delimiter ("--boundary--", RFC 2046 §5.1.1): usually a truncated message.
var errNoClose = errors.New("missing final boundary (truncated message?)")

// errNoDelimiter reports a multipart body in which not even one delimiter
// line occurs.
var errNoDelimiter = errors.New("no boundary delimiter in multipart body")

// multipartReader splits a multipart body into its body parts, streaming.
//
// We split ourselves rather than with go-message's textproto.MultipartReader
// because that reader parses each part's header with no bound on its size
// (a hostile part header of a gigabyte would be held in memory), and
// because verifying a multipart/signed needs the exact bytes of a part,
// header included, which a reader that parses the header cannot give back.
// go-message still parses every header block (see readHeader).
type multipartReader struct {
	src   *bufio.Reader
	dashB []byte // "--" + boundary
	cur   *bodyPart
	final bool // the close delimiter was seen
	n     int  // body parts returned so far
}

func newMultipartReader(src *bufio.Reader, boundary string) *multipartReader {
	return &multipartReader{src: src, dashB: []byte("--" + boundary)}
}

// next skips the rest of the current part (or the preamble) and returns
// the next body part. It returns io.EOF after the close delimiter,
// errNoClose when the body ends without one, and errNoDelimiter when it
// has none at all.
func (m *multipartReader) next() (*bodyPart, error) {
	if m.cur == nil {
		// The preamble (RFC 2046 §5.1.1) is read like a part and dropped.
		m.cur = &bodyPart{src: m.src, dashB: m.dashB, atStart: true}
	}
	if _, err := io.Copy(io.Discard, m.cur); err != nil {
		if errors.Is(err, errNoClose) && m.n == 0 {
			return nil, errNoDelimiter
		}
		return nil, err
	}
	if m.cur.final {
		m.final = true
		return nil, io.EOF
	}
	m.cur = &bodyPart{src: m.src, dashB: m.dashB, atStart: true}
	m.n++
	return m.cur, nil
}

// bodyPart reads the bytes of one body part: everything up to, not
// including, the line break before the next delimiter line (that line
// break belongs to the delimiter, RFC 2046 §5.1.1). Lines may end in CRLF
// or, as on Unix disks, in LF alone.
type bodyPart struct {
	src     *bufio.Reader
	dashB   []byte
	atStart bool // nothing read yet: a delimiter may begin at offset 0
	done    bool
	final   bool // ended by the close delimiter
	err     error
}

// Read implements io.Reader.
func (b *bodyPart) Read(p []byte) (int, error) {
	if b.done {
		if b.err != nil {
			return 0, b.err
		}
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	for {
		buf, perr := b.src.Peek(bufSize)
		if len(buf) == 0 && perr != nil {
			b.done = true
			if perr == io.EOF {
				perr = errNoClose
			}
			b.err = perr
			return 0, perr
		}
		n, delim := b.scan(buf, perr != nil)
		if n == 0 && delim >= 0 {
			// buf starts with a delimiter line of length delim.
			b.src.Discard(delim)
			b.done = true
			return 0, io.EOF
		}
		if n == 0 {
			if perr == nil && len(buf) < bufSize {
				continue // need more bytes to decide
			}
			n = 1 // cannot decide with a full buffer: it is content
		}
		if n > len(p) {
			n = len(p)
		}
		copy(p, buf[:n])
		b.src.Discard(n)
		b.atStart = false
		return n, nil
	}
}

// scan looks at buffered bytes and returns how many of them are content
// for sure (n), and, when buf begins with a delimiter line, its length
// (delim, else -1). atEOF tells that buf holds all the remaining input.
func (b *bodyPart) scan(buf []byte, atEOF bool) (n, delim int) {
	// A delimiter at the very start: the previous line break was eaten
	// by the delimiter line before this part.
	if b.atStart {
		if l, ok, sure := b.delimLine(buf, 0, atEOF); ok {
			return 0, l
		} else if !sure {
			return 0, -1
		}
	}
	if len(buf) >= 2 && buf[0] == '\r' && buf[1] == '\n' {
		if l, ok, sure := b.delimLine(buf, 2, atEOF); ok {
			return 0, l
		} else if !sure {
			return 0, -1
		}
	}
	if len(buf) >= 1 && buf[0] == '\n' {
		if l, ok, sure := b.delimLine(buf, 1, atEOF); ok {
			return 0, l
		} else if !sure {
			return 0, -1
		}
	}
	// Look for the next "\n--boundary" after offset 0.
	from := 1
	for {
		i := bytes.Index(buf[from:], b.dashB)
		if i < 0 {
			break
		}
		i += from
		if buf[i-1] != '\n' {
			from = i + 1
			continue
		}
		nl := i - 1
		if nl > 0 && buf[nl-1] == '\r' {
			nl--
		}
		if nl == 0 {
			// Only possible when buf[0] is the line break of a line we
			// just found not to be a delimiter: step over it.
			from = i + 1
			if buf[0] == '\r' {
				return 2, -1
			}
			return 1, -1
		}
		_, ok, sure := b.delimLine(buf, i, atEOF)
		if ok || !sure {
			return nl, -1 // stop before the line break; decided next call
		}
		from = i + 1
	}
	if atEOF {
		return len(buf), -1
	}
	// Keep a tail that could be the start of "\r\n--boundary".
	keep := len(b.dashB) + 2
	if len(buf) <= keep {
		return 0, -1
	}
	return len(buf) - keep, -1
}

// delimLine checks whether buf[at:] starts a delimiter or close-delimiter
// line: dashB, optional "--", linear white space, then a line break or
// the end of input. It returns the length of buf up to and including the
// line break, whether it is a delimiter, and whether the answer is sure
// (false when more input is needed).
func (b *bodyPart) delimLine(buf []byte, at int, atEOF bool) (int, bool, bool) {
	rest := buf[at:]
	if len(rest) < len(b.dashB) {
		if atEOF || !bytes.HasPrefix(b.dashB, rest) {
			return 0, false, true
		}
		return 0, false, len(buf) >= bufSize
	}
	if !bytes.HasPrefix(rest, b.dashB) {
		return 0, false, true
	}
	i := len(b.dashB)
	final := false
	if len(rest) >= i+2 && rest[i] == '-' && rest[i+1] == '-' {
		final = true
		i += 2
	} else if len(rest) < i+2 && !atEOF && len(buf) < bufSize {
		return 0, false, false
	}
	for i < len(rest) && (rest[i] == ' ' || rest[i] == '\t') {
		i++
	}
	switch {
	case i == len(rest):
		if !atEOF && len(buf) < bufSize {
			return 0, false, false
		}
		if !atEOF {
			return 0, false, true // padding longer than the buffer
		}
	case rest[i] == '\n':
		i++
	case rest[i] == '\r' && i+1 < len(rest) && rest[i+1] == '\n':
		i += 2
	case rest[i] == '\r' && i+1 == len(rest) && !atEOF && len(buf) < bufSize:
		return 0, false, false
	default:
		// "--boundaryX": a longer boundary that has ours as a prefix,
		// or text; not a delimiter (RFC 2046 §5.1.1).
		return 0, false, true
	}
	b.final = final
	return at + i, true, true
}
