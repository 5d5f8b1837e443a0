package mimepack

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime/quotedprintable"
	"net/url"
	"strconv"
	"strings"

	"github.com/emersion/go-message"
	// Registers every charset go-message knows for RFC 2047 words in
	// header fields and parameters (it sets message.CharsetReader).
	"github.com/emersion/go-message/charset"
	"github.com/emersion/go-message/textproto"

	"mailtk/internal/mimeenc"
)

// Limits bound what the parser accepts from a message, so that a hostile
// message costs bounded memory and time. Exceeding one is a *PartError.
type Limits struct {
	MaxDepth       int // nesting of multiparts and message/rfc822 parts
	MaxParts       int // entities in the whole message
	MaxHeaderBytes int // bytes of one header block
}

// DefaultLimits are generous for real mail and small enough for hostile
// mail: the 10,000-level and 100,000-part messages of the test suite are
// refused quickly.
func DefaultLimits() Limits {
	return Limits{MaxDepth: 64, MaxParts: 10000, MaxHeaderBytes: 256 << 10}
}

// maxBoundary is the longest boundary accepted. RFC 2046 §5.1.1 allows
// 70 characters; we tolerate more, but a boundary must fit the buffer.
const maxBoundary = 256

// PartError is malformed input, located by the IMAP part path.
type PartError struct {
	Path string
	Err  error
}

func (e *PartError) Error() string { return "part " + e.Path + ": " + e.Err.Error() }

func (e *PartError) Unwrap() error { return e.Err }

// InputError is a failure to read the input (not a fault of its content).
type InputError struct{ Err error }

func (e *InputError) Error() string { return "read: " + e.Err.Error() }

func (e *InputError) Unwrap() error { return e.Err }

// inputReader tags read errors of the input so they are told apart from
// malformed content (exit 74, not 65).
type inputReader struct{ r io.Reader }

func (r inputReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		err = &InputError{err}
	}
	return n, err
}

// Part is one entity of a message, met in depth-first order (the order of
// IMAP part numbers and of mblaze's mshow -t).
type Part struct {
	// Path is the IMAP section (RFC 3501 §6.4.5): "1", "2.1", ... for
	// parts; "TEXT" (or "2.TEXT" inside a message/rfc822 part 2) for a
	// multipart that is the body of a message, which IMAP gives no number.
	Path        string
	Depth       int
	Header      message.Header
	RawHeader   []byte // the header block exactly as read, blank line included
	Type        string // lower-case media type
	Params      map[string]string
	Encoding    string // lower-case Content-Transfer-Encoding; "" when absent
	Disposition string // lower-case disposition type; "" when absent
	Filename    string // from Content-Disposition filename, else Content-Type name
	// Container is true for multiparts and message/rfc822 parts, whose
	// children follow; for a leaf, Body is its encoded content.
	Container bool
	body      io.Reader
}

// Raw returns the encoded body. For a container it is the rest of the
// entity (a whole message for message/rfc822); reading it and returning
// SkipChildren from the visitor skips the children.
func (p *Part) Raw() io.Reader { return p.body }

// Decoded returns the body with its Content-Transfer-Encoding undone
// (RFC 2045 §6). Unknown encodings are returned as they are. Decoding
// errors are *PartError.
func (p *Part) Decoded() io.Reader {
	var r io.Reader
	switch p.Encoding {
	case "base64":
		// Lenient, as RFC 2045 §6.8 tells a decoder to be: characters
		// outside the alphabet are ignored, and so are misplaced pads.
		r = mimeenc.NewB64Reader(p.body, mimeenc.B64Options{Lenient: true})
	case "quoted-printable":
		// The reader keeps LF and CRLF hard line breaks as they are.
		r = quotedprintable.NewReader(bufio.NewReaderSize(p.body, bufSize))
	default:
		r = p.body
	}
	return &decodeReader{r: r, path: p.Path, enc: p.Encoding}
}

// decodeReader locates decoding errors by part path.
type decodeReader struct {
	r    io.Reader
	path string
	enc  string
}

func (d *decodeReader) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	if err != nil && err != io.EOF {
		var ie *InputError
		var pe *PartError
		switch {
		case errors.As(err, &ie), errors.As(err, &pe):
		case errors.Is(err, errNoClose):
			err = &PartError{d.path, err}
		case errors.Is(err, bufio.ErrBufferFull):
			err = &PartError{d.path, fmt.Errorf("%s: line longer than %d bytes", d.enc, bufSize)}
		default:
			err = &PartError{d.path, fmt.Errorf("%s: %v", d.enc, err)}
		}
	}
	return n, err
}

