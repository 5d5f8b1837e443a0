package pop3

import (
	"bytes"
	"errors"
	"io"
	"strings"
)

// Response is what a Session answers to one command. Only the driver
// writes it, with WriteTo, and acts on Close and StartTLS afterwards.
type Response struct {
	OK   bool   // "+OK" or "-ERR"
	Code string // extended response code (RFC 2449 §8), "" for none
	Text string // the rest of the status line

	// Continue makes the status line a SASL continuation, "+ " followed
	// by Text (a base64 challenge; RFC 5034 §4). OK and Code are ignored.
	Continue bool

	// Multi makes the response multi-line (RFC 1939 §3): Lines, then Body,
	// then the terminating ".". Lines are byte-stuffed on output.
	Multi bool
	Lines []string
	// Body is a message as stored (LF or CRLF line ends). It is sent with
	// CRLF line ends and byte-stuffed, and closed by WriteTo.
	Body io.ReadCloser
	// TopLines, when Body is set, limits it to the header, the blank line
	// and this many body lines (TOP, RFC 1939 §7); -1 sends it all.
	TopLines int

	Close    bool // close the connection after writing (QUIT, too many errors)
	StartTLS bool // start the TLS handshake after writing (STLS)
}

func ok(text string) Response { return Response{OK: true, Text: text, TopLines: -1} }

func fail(code, text string) Response { return Response{Code: code, Text: text, TopLines: -1} }

// StatusLine returns the first line of r without its CRLF.
func (r *Response) StatusLine() string {
	if r.Continue {
		return "+ " + r.Text
	}
	var b strings.Builder
	if r.OK {
		b.WriteString("+OK")
	} else {
		b.WriteString("-ERR")
	}
	if r.Code != "" {
		b.WriteString(" [")
		b.WriteString(r.Code)
		b.WriteString("]")
	}
	if r.Text != "" {
		b.WriteString(" ")
		b.WriteString(r.Text)
	}
	return b.String()
}

// WriteTo writes r to w in wire form and closes r.Body. An error reading
// the body is returned after what was sent, unterminated: the driver
// must then close the connection, since a client cannot tell a cut
// message from a whole one otherwise. A driver writing many responses
// uses a Writer instead, which reuses its buffers.
func (r *Response) WriteTo(w io.Writer) (int64, error) {
	return NewWriter(w).Write(r)
}

// Writer writes responses to one connection, reusing its buffers from
// one response to the next. It is not safe for concurrent use.
type Writer struct {
	w   io.Writer
	in  []byte // a chunk of message read from the Body
	out []byte // its wire form
}

// NewWriter returns a Writer that writes to w (typically a bufio.Writer
// over the connection).
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// Reset makes the Writer write to w from now on (after STLS).
func (wr *Writer) Reset(w io.Writer) { wr.w = w }

// Write writes r in wire form and closes r.Body; see Response.WriteTo.
func (wr *Writer) Write(r *Response) (int64, error) {
	if r.Body != nil {
		defer r.Body.Close()
	}
	w := wr.w
	head := wr.out[:0]
	head = append(head, r.StatusLine()...)
	head = append(head, "\r\n"...)
	if r.Multi {
		for _, l := range r.Lines {
			if strings.HasPrefix(l, ".") {
				head = append(head, '.')
			}
			head = append(head, l...)
			head = append(head, "\r\n"...)
		}
	}
	wr.out = head[:0]
	if !r.Multi {
		n, err := w.Write(head)
		return int64(n), err
	}
	var total int64
	if r.Body != nil {
		n, err := w.Write(head)
		total += int64(n)
		if err != nil {
			return total, err
		}
		n64, err := wr.copyDotted(r.Body, r.TopLines)
		total += n64
		if err != nil {
			return total, err
		}
		head = wr.out[:0]
	}
	head = append(head, ".\r\n"...)
	n, err := w.Write(head)
	return total + int64(n), err
}

// errTopDone stops the copy once TOP has sent enough lines.
var errTopDone = errors.New("top: done")

// dotWriter turns stored message text into the body of a multi-line
// response (RFC 1939 §3): every line end becomes CRLF (a CRLF already
// there is kept, a lone LF gets its CR, as Dovecot does, so the octets
// sent equal the W= size of the Maildir name), and a line starting with
// "." gets another. A bare CR inside a line and NULs pass unchanged.
type dotWriter struct {
	out     []byte
	bol     bool // at the beginning of a line
	prevCR  bool // the last octet of the previous chunk was CR
	lineLen int  // octets of the current line seen so far

	top       int // body lines still allowed by TOP; -1 for all
	inHeaders bool
}

// convert appends the wire form of p to d.out. It reports true when the
// TOP limit has been reached and nothing more should be sent.
func (d *dotWriter) convert(p []byte) bool {
	for len(p) > 0 {
		if d.bol {
			if p[0] == '.' {
				d.out = append(d.out, '.')
			}
			d.bol = false
		}
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			d.out = append(d.out, p...)
			d.lineLen += len(p)
			d.prevCR = p[len(p)-1] == '\r'
			return false
		}
		d.out = append(d.out, p[:i]...)
		cr := i > 0 && p[i-1] == '\r' || i == 0 && d.prevCR
		if !cr {
			d.out = append(d.out, '\r')
		}
		d.out = append(d.out, '\n')
		n := d.lineLen + i
		empty := n == 0 || n == 1 && cr
		d.lineLen, d.prevCR, d.bol = 0, false, true
		p = p[i+1:]
		if d.top < 0 {
			continue
		}
		if d.inHeaders {
			if empty {
				d.inHeaders = false
				if d.top == 0 {
					return true
				}
			}
			continue
		}
		d.top--
		if d.top == 0 {
			return true
		}
	}
	return false
}

// copyDotted copies the message in r to the connection as a multi-line
// body (without the final "."). top is the TOP line count, or -1.
func (wr *Writer) copyDotted(r io.Reader, top int) (int64, error) {
	if wr.in == nil {
		wr.in = make([]byte, 32<<10)
	}
	d := &dotWriter{out: wr.out[:0], bol: true, top: top, inHeaders: true}
	defer func() { wr.out = d.out[:0] }()
	var total int64
	for {
		n, rerr := r.Read(wr.in)
		done := d.convert(wr.in[:n])
		if rerr != nil && rerr != io.EOF {
			// Send nothing more: the caller closes the connection.
			return total, rerr
		}
		end := done || rerr == io.EOF
		if end && !d.bol {
			d.out = append(d.out, '\r', '\n')
		}
		if len(d.out) > 0 {
			m, err := wr.w.Write(d.out)
			total += int64(m)
			if err != nil {
				return total, err
			}
			d.out = d.out[:0]
		}
		if end {
			return total, nil
		}
	}
}

// CRLFSize returns the number of octets r's content takes when sent by
// RETR (before byte-stuffing), for a maildrop that has no W= size: each
// lone LF counts two. A missing final line end is not counted, as in a
// W= size.
func CRLFSize(r io.Reader) (int64, error) {
	buf := make([]byte, 32<<10)
	var n int64
	prevCR := false
	for {
		m, err := r.Read(buf)
		p := buf[:m]
		n += int64(m)
		for len(p) > 0 {
			i := bytes.IndexByte(p, '\n')
			if i < 0 {
				prevCR = p[len(p)-1] == '\r'
				break
			}
			if !(i > 0 && p[i-1] == '\r' || i == 0 && prevCR) {
				n++
			}
			prevCR = false
			p = p[i+1:]
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}
