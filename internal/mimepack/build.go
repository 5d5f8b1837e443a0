package mimepack

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime/quotedprintable"
	"os"
	"path/filepath"
	"strings"

	"mailtk/internal/exitcode"
	"mailtk/internal/mimeenc"
)

// Message describes a message to build.
type Message struct {
	From     string
	To, Cc   []string
	Subject  string
	Headers  []string // extra "Name: value" fields
	BodyFile string   // text body from a file ("-": standard input)
	BodyText string   // text body given on the command line
	HasText  bool     // BodyText was given (it may be empty)
	HTMLFile string   // HTML body (with a text body: multipart/alternative)
	Files    []string // attachments ("-": standard input)
	Digest   bool     // Files are messages: multipart/digest of message/rfc822
	Charset  string   // charset of text that is neither ASCII nor UTF-8
	SevenBit bool     // no 8bit parts: quoted-printable instead
	CRLF     bool     // write CRLF line ends instead of LF

	SignCmd    string // RFC 1847 multipart/signed with this signer
	EncryptCmd string // RFC 1847 multipart/encrypted with this encryptor
	Micalg     string // micalg parameter; "" to read it from the signature
}

// boundaryPrefix starts every boundary we make. Why no boundary can occur
// in encoded content (RFC 2046 §5.1.1 requires that it does not):
//   - base64 output (RFC 2045 §6.8) is made of A-Z a-z 0-9 + / = only, so
//     no base64 line begins with "--";
//   - quoted-printable output (RFC 2045 §6.7) writes '=' only as "=XX"
//     with two hex digits or as a soft line break "=" at a line end, so
//     "=_" never occurs in it, and every delimiter "--=_..." contains it.
//
// Parts sent as they are (7bit, 8bit, message/rfc822) are scanned first
// (stats.dashLines): a text part with a line beginning "--=_" is sent as
// quoted-printable instead, and a boundary is drawn again (128 random
// bits, so in practice never) until no enclosed message has a line it
// prefixes. writeNode checks the identity-encoded lines once more as it
// copies them, since a file may change between the two reads.
const boundaryPrefix = "=_"

// node is one entity of the message being built.
type node struct {
	// leaves
	src      *source
	mtype    string
	charset  string
	enc      string // 7bit, 8bit, quoted-printable, base64
	disp     string // "attachment", "inline" or ""
	filename string
	st       stats
	isMsg    bool // message/rfc822: copied as it is, line ends normalised
	// multiparts
	sub      string // "mixed", "alternative", "digest"
	kids     []*node
	boundary string
}

// builder holds the state of one build.
type builder struct {
	app   *App
	msg   *Message
	stdin bool // standard input was used already
	tmps  []string
}

func (b *builder) cleanup() {
	for _, p := range b.tmps {
		os.Remove(p)
	}
}

// tempFile creates a temporary file that cleanup removes.
func (b *builder) tempFile(pattern string) (*os.File, error) {
	f, err := os.CreateTemp(b.app.TempDir, pattern)
	if err != nil {
		return nil, exitcode.New(exitcode.CantCreat, err)
	}
	b.tmps = append(b.tmps, f.Name())
	return f, nil
}

// role of a leaf in the message.
type role int

const (
	roleText role = iota
	roleHTML
	roleAttachment
	roleMessage
)

// leaf plans one leaf from a file name ("-": standard input).
func (b *builder) leaf(name string, r role) (*node, error) {
	src := &source{label: name, path: name}
	if name == "-" {
		if b.stdin {
			return nil, exitcode.Errorf(exitcode.Usage, "standard input given twice")
		}
		b.stdin = true
		// Standard input is read once; spool it so it can be scanned
		// and then encoded (constant memory, disk space instead).
		f, err := b.tempFile("mimepack-stdin-")
		if err != nil {
			return nil, err
		}
		_, err = io.Copy(f, inputReader{b.app.Stdin})
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, exitcode.New(exitcode.IOErr, fmt.Errorf("standard input: %w", err))
		}
		src = &source{label: "standard input", path: f.Name(), tmp: true}
	} else if fi, err := os.Stat(name); err != nil {
		return nil, exitcode.New(exitcode.NoInput, err)
	} else if !fi.Mode().IsRegular() {
		return nil, exitcode.Errorf(exitcode.NoInput, "%s: not a regular file", name)
	}
	return b.plan(src, r)
}

