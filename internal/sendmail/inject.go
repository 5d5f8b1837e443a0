// Package sendmail is the /usr/sbin/sendmail interface: it takes a message
// on stdin the way cron, mutt, git send-email and PHP's mail() hand it
// over, completes its header as qmail-inject does, and delivers it
// locally or queues it for relay.
package sendmail

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"strings"
	"time"

	"mailtk/internal/exitcode"
	"mailtk/internal/lineio"
)

// MaxLine is the longest line a message may hold, without its line end
// (RFC 5322 §2.1.1: 998 characters). Longer lines are refused, not
// silently folded or broken.
const MaxLine = 998

// MaxHeader bounds the header section read into memory.
const MaxHeader = 1 << 20

// Submission describes how a message was handed to sendmail.
type Submission struct {
	From           string // -f: envelope sender; "" to derive it
	FullName       string // -F
	ReadRecipients bool   // -t
	IgnoreDots     bool   // -i / -oi
	MaxSize        int64  // largest message in octets (LF line ends); 0 for no limit
	Hostname       string // for Message-ID and a From without a domain
	User           string // the invoking user's login name
	Getenv         func(string) string
	Now            func() time.Time
}

// Prepared is a message ready for delivery: its completed header, the
// rest of its content as a stream, and the envelope.
type Prepared struct {
	Header     []byte    // the header section, LF line ends, ending with the empty line
	Body       io.Reader // the body, LF line ends; fails with a data error on a bad line
	Sender     string    // envelope sender
	Recipients []string  // from To/Cc/Bcc under -t; nil otherwise
}

// Message returns the whole message as one stream.
func (p *Prepared) Message() io.Reader {
	return io.MultiReader(bytes.NewReader(p.Header), p.Body)
}

