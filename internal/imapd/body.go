package imapd

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	gomessage "github.com/emersion/go-message"
	"github.com/emersion/go-message/textproto"
)

// Message bodies.
//
// Maildir files hold LF line ends (that is how the maildir package and
// most delivery agents write them); IMAP speaks CRLF (RFC 3501 §2.2 and
// the RFC822.SIZE definition in §7.4.2). Everything a client sees of a
// message is read through crlfReader, so sizes and offsets are those of
// the CRLF form, matching W= in the file name and what Dovecot reports.

// crlfReader turns bare LF into CRLF and leaves existing CRLF alone.
type crlfReader struct {
	r       io.Reader
	buf     []byte // converted bytes not yet returned
	prevCR  bool   // the last input byte was CR
	scratch []byte
}

func newCRLFReader(r io.Reader) *crlfReader {
	return &crlfReader{r: r, scratch: make([]byte, 32*1024)}
}

func (c *crlfReader) Read(p []byte) (int, error) {
	for len(c.buf) == 0 {
		n := len(p) / 2
		if n == 0 {
			n = 1
		}
		if n > len(c.scratch) {
			n = len(c.scratch)
		}
		m, err := c.r.Read(c.scratch[:n])
		out := c.buf[:0]
		for _, b := range c.scratch[:m] {
			if b == '\n' && !c.prevCR {
				out = append(out, '\r')
			}
			out = append(out, b)
			c.prevCR = b == '\r'
		}
		c.buf = out
		if m == 0 && err != nil {
			return 0, err
		}
	}
	n := copy(p, c.buf)
	c.buf = c.buf[n:]
	return n, nil
}

// crlfSize returns the size r would have with CRLF line ends.
func crlfSize(r io.Reader) (int64, error) {
	br := bufio.NewReaderSize(r, 64*1024)
	var n int64
	prevCR := false
	for {
		chunk, err := br.ReadSlice('\n')
		n += int64(len(chunk))
		if len(chunk) > 0 && chunk[len(chunk)-1] == '\n' {
			cr := prevCR
			if len(chunk) >= 2 {
				cr = chunk[len(chunk)-2] == '\r'
			}
			if !cr {
				n++
			}
			prevCR = false
		} else if len(chunk) > 0 {
			prevCR = chunk[len(chunk)-1] == '\r'
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// Limits on the MIME structure imapd analyses. A message nested deeper,
// or with more parts, is still stored and served whole; its deeper parts
// are described as one opaque application/octet-stream part (the
// approach Dovecot takes with its own nesting limit).
const (
	maxMIMEDepth = 100
	maxMIMEParts = 10000
)

// counter counts bytes and lines of what passes through it.
type counter struct {
	n, lines int64
}

func (c *counter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	c.lines += int64(bytes.Count(p, []byte{'\n'}))
	return len(p), nil
}

type structureParser struct {
	parts int
}

// bodyStructure describes the message read from r (CRLF form) as
// BODYSTRUCTURE, without holding more than one part's header in memory.
func bodyStructure(r io.Reader) imap.BodyStructure {
	br := bufio.NewReader(r)
	h, _ := textproto.ReadHeader(br)
	p := &structureParser{}
	return p.entity(h, br, 0, false)
}

func (p *structureParser) entity(raw textproto.Header, r io.Reader, depth int, digest bool) imap.BodyStructure {
	p.parts++
	header := gomessage.Header{Header: raw}
	mediaType, params, err := header.ContentType()
	if err != nil || mediaType == "" || !strings.Contains(mediaType, "/") {
		// RFC 2045 §5.2: no (or an unparsable) Content-Type means
		// text/plain; charset=us-ascii, or message/rfc822 inside a
		// multipart/digest (RFC 2046 §5.1.5).
		if digest && !raw.Has("Content-Type") {
			mediaType, params = "message/rfc822", nil
		} else {
			mediaType, params = "text/plain", map[string]string{"charset": "us-ascii"}
		}
	}
	typ, sub, _ := strings.Cut(mediaType, "/")
	tooDeep := depth >= maxMIMEDepth || p.parts >= maxMIMEParts

	if typ == "multipart" && !tooDeep && params["boundary"] != "" {
		bs := &imap.BodyStructureMultiPart{Subtype: sub}
		mr := textproto.NewMultipartReader(r, params["boundary"])
		for {
			part, err := mr.NextPart()
			if err != nil {
				break
			}
			bs.Children = append(bs.Children, p.entity(part.Header, part, depth+1, sub == "digest"))
			if p.parts >= maxMIMEParts {
				break
			}
		}
		io.Copy(io.Discard, r)
		if len(bs.Children) == 0 {
			// RFC 3501's body-type-mpart needs at least one part.
			bs.Children = append(bs.Children, &imap.BodyStructureSinglePart{
				Type: "text", Subtype: "plain", Params: map[string]string{"charset": "us-ascii"},
				Text:     &imap.BodyStructureText{},
				Extended: &imap.BodyStructureSinglePartExt{},
			})
		}
		bs.Extended = &imap.BodyStructureMultiPartExt{
			Params:      params,
			Disposition: disposition(header),
			Language:    language(header),
			Location:    header.Get("Content-Location"),
		}
		return bs
	}
	if tooDeep && (typ == "multipart" || typ == "message") {
		typ, sub, params = "application", "octet-stream", nil
	}
	if typ == "multipart" { // no boundary: RFC 2046 §5.1.1 requires one
		typ, sub, params = "application", "octet-stream", nil
	}

	bs := &imap.BodyStructureSinglePart{
		Type:        typ,
		Subtype:     sub,
		Params:      params,
		ID:          header.Get("Content-Id"),
		Description: header.Get("Content-Description"),
		Encoding:    header.Get("Content-Transfer-Encoding"),
		Extended: &imap.BodyStructureSinglePartExt{
			Disposition: disposition(header),
			Language:    language(header),
			Location:    header.Get("Content-Location"),
		},
	}
	var c counter
	tee := io.TeeReader(r, &c)
	if typ == "message" && (sub == "rfc822" || sub == "global") {
		br := bufio.NewReader(tee)
		ch, _ := textproto.ReadHeader(br)
		child := p.entity(ch, br, depth+1, false)
		io.Copy(io.Discard, br)
		bs.MessageRFC822 = &imap.BodyStructureMessageRFC822{
			Envelope:      imapserver.ExtractEnvelope(ch),
			BodyStructure: child,
		}
	}
	io.Copy(io.Discard, tee)
	bs.Size = uint32(min(c.n, 1<<32-1))
	if bs.MessageRFC822 != nil {
		bs.MessageRFC822.NumLines = c.lines
	}
	if typ == "text" {
		bs.Text = &imap.BodyStructureText{NumLines: c.lines}
	}
	return bs
}

func disposition(h gomessage.Header) *imap.BodyStructureDisposition {
	d, params, _ := h.ContentDisposition()
	if d == "" {
		return nil
	}
	return &imap.BodyStructureDisposition{Value: d, Params: params}
}

func language(h gomessage.Header) []string {
	v := h.Get("Content-Language")
	if v == "" {
		return nil
	}
	l := strings.Split(v, ",")
	for i := range l {
		l[i] = strings.TrimSpace(l[i])
	}
	return l
}

// readHeader reads the header of the message r (CRLF or LF form).
func readHeader(r io.Reader) (textproto.Header, error) {
	return textproto.ReadHeader(bufio.NewReader(r))
}

// envelope builds ENVELOPE from a message header (RFC 3501 §7.4.2).
func envelope(h textproto.Header) *imap.Envelope {
	return imapserver.ExtractEnvelope(h)
}