// textLeaf plans the body given with -m.
func (b *builder) textLeaf(text string) (*node, error) {
	if text != "" && !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	return b.plan(&source{label: "-m", text: text}, roleText)
}

// plan decides type, charset and encoding of a leaf.
func (b *builder) plan(src *source, r role) (*node, error) {
	n := &node{src: src}
	switch r {
	case roleText:
		n.mtype = "text/plain"
	case roleHTML:
		n.mtype = "text/html"
	case roleMessage:
		n.mtype, n.isMsg = "message/rfc822", true
	default:
		head, err := src.head(512)
		if err != nil {
			return nil, exitcode.New(exitcode.NoInput, err)
		}
		name := src.path
		if src.tmp {
			name = ""
		}
		n.mtype = contentType(name, head)
		n.disp = "attachment"
		if !src.tmp {
			n.filename = filepath.Base(src.path)
		}
	}
	if !isText(n.mtype) && !n.isMsg {
		n.enc = "base64"
		return n, nil
	}
	f, err := src.open()
	if err != nil {
		return nil, exitcode.New(exitcode.NoInput, err)
	}
	n.st, err = scan(f)
	f.Close()
	if err != nil {
		return nil, exitcode.New(exitcode.IOErr, fmt.Errorf("%s: %w", src.label, err))
	}
	st := &n.st
	if n.isMsg {
		n.enc = "7bit"
		if st.eightBit || st.nul || st.longLine {
			n.enc = "8bit"
		}
		return n, nil
	}
	switch {
	case !st.eightBit:
		n.charset = "us-ascii"
	case st.validUTF8:
		n.charset = "utf-8"
	case b.msg.Charset != "":
		n.charset = b.msg.Charset
	default:
		n.charset = "unknown-8bit" // RFC 1428
	}
	switch {
	case st.cr:
		// Bare CR or CRLF line ends: only base64 gives them back byte
		// for byte (a quoted-printable hard line break is decoded to the
		// reader's own line end, RFC 2045 §6.7 rule 4).
		n.enc = "base64"
	case st.nul || st.longLine || len(st.dashLines) > 0 || st.manyDash:
		n.enc = "quoted-printable"
	case b.msg.SevenBit && (st.eightBit || st.trailingWS):
		n.enc = "quoted-printable"
	case st.eightBit:
		n.enc = "8bit"
	default:
		n.enc = "7bit"
	}
	return n, nil
}

// tree plans the whole message.
func (b *builder) tree() (*node, error) {
	m := b.msg
	var body []*node
	if m.BodyFile != "" && m.HasText {
		return nil, exitcode.Errorf(exitcode.Usage, "--body and -m exclude each other")
	}
	if m.BodyFile != "" {
		n, err := b.leaf(m.BodyFile, roleText)
		if err != nil {
			return nil, err
		}
		body = append(body, n)
	} else if m.HasText {
		n, err := b.textLeaf(m.BodyText)
		if err != nil {
			return nil, err
		}
		body = append(body, n)
	}
	if m.HTMLFile != "" {
		n, err := b.leaf(m.HTMLFile, roleHTML)
		if err != nil {
			return nil, err
		}
		body = append(body, n)
	}
	var main *node
	switch len(body) {
	case 1:
		main = body[0]
	case 2:
		main = &node{sub: "alternative", kids: body} // RFC 2046 §5.1.4
	}
	var atts []*node
	r := roleAttachment
	if m.Digest {
		r = roleMessage
	}
	for _, f := range m.Files {
		n, err := b.leaf(f, r)
		if err != nil {
			return nil, err
		}
		atts = append(atts, n)
	}
	if m.Digest {
		if len(atts) == 0 {
			return nil, exitcode.Errorf(exitcode.Usage, "--digest needs message files")
		}
		atts = []*node{{sub: "digest", kids: atts}} // RFC 2046 §5.1.5
	}
	switch {
	case len(atts) == 0 && main == nil:
		return b.textLeaf("")
	case len(atts) == 0:
		return main, nil
	case main == nil && m.Digest:
		return atts[0], nil
	}
	kids := atts
	if main != nil {
		kids = append([]*node{main}, atts...)
	}
	return &node{sub: "mixed", kids: kids}, nil
}