// Prepare reads the header of the message in r, completes it and returns
// it with the body as a stream.
//
// Added when missing, as qmail-inject(8) does: Date, Message-ID, From
// (from -F/-f, or NAME, MAILUSER/USER and MAILHOST/the hostname), and
// MIME-Version when the header has MIME fields without it. Under -t the
// recipients are taken from To, Cc and Bcc (and Resent-* when present),
// and Bcc is removed.
func Prepare(r io.Reader, s Submission) (*Prepared, error) {
	if s.Getenv == nil {
		s.Getenv = func(string) string { return "" }
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	br := &bodyReader{lr: lineio.NewReader(r, MaxLine), ignoreDots: s.IgnoreDots, max: s.MaxSize}
	hdr, err := readHeader(br)
	if err != nil {
		return nil, err
	}
	p := &Prepared{Body: br}

	user := firstNonEmpty(s.Getenv("MAILUSER"), s.Getenv("USER"), s.Getenv("LOGNAME"), s.User, "root")
	host := firstNonEmpty(s.Getenv("MAILHOST"), s.Hostname, "localhost")
	p.Sender = s.From
	if p.Sender == "" {
		p.Sender = user + "@" + host
	} else if p.Sender != "<>" && !strings.Contains(p.Sender, "@") {
		p.Sender += "@" + host
	}
	if p.Sender == "<>" {
		p.Sender = ""
	}

	if s.ReadRecipients {
		prefix := ""
		if hdr.has("Resent-To") || hdr.has("Resent-Cc") || hdr.has("Resent-Bcc") {
			prefix = "Resent-" // RFC 5322 §3.6.6: a resent message goes to the resent recipients
		}
		for _, name := range []string{"To", "Cc", "Bcc"} {
			for _, v := range hdr.values(prefix + name) {
				addrs, err := mail.ParseAddressList(v)
				if err != nil {
					return nil, exitcode.Errorf(exitcode.DataErr, "%s%s: %v", prefix, name, err)
				}
				for _, a := range addrs {
					p.Recipients = append(p.Recipients, a.Address)
				}
			}
		}
		hdr.remove(prefix + "Bcc")
	}

	if !hdr.has("From") {
		from := p.Sender
		if from == "" {
			from = user + "@" + host
		}
		name := firstNonEmpty(s.FullName, s.Getenv("NAME"))
		hdr.add("From", (&mail.Address{Name: name, Address: from}).String())
	}
	if !hdr.has("Date") {
		hdr.add("Date", s.Now().Format(time.RFC1123Z))
	}
	if !hdr.has("Message-ID") {
		var b [12]byte
		rand.Read(b[:])
		hdr.add("Message-ID", fmt.Sprintf("<%d.%s@%s>", s.Now().Unix(), hex.EncodeToString(b[:]), host))
	}
	if !hdr.has("MIME-Version") && (hdr.has("Content-Type") || hdr.has("Content-Transfer-Encoding")) {
		hdr.add("MIME-Version", "1.0")
	}
	p.Header = hdr.bytes()
	return p, nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// header is a parsed header section: fields in order, with their raw
// (possibly folded) text kept byte for byte.
type header struct {
	fields []field
}

type field struct {
	name string // as written
	raw  string // the whole field, folded lines joined with "\n", no final LF
}

func (h *header) has(name string) bool { return len(h.values(name)) > 0 }

func (h *header) values(name string) []string {
	var out []string
	for _, f := range h.fields {
		if strings.EqualFold(f.name, name) {
			_, v, _ := strings.Cut(f.raw, ":")
			out = append(out, strings.TrimSpace(strings.ReplaceAll(v, "\n", "")))
		}
	}
	return out
}

func (h *header) remove(name string) {
	kept := h.fields[:0]
	for _, f := range h.fields {
		if !strings.EqualFold(f.name, name) {
			kept = append(kept, f)
		}
	}
	h.fields = kept
}

func (h *header) add(name, value string) {
	h.fields = append(h.fields, field{name: name, raw: name + ": " + value})
}

func (h *header) bytes() []byte {
	var b bytes.Buffer
	for _, f := range h.fields {
		b.WriteString(f.raw)
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	return b.Bytes()
}

// readHeader reads fields up to the empty line (or the end of input, or
// the first line that is not a field, which then starts the body, as
// qmail-inject treats it).
func readHeader(br *bodyReader) (*header, error) {
	h := &header{}
	size := 0
	for {
		line, err := br.line()
		if errors.Is(err, io.EOF) {
			return h, nil
		}
		if err != nil {
			return nil, err
		}
		size += len(line) + 1
		if size > MaxHeader {
			return nil, exitcode.Errorf(exitcode.DataErr, "line %d: header section longer than %d octets", br.n, MaxHeader)
		}
		if len(line) == 0 {
			return h, nil
		}
		if (line[0] == ' ' || line[0] == '\t') && len(h.fields) > 0 {
			h.fields[len(h.fields)-1].raw += "\n" + string(line)
			continue
		}
		name, _, ok := strings.Cut(string(line), ":")
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			// Not a header field: the header ended without its empty
			// line. Give the line back to the body.
			br.pending = append(append([]byte{}, line...), '\n')
			return h, nil
		}
		h.fields = append(h.fields, field{name: name, raw: string(line)})
	}
}

// bodyReader turns the input into LF-terminated lines, refusing lines
// over MaxLine and ending at a lone "." unless ignoreDots (sendmail's
// historic behaviour without -i; Postfix does the same).
type bodyReader struct {
	lr         *lineio.Reader
	ignoreDots bool
	n          int // line number, for errors
	pending    []byte
	done       bool
	max, size  int64 // the size limit (0: none) and the octets read so far
}

func (b *bodyReader) line() ([]byte, error) {
	if b.done {
		return nil, io.EOF
	}
	line, end, err := b.lr.ReadLine()
	if err == nil || (errors.Is(err, io.EOF) && line != nil) {
		b.n++
	}
	switch {
	case errors.Is(err, lineio.ErrTooLong):
		b.n++
		return nil, exitcode.Errorf(exitcode.DataErr, "line %d: longer than %d octets (RFC 5322 §2.1.1)", b.n, MaxLine)
	case errors.Is(err, io.EOF) && line == nil:
		b.done = true
		return nil, io.EOF
	case err != nil && !errors.Is(err, io.EOF):
		return nil, exitcode.New(exitcode.IOErr, err)
	}
	if end == lineio.EOF {
		b.done = true
	}
	if !b.ignoreDots && string(line) == "." {
		b.done = true
		return nil, io.EOF
	}
	b.size += int64(len(line)) + 1
	if b.max > 0 && b.size > b.max {
		return nil, exitcode.Errorf(exitcode.DataErr, "line %d: message larger than %d octets (--max-size)", b.n, b.max)
	}
	return line, nil
}

func (b *bodyReader) Read(p []byte) (int, error) {
	for len(b.pending) == 0 {
		line, err := b.line()
		if err != nil {
			return 0, err
		}
		b.pending = append(append(b.pending[:0], line...), '\n')
	}
	n := copy(p, b.pending)
	b.pending = b.pending[n:]
	return n, nil
}
