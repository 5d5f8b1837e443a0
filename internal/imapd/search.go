package imapd

import (
	"bufio"
	"bytes"
	"io"
	"mime"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-imap/v2"
	gomessage "github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // charset decoding for SEARCH (RFC 3501 §6.4.4)
	"github.com/emersion/go-message/textproto"
	"golang.org/x/text/cases"
)

// SEARCH (RFC 3501 §6.4.4, RFC 9051 §6.4.4).
//
// Matching is a case-insensitive substring match after Unicode case
// folding, on text decoded the way a reader sees it: RFC 2047 encoded
// words in header fields, quoted-printable and base64 bodies, and
// charsets, are all decoded to UTF-8 first. Messages are examined one at
// a time and bodies are streamed in chunks, so SEARCH never holds more
// than one message part's chunk in memory.

// maxSearchDepth bounds NOT/OR nesting; go-imap parses up to its command
// size limit, and a pathological key must not cost more than that.
const maxSearchDepth = 1000

// candidate is what the matcher knows of one message. Cheap fields are
// filled in; header and open are called only when a key needs them.
type candidate struct {
	seq   uint32
	uid   imap.UID
	flags []imap.Flag // including \Recent when it applies
	size  int64       // RFC822.SIZE
	date  time.Time   // INTERNALDATE

	header func() (textproto.Header, error) // the message header
	env    func() (*imap.Envelope, error)   // the envelope (cached)
	open   func() (io.ReadCloser, error)    // the whole message
	buf    []byte                           // scratch space for matching text

	hdr    textproto.Header
	hdrErr error
	hdrOK  bool
}

func (c *candidate) getHeader() (textproto.Header, error) {
	if !c.hdrOK {
		c.hdr, c.hdrErr = c.header()
		c.hdrOK = true
	}
	return c.hdr, c.hdrErr
}

var folder = cases.Fold()

// fold case-folds s for matching; ASCII (the common case) takes a fast
// path that gives the same result.
func fold(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return folder.String(s)
		}
	}
	return strings.ToLower(s)
}

// criteriaDepth measures the nesting of NOT and OR.
func criteriaDepth(c *imap.SearchCriteria) int {
	d := 0
	for i := range c.Not {
		d = max(d, criteriaDepth(&c.Not[i]))
	}
	for i := range c.Or {
		d = max(d, criteriaDepth(&c.Or[i][0]), criteriaDepth(&c.Or[i][1]))
	}
	return d + 1
}

// needsHeader reports whether matching c needs message headers or text.
func needsContent(c *imap.SearchCriteria) bool {
	if len(c.Header) > 0 || len(c.Body) > 0 || len(c.Text) > 0 || !c.SentSince.IsZero() || !c.SentBefore.IsZero() {
		return true
	}
	for i := range c.Not {
		if needsContent(&c.Not[i]) {
			return true
		}
	}
	for i := range c.Or {
		if needsContent(&c.Or[i][0]) || needsContent(&c.Or[i][1]) {
			return true
		}
	}
	return false
}

// match evaluates c against m. Sequence and UID sets must already be
// static (no '*' or '$').
func match(m *candidate, c *imap.SearchCriteria) bool {
	// Cheap keys first.
	for _, s := range c.SeqNum {
		if m.seq == 0 || !s.Contains(m.seq) {
			return false
		}
	}
	for _, s := range c.UID {
		if !s.Contains(m.uid) {
			return false
		}
	}
	if !matchDate(m.date, c.Since, c.Before) {
		return false
	}
	for _, f := range c.Flag {
		if !hasFlag(m.flags, f) {
			return false
		}
	}
	for _, f := range c.NotFlag {
		if hasFlag(m.flags, f) {
			return false
		}
	}
	if c.Larger != 0 && m.size <= c.Larger {
		return false
	}
	if c.Smaller != 0 && m.size >= c.Smaller {
		return false
	}
	for i := range c.Not {
		if match(m, &c.Not[i]) {
			return false
		}
	}
	for i := range c.Or {
		if !match(m, &c.Or[i][0]) && !match(m, &c.Or[i][1]) {
			return false
		}
	}
	// Header keys: the envelope's fields from the cache, others from the
	// message header.
	if !c.SentSince.IsZero() || !c.SentBefore.IsZero() {
		env, err := m.env()
		if err != nil || env.Date.IsZero() || !matchDate(env.Date, c.SentSince, c.SentBefore) {
			return false
		}
	}
	for _, hf := range c.Header {
		if envelopeFields[strings.ToLower(hf.Key)] {
			env, err := m.env()
			if err != nil || !matchEnvelopeField(env, strings.ToLower(hf.Key), hf.Value) {
				return false
			}
			continue
		}
		h, err := m.getHeader()
		if err != nil || !matchHeaderField(h, hf.Key, hf.Value) {
			return false
		}
	}
	// Text keys: one pass over the message per key.
	for _, s := range c.Body {
		if !matchMessage(m, s, false) {
			return false
		}
	}
	for _, s := range c.Text {
		if !matchMessage(m, s, true) {
			return false
		}
	}
	return true
}

func hasFlag(flags []imap.Flag, f imap.Flag) bool {
	for _, g := range flags {
		if strings.EqualFold(string(g), string(f)) {
			return true
		}
	}
	return false
}

