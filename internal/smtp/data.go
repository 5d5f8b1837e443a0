package smtp

import (
	"bytes"
	"errors"
	"io"
	"strings"

	"mailtk/internal/lineio"
)

// Errors the DATA reader stops with. They are *Error values, so that the
// reply to the DATA command is simply ReplyOf(err).
var (
	// ErrBareLF and ErrBareCR refuse a message holding a line ending that
	// is not CRLF, or a CR inside a line: the raw material of SMTP
	// smuggling (CVE-2023-51764/51765/51766, RFC 5321 §2.3.8). The whole
	// message is refused and read up to the real CRLF.CRLF, so that a
	// second message hidden behind a "<LF>.<LF>" or "<CR>.<CR>" end is
	// discarded with the first, never delivered.
	ErrBareLF = &Error{Code: 550, Enhanced: "5.6.0", Text: "Message refused: bare LF in message data (RFC 5321 §2.3.8)"}
	ErrBareCR = &Error{Code: 550, Enhanced: "5.6.0", Text: "Message refused: bare CR in message data (RFC 5321 §2.3.8)"}
	// ErrTooBig is the answer once more than the size limit was sent
	// (RFC 1870 §6.1; RFC 5321 §4.5.3.1.10).
	ErrTooBig = &Error{Code: 552, Enhanced: "5.3.4", Text: "Message size exceeds fixed maximum message size"}
	// ErrLineTooLong refuses a text line longer than the reader's bound
	// (RFC 5321 §4.5.3.1.6 allows 1000 octets; we accept more).
	ErrLineTooLong = &Error{Code: 500, Enhanced: "5.5.2", Text: "Message refused: text line too long (RFC 5321 §4.5.3.1.6)"}
	// ErrHops refuses a message with too many Received: headers, a mail
	// loop (RFC 5321 §6.3).
	ErrHops = &Error{Code: 554, Enhanced: "5.4.6", Text: "Too many hops: mail loop detected (RFC 5321 §6.3)"}
)

// errEOF is the connection ending inside DATA.
var errEOF = errors.New("smtp: connection closed during DATA")

// DataReader reads the text of a DATA command (RFC 5321 §4.1.1.4) from a
// line reader: it removes dot-stuffing (§4.5.2), ends only at CRLF "."
// CRLF, gives lines with LF endings (the form a Maildir stores), and
// enforces the size limit and the loop checks. After the first problem it
// returns the error to its consumer and keeps nothing; Drain then reads up
// to the real end of the data so that the session stays in sync.
type DataReader struct {
	lr      *lineio.Reader
	max     int64
	n       int64
	pending []byte
	err     error // first problem; sticky
	done    bool  // saw the end-of-data line
	eof     error // the connection ended
	// header scanning for loop detection
	inHeader    bool
	maxHops     int
	hops        int
	deliveredTo []string
	rcpts       []string
	// OnLine, when set, is called before each line is read (the driver
	// refreshes its read deadline there).
	OnLine  func()
	lines   int
	prevBad bool // the previous line ended in a bare LF
}

// NewDataReader returns a reader of the data that follows a 354 reply.
// max bounds the message size in octets as sent (0: no bound); maxHops
// bounds the Received: headers (0: 100); rcpts are the envelope
// recipients, refused with 554 5.4.6 when a Delivered-To: header already
// names one of them (a forwarding loop).
func NewDataReader(lr *lineio.Reader, max int64, maxHops int, rcpts []string) *DataReader {
	if maxHops <= 0 {
		maxHops = 100
	}
	return &DataReader{lr: lr, max: max, inHeader: true, maxHops: maxHops, rcpts: rcpts}
}

// Read implements io.Reader. It returns io.EOF after a complete, valid
// message, and an *Error (see the Err* values) when the message is refused.
func (d *DataReader) Read(p []byte) (int, error) {
	for len(d.pending) == 0 {
		if d.err != nil {
			return 0, d.err
		}
		if d.eof != nil {
			return 0, d.eof
		}
		if d.done {
			return 0, io.EOF
		}
		d.next()
	}
	n := copy(p, d.pending)
	d.pending = d.pending[n:]
	return n, nil
}

// Err returns the reason the message is refused, or nil.
func (d *DataReader) Err() error { return d.err }

// Drain reads and discards the rest of the data up to the end-of-data
// line. It returns an error only when the connection ended first.
func (d *DataReader) Drain() error {
	d.pending = nil
	for !d.done && d.eof == nil {
		d.next()
		d.pending = nil
	}
	return d.eof
}

// fail records the first problem.
func (d *DataReader) fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

// next reads one line and appends its content to pending.
func (d *DataReader) next() {
	if d.OnLine != nil && d.lines%64 == 0 {
		d.OnLine()
	}
	d.lines++
	line, end, err := d.lr.ReadLine()
	switch {
	case errors.Is(err, lineio.ErrTooLong):
		d.fail(ErrLineTooLong)
		return
	case err != nil && !(errors.Is(err, io.EOF) && line != nil):
		d.eof = errEOF
		if !errors.Is(err, io.EOF) {
			d.eof = err // a timeout or a broken connection
		}
		return
	}
	if end != lineio.CRLF {
		// A bare LF ending, or data ending without a terminator. Note
		// that a "." line after it is NOT the end of the data: only
		// CRLF "." CRLF is (RFC 5321 §4.1.1.4).
		d.fail(ErrBareLF)
		if end == lineio.EOF {
			d.eof = errEOF
		}
		d.prevBad = true
		return
	}
	if bytes.IndexByte(line, '\r') >= 0 {
		// The line still ended in CRLF, so a "." line after it is a
		// real CRLF.CRLF end.
		d.fail(ErrBareCR)
		d.prevBad = false
		return
	}
	if len(line) == 1 && line[0] == '.' && !d.prevBad {
		d.done = true
		if d.inHeader {
			d.endHeader()
		}
		return
	}
	d.prevBad = false
	d.n += int64(len(line)) + 2
	if d.max > 0 && d.n > d.max {
		d.fail(ErrTooBig)
	}
	if d.err != nil {
		return
	}
	if len(line) > 0 && line[0] == '.' {
		line = line[1:] // RFC 5321 §4.5.2 transparency
	}
	if d.inHeader {
		d.scanHeader(line)
		if d.err != nil {
			return
		}
	}
	d.pending = append(append(d.pending[:0], line...), '\n')
}

// scanHeader counts Received: and collects Delivered-To: header fields.
func (d *DataReader) scanHeader(line []byte) {
	if len(line) == 0 {
		d.endHeader()
		return
	}
	if hasPrefixFold(line, "received:") {
		d.hops++
		if d.hops > d.maxHops {
			d.fail(ErrHops)
		}
	} else if hasPrefixFold(line, "delivered-to:") {
		if len(d.deliveredTo) < 1000 {
			d.deliveredTo = append(d.deliveredTo, strings.TrimSpace(string(line[len("delivered-to:"):])))
		}
	}
}

// endHeader checks Delivered-To: against the recipients.
func (d *DataReader) endHeader() {
	d.inHeader = false
	for _, dt := range d.deliveredTo {
		dt = strings.Trim(dt, "<>")
		for _, r := range d.rcpts {
			if strings.EqualFold(dt, r) {
				d.fail(Errorf(554, "5.4.6", "Mail loop: Delivered-To: %s is already present", sanitize(r, 256)))
				return
			}
		}
	}
}

func hasPrefixFold(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && strings.EqualFold(string(b[:len(prefix)]), prefix)
}