// SkipChildren, returned by a visitor for a container, skips its children.
var SkipChildren = errors.New("skip children")

// errStop, returned by a visitor, ends the walk without error.
var errStop = errors.New("stop")

// Walk parses the message read from r and calls visit for every entity in
// depth-first order. A leaf's body must be read (or not) within visit; the
// walker skips what is left. Parse errors are *PartError; errors returned
// by visit end the walk and are returned as they are.
func Walk(r io.Reader, lim Limits, visit func(*Part) error) error {
	w := &walker{lim: lim, visit: visit}
	src := w.reader(0, inputReader{r})
	// QUIRK: a message saved from an mbox may begin with its "From "
	// separator line (not a header field); skip it.
	if b, _ := src.Peek(5); string(b) == "From " {
		if _, err := src.ReadSlice('\n'); err != nil && err != bufio.ErrBufferFull && err != io.EOF {
			return err
		}
	}
	err := w.message(src, "", 0)
	if errors.Is(err, errStop) {
		return nil
	}
	return err
}

type walker struct {
	lim     Limits
	visit   func(*Part) error
	parts   int
	readers []*bufio.Reader // one per depth, reused
}

// reader returns the buffered reader of a depth, reset onto r.
func (w *walker) reader(depth int, r io.Reader) *bufio.Reader {
	for len(w.readers) <= depth {
		w.readers = append(w.readers, nil)
	}
	if w.readers[depth] == nil {
		w.readers[depth] = bufio.NewReaderSize(r, bufSize)
	} else {
		w.readers[depth].Reset(r)
	}
	return w.readers[depth]
}

func join(prefix, s string) string {
	if prefix == "" {
		return s
	}
	return prefix + "." + s
}

// message walks a message: the top level, or the body of a message/rfc822
// part at prefix. Its body is numbered prefix.1 when it is a single part;
// a multipart body is prefix.TEXT and its parts prefix.1, prefix.2...
func (w *walker) message(src *bufio.Reader, prefix string, depth int) error {
	label := join(prefix, "TEXT")
	raw, hdr, err := w.header(src, label)
	if err != nil {
		return err
	}
	p := w.newPart(hdr, raw, "text/plain", depth)
	if p.Container && strings.HasPrefix(p.Type, "multipart/") {
		p.Path = label
	} else {
		p.Path = join(prefix, "1")
	}
	return w.entity(src, p, depth)
}

// header reads and parses one bounded header block.
func (w *walker) header(src *bufio.Reader, path string) ([]byte, message.Header, error) {
	raw, err := readHeaderBlock(src, w.lim.MaxHeaderBytes)
	if err != nil {
		var ie *InputError
		if errors.As(err, &ie) {
			return nil, message.Header{}, err
		}
		return nil, message.Header{}, &PartError{path, err}
	}
	h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil && err != io.EOF {
		return nil, message.Header{}, &PartError{path, err}
	}
	return raw, message.Header{Header: h}, nil
}

// readHeaderBlock reads header lines up to and including the blank line
// that ends them (or the end of input), at most max bytes.
func readHeaderBlock(br *bufio.Reader, max int) ([]byte, error) {
	var block []byte
	lineStart := 0
	for {
		chunk, err := br.ReadSlice('\n')
		if len(block)+len(chunk) > max {
			return nil, fmt.Errorf("header longer than %d bytes", max)
		}
		block = append(block, chunk...)
		switch {
		case err == bufio.ErrBufferFull:
			continue
		case err == io.EOF:
			return block, nil
		case err != nil:
			return nil, err
		}
		line := block[lineStart:]
		if len(line) == 1 || (len(line) == 2 && line[0] == '\r') {
			return block, nil
		}
		lineStart = len(block)
	}
}