// assignBoundaries draws a boundary for every multipart in the tree.
func (b *builder) assignBoundaries(n *node) error {
	if n.sub == "" {
		return nil
	}
	bnd, err := b.drawBoundary(n)
	if err != nil {
		return err
	}
	n.boundary = bnd
	for _, k := range n.kids {
		if err := b.assignBoundaries(k); err != nil {
			return err
		}
	}
	return nil
}

// drawBoundary returns a random boundary that no line of the content
// under n that is sent as it is begins with.
func (b *builder) drawBoundary(n *node) (string, error) {
	var ids []*node
	collectIdentity(n, &ids)
	for try := 0; try < 20; try++ {
		bnd, err := b.randomBoundary()
		if err != nil {
			return "", err
		}
		ok := true
		for _, l := range ids {
			if l.st.clashes(bnd) {
				ok = false
			}
		}
		if ok {
			return bnd, nil
		}
	}
	return "", exitcode.Errorf(exitcode.DataErr, "cannot find a boundary that does not occur in the content")
}

func collectIdentity(n *node, out *[]*node) {
	if n.sub == "" {
		if n.enc == "7bit" || n.enc == "8bit" {
			*out = append(*out, n)
		}
		return
	}
	for _, k := range n.kids {
		collectIdentity(k, out)
	}
}

// randomBoundary returns "=_" and 32 hex digits (128 random bits).
func (b *builder) randomBoundary() (string, error) {
	var r [16]byte
	if _, err := io.ReadFull(b.app.Rand, r[:]); err != nil {
		return "", exitcode.New(exitcode.OSErr, err)
	}
	return boundaryPrefix + hex.EncodeToString(r[:]), nil
}

// writeHeader writes the MIME header fields of n.
func writeNodeHeader(w io.Writer, n *node) error {
	var h strings.Builder
	if n.sub != "" {
		fmt.Fprintf(&h, "Content-Type: multipart/%s;\n boundary=%s\n", n.sub, quoteParam(n.boundary))
	} else {
		ctName, cdName := fileParams(n.filename)
		h.WriteString("Content-Type: " + n.mtype)
		if n.charset != "" {
			h.WriteString("; charset=" + quoteParam(n.charset))
		}
		h.WriteString(ctName + "\n")
		h.WriteString("Content-Transfer-Encoding: " + n.enc + "\n")
		if n.disp != "" {
			h.WriteString("Content-Disposition: " + n.disp + cdName + "\n")
		}
	}
	h.WriteString("\n")
	_, err := io.WriteString(w, h.String())
	return err
}

// writeNode writes n, header and body, with LF line ends.
func writeNode(w *bufio.Writer, n *node, outer []string) error {
	if err := writeNodeHeader(w, n); err != nil {
		return err
	}
	if n.sub != "" {
		bounds := append(outer, n.boundary)
		for _, k := range n.kids {
			fmt.Fprintf(w, "--%s\n", n.boundary)
			if err := writeNode(w, k, bounds); err != nil {
				return err
			}
			w.WriteString("\n")
		}
		_, err := fmt.Fprintf(w, "--%s--\n", n.boundary)
		return err
	}
	r, err := n.src.open()
	if err != nil {
		return exitcode.New(exitcode.NoInput, err)
	}
	defer r.Close()
	in := inputReader{r}
	switch n.enc {
	case "base64":
		err = encodeBase64(w, in)
	case "quoted-printable":
		qw := quotedprintable.NewWriter(crStripper{w})
		_, err = io.Copy(qw, in)
		if cerr := qw.Close(); err == nil {
			err = cerr
		}
	default:
		var dst io.Writer = &lineChecker{w: w, bounds: outer, atStart: true}
		if n.isMsg {
			dst = &crlfToLF{w: dst}
		}
		_, err = io.Copy(dst, in)
		if c, ok := dst.(*crlfToLF); ok && err == nil {
			err = c.Flush()
		}
	}
	if err != nil {
		var ie *InputError
		if errors.As(err, &ie) {
			return exitcode.New(exitcode.IOErr, fmt.Errorf("%s: %w", n.src.label, err))
		}
		var ce *clashError
		if errors.As(err, &ce) {
			return exitcode.New(exitcode.DataErr, fmt.Errorf("%s: %w", n.src.label, err))
		}
		return err
	}
	return nil
}