// matchDate compares dates without time or zone (RFC 3501 §6.4.4:
// "disregarding time and timezone").
func matchDate(t, since, before time.Time) bool {
	if since.IsZero() && before.IsZero() {
		return true
	}
	d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	if !since.IsZero() && d.Before(since) {
		return false
	}
	if !before.IsZero() && !d.Before(before) {
		return false
	}
	return true
}

var wordDecoder = &mime.WordDecoder{CharsetReader: gomessage.CharsetReader}

// decodeHeaderValue unfolds a raw header value and decodes its RFC 2047
// encoded words; undecodable words are kept as they are.
func decodeHeaderValue(v string) string {
	v = strings.NewReplacer("\r\n", "", "\n", "").Replace(v)
	if d, err := wordDecoder.DecodeHeader(v); err == nil {
		v = d
	}
	return strings.ToValidUTF8(v, "\uFFFD")
}

// matchHeaderField implements HEADER, FROM, TO, CC, BCC and SUBJECT. An
// empty value matches every message that has the field (RFC 3501 §6.4.4).
func matchHeaderField(h textproto.Header, key, value string) bool {
	fields := h.FieldsByKey(key)
	pat := fold(value)
	for fields.Next() {
		if pat == "" {
			return true
		}
		if strings.Contains(fold(decodeHeaderValue(fields.Value())), pat) {
			return true
		}
	}
	return false
}

// matchEnvelopeField implements FROM, TO, CC, BCC and SUBJECT on the
// decoded envelope: addresses are matched as "Name <mailbox@host>".
func matchEnvelopeField(env *imap.Envelope, key, value string) bool {
	pat := fold(value)
	if key == "subject" {
		if env.Subject == "" {
			return false
		}
		return strings.Contains(fold(env.Subject), pat)
	}
	var l []imap.Address
	switch key {
	case "from":
		l = env.From
	case "to":
		l = env.To
	case "cc":
		l = env.Cc
	case "bcc":
		l = env.Bcc
	}
	for _, a := range l {
		if pat == "" || strings.Contains(fold(a.Name+" <"+a.Mailbox+"@"+a.Host+">"), pat) {
			return true
		}
	}
	return false
}

// matchMessage implements BODY (withHeaders false) and TEXT (true).
func matchMessage(m *candidate, pattern string, withHeaders bool) bool {
	pat := []byte(fold(pattern))
	if len(pat) == 0 {
		return true
	}
	rc, err := m.open()
	if err != nil {
		return false
	}
	defer rc.Close()
	e, err := gomessage.Read(bufio.NewReader(rc))
	if e == nil {
		return false
	}
	_ = err // unknown charsets/encodings: match the raw text
	p := &textMatcher{pat: pat, buf: m.buf}
	return p.entity(e, withHeaders, 0)
}

type textMatcher struct {
	pat   []byte
	parts int
	buf   []byte
}

func (p *textMatcher) entity(e *gomessage.Entity, withHeaders bool, depth int) bool {
	p.parts++
	if withHeaders {
		for f := e.Header.Fields(); f.Next(); {
			if bytes.Contains([]byte(fold(decodeHeaderValue(f.Value()))), p.pat) {
				return true
			}
		}
	}
	if mr := e.MultipartReader(); mr != nil && depth < maxMIMEDepth {
		for p.parts < maxMIMEParts {
			part, err := mr.NextPart()
			if part == nil || (err != nil && err != io.EOF && part == nil) {
				break
			}
			if p.entity(part, withHeaders, depth+1) {
				return true
			}
			if err != nil {
				break
			}
		}
		return false
	}
	t, _, _ := e.Header.ContentType()
	if t == "message/rfc822" || t == "message/global" {
		if inner, _ := gomessage.Read(bufio.NewReader(e.Body)); inner != nil && depth < maxMIMEDepth {
			return p.entity(inner, true, depth+1)
		}
	}
	return streamContains(e.Body, p.pat, p.buf)
}

// streamContains reports whether the case-folded text of r contains pat
// (already folded), reading r in chunks with an overlap so that matches
// across chunk boundaries are found. Pure-ASCII chunks are lower-cased
// in place (the same as folding them); others go through Unicode case
// folding.
func streamContains(r io.Reader, pat []byte, buf []byte) bool {
	var carry []byte // incomplete UTF-8 sequence from the previous chunk
	var tail []byte  // folded bytes kept for matches across chunks
	var window []byte
	for {
		n, err := io.ReadFull(r, buf)
		data := buf[:n]
		if len(carry) > 0 {
			data = append(carry, data...)
			carry = nil
		}
		if err == nil {
			// Keep an incomplete trailing rune for the next round.
			cut := len(data)
			for i := len(data) - 1; i >= 0 && i >= len(data)-utf8.UTFMax; i-- {
				if utf8.RuneStart(data[i]) {
					if !utf8.FullRune(data[i:]) {
						cut = i
					}
					break
				}
			}
			carry = append([]byte(nil), data[cut:]...)
			data = data[:cut]
		}
		window = append(window[:0], tail...)
		if isASCII(data) {
			for _, c := range data {
				if c >= 'A' && c <= 'Z' {
					c += 'a' - 'A'
				}
				window = append(window, c)
			}
		} else {
			window = append(window, folder.Bytes(bytes.ToValidUTF8(data, []byte("\uFFFD")))...)
		}
		if bytes.Contains(window, pat) {
			return true
		}
		if k := len(pat) - 1; len(window) > k {
			tail = append(tail[:0], window[len(window)-k:]...)
		} else {
			tail = append(tail[:0], window...)
		}
		if err != nil {
			return false
		}
	}
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}