// newPart fills in a Part from a parsed header.
func (w *walker) newPart(h message.Header, raw []byte, defType string, depth int) *Part {
	p := &Part{Header: h, RawHeader: raw, Depth: depth}
	t, params, err := h.ContentType()
	if h.Get("Content-Type") == "" {
		t = defType
	} else if !strings.Contains(t, "/") || err != nil && (t == "" || strings.ContainsAny(t, " ;")) {
		// RFC 2045 §5.2: an invalid Content-Type is taken as the default.
		t, params = "text/plain", nil
	}
	p.Type = strings.ToLower(t)
	if params == nil {
		params = map[string]string{}
	}
	p.Params = params
	p.Encoding = strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding")))
	if d, dp, err := h.ContentDisposition(); err == nil || d != "" {
		p.Disposition = strings.ToLower(d)
		p.Filename = dp["filename"]
	}
	if p.Filename == "" {
		p.Filename = rfc2231Charset(h.Get("Content-Disposition"), "filename")
	}
	if p.Filename == "" {
		p.Filename = params["name"]
	}
	switch {
	case strings.HasPrefix(p.Type, "multipart/"):
		// QUIRK: a multipart without a usable boundary is shown and
		// extracted as one opaque leaf rather than refused.
		b := params["boundary"]
		p.Container = b != "" && len(b) <= maxBoundary
	case p.Type == "message/rfc822" || p.Type == "message/global":
		// RFC 2046 §5.2.1: only 7bit, 8bit or binary; anything else is
		// opaque to us.
		switch p.Encoding {
		case "", "7bit", "8bit", "binary":
			p.Container = true
		}
	}
	return p
}

// entity visits p, whose body is read from src, and walks its children.
func (w *walker) entity(src *bufio.Reader, p *Part, depth int) error {
	w.parts++
	if w.parts > w.lim.MaxParts {
		return &PartError{p.Path, fmt.Errorf("more than %d parts", w.lim.MaxParts)}
	}
	if depth > w.lim.MaxDepth {
		return &PartError{p.Path, fmt.Errorf("nested deeper than %d levels", w.lim.MaxDepth)}
	}
	p.body = src
	err := w.visit(p)
	if errors.Is(err, SkipChildren) {
		return w.drain(src, p.Path)
	}
	if err != nil {
		return err
	}
	if !p.Container {
		return w.drain(src, p.Path)
	}
	if !strings.HasPrefix(p.Type, "multipart/") {
		return w.message(w.reader(depth+1, src), p.Path, depth+1)
	}
	defType := "text/plain"
	if p.Type == "multipart/digest" {
		defType = "message/rfc822" // RFC 2046 §5.1.5
	}
	childPrefix := p.Path
	if p.Path == "TEXT" {
		childPrefix = ""
	} else if strings.HasSuffix(p.Path, ".TEXT") {
		childPrefix = strings.TrimSuffix(p.Path, ".TEXT")
	}
	mr := newMultipartReader(src, p.Params["boundary"])
	for i := 1; ; i++ {
		bp, err := mr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return w.locate(err, p.Path)
		}
		path := join(childPrefix, strconv.Itoa(i))
		br := w.reader(depth+1, bp)
		raw, h, err := w.header(br, path)
		if err != nil {
			return w.locate(err, path)
		}
		c := w.newPart(h, raw, defType, depth+1)
		c.Path = path
		if err := w.entity(br, c, depth+1); err != nil {
			return err
		}
	}
	// The epilogue (RFC 2046 §5.1.1) is ignored.
	return w.drain(src, p.Path)
}

func (w *walker) drain(src io.Reader, path string) error {
	_, err := io.Copy(io.Discard, src)
	return w.locate(err, path)
}

// locate turns a bare parse error into a *PartError at path.
func (w *walker) locate(err error, path string) error {
	if err == nil {
		return nil
	}
	var ie *InputError
	var pe *PartError
	if errors.As(err, &ie) || errors.As(err, &pe) {
		return err
	}
	return &PartError{path, err}
}

// rfc2231Charset decodes a single-segment RFC 2231 parameter in a charset
// other than UTF-8 (such as "filename*=iso-8859-1" then two single quotes
// and "caf%E9.txt"), which
// mime.ParseMediaType drops, with go-message's charset tables.
func rfc2231Charset(field, param string) string {
	i := strings.Index(strings.ToLower(field), param+"*=")
	if i < 0 {
		return ""
	}
	v := field[i+len(param)+2:]
	if j := strings.IndexAny(v, "; \t\r\n"); j >= 0 {
		v = v[:j]
	}
	cs, rest, ok := strings.Cut(v, "'")
	if !ok {
		return ""
	}
	_, enc, ok := strings.Cut(rest, "'")
	if !ok || cs == "" {
		return ""
	}
	raw, err := url.PathUnescape(enc)
	if err != nil {
		return ""
	}
	r, err := charset.Reader(cs, strings.NewReader(raw))
	if err != nil {
		return ""
	}
	b, err := io.ReadAll(io.LimitReader(r, 4096))
	if err != nil {
		return ""
	}
	return string(b)
}