// encodeBase64 writes r as base64 in lines of 76 characters (RFC 2045
// §6.8), LF-terminated, with the toolkit's SIMD codec.
func encodeBase64(w io.Writer, r io.Reader) error {
	enc := mimeenc.NewB64Writer(w, mimeenc.B64Options{})
	if _, err := io.Copy(enc, r); err != nil {
		return err
	}
	return enc.Close()
}

// crStripper drops the CRs of mime/quotedprintable's CRLF line ends: the
// message is written with LF and converted at the end if CRLF is wanted.
// The encoder escapes every CR of the content as =0D, so only its own
// line ends are dropped.
type crStripper struct{ w io.Writer }

func (c crStripper) Write(p []byte) (int, error) {
	start := 0
	for i, ch := range p {
		if ch == '\r' {
			if _, err := c.w.Write(p[start:i]); err != nil {
				return 0, err
			}
			start = i + 1
		}
	}
	if _, err := c.w.Write(p[start:]); err != nil {
		return 0, err
	}
	return len(p), nil
}

// crlfToLF turns CRLF into LF (an enclosed message read from a file with
// CRLF line ends), holding back a CR at the end of a write.
type crlfToLF struct {
	w      io.Writer
	pendCR bool
	buf    []byte
}

func (c *crlfToLF) Write(p []byte) (int, error) {
	c.buf = c.buf[:0]
	for i, ch := range p {
		if c.pendCR {
			c.pendCR = false
			if ch != '\n' {
				c.buf = append(c.buf, '\r')
			}
		}
		if ch == '\r' {
			if i == len(p)-1 {
				c.pendCR = true
				continue
			}
			if p[i+1] == '\n' {
				continue
			}
		}
		c.buf = append(c.buf, ch)
	}
	if _, err := c.w.Write(c.buf); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Flush writes a CR held back at the end.
func (c *crlfToLF) Flush() error {
	if c.pendCR {
		c.pendCR = false
		_, err := c.w.Write([]byte{'\r'})
		return err
	}
	return nil
}

// lfToCRLF turns every LF into CRLF: the whole message is made with LF
// and converted here when CRLF output (or a canonical signed part) is
// wanted. The content that reaches it holds no CR of its own (see plan).
type lfToCRLF struct{ w io.Writer }

func (c lfToCRLF) Write(p []byte) (int, error) {
	start := 0
	for start < len(p) {
		i := bytes.IndexByte(p[start:], '\n')
		if i < 0 {
			if _, err := c.w.Write(p[start:]); err != nil {
				return 0, err
			}
			break
		}
		if _, err := c.w.Write(p[start : start+i]); err != nil {
			return 0, err
		}
		if _, err := c.w.Write([]byte("\r\n")); err != nil {
			return 0, err
		}
		start += i + 1
	}
	return len(p), nil
}

// clashError is a delimiter line found in content sent as it is.
type clashError struct{ line string }

func (e *clashError) Error() string {
	return fmt.Sprintf("content has a line that is a MIME delimiter (%.40q); the file changed while it was read", e.line)
}

// lineChecker passes bytes through and fails if a line starts with the
// delimiter of an enclosing multipart.
type lineChecker struct {
	w       io.Writer
	bounds  []string
	atStart bool
	head    []byte
	inHead  bool
}

func (l *lineChecker) Write(p []byte) (int, error) {
	if len(l.bounds) > 0 {
		for _, c := range p {
			if l.atStart {
				l.head, l.inHead = l.head[:0], c == '-'
			}
			l.atStart = c == '\n'
			if !l.inHead {
				continue
			}
			if c == '\n' || len(l.head) > maxBoundary+2 {
				if err := l.check(); err != nil {
					return 0, err
				}
				l.inHead = false
				continue
			}
			l.head = append(l.head, c)
		}
		if l.inHead {
			if err := l.check(); err != nil {
				return 0, err
			}
		}
	}
	return l.w.Write(p)
}

func (l *lineChecker) check() error {
	for _, b := range l.bounds {
		d := "--" + b
		if len(l.head) >= len(d) && string(l.head[:len(d)]) == d {
			return &clashError{string(l.head)}
		}
	}
	return nil
}
