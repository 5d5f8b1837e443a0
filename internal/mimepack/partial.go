package mimepack

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strconv"
	"strings"

	"mailtk/internal/exitcode"
)

// BuildSplit builds m and cuts it into message/partial fragments (RFC 2046
// §5.2.2) of at most size bytes of content each, cut at line ends, written
// to prefix.01, prefix.02, ... (never over an existing file). Each file
// is a message ready for sendmail -t; their names are printed.
func (a *App) BuildSplit(m *Message, size int64, prefix string) error {
	b := &builder{app: a}
	defer b.cleanup()
	f, err := b.tempFile("mimepack-whole-")
	if err != nil {
		return err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 64<<10)
	if err := a.Build(w, m); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return exitcode.New(exitcode.IOErr, err)
	}
	// The enclosing header of every fragment: the built message's fields
	// except those RFC 2046 §5.2.2.1 says come from the enclosed message.
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return exitcode.New(exitcode.IOErr, err)
	}
	head, err := readHeaderBlock(bufio.NewReader(f), 1<<20)
	if err != nil {
		return exitcode.New(exitcode.IOErr, err)
	}
	var outer []byte
	for _, fld := range splitFields(head) {
		// Subject is kept too, for people who see the fragments; joining
		// takes the enclosed one.
		if !enclosedField(fld) || bytes.HasPrefix(bytes.ToLower(fld), []byte("subject:")) {
			outer = append(outer, fld...)
		}
	}
	total, err := countFragments(f, size)
	if err != nil {
		return err
	}
	var r [12]byte
	if _, err := io.ReadFull(a.Rand, r[:]); err != nil {
		return exitcode.New(exitcode.OSErr, err)
	}
	id := fmt.Sprintf("%s@%s", hex.EncodeToString(r[:]), a.Hostname)
	width := max(2, len(strconv.Itoa(total)))
	nl := "\n"
	if m.CRLF {
		nl = "\r\n"
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return exitcode.New(exitcode.IOErr, err)
	}
	src := bufio.NewReaderSize(f, 64<<10)
	for i := 1; i <= total; i++ {
		name := fmt.Sprintf("%s.%0*d", prefix, width, i)
		out, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return exitcode.New(exitcode.CantCreat, err)
		}
		mid, err := a.messageID()
		if err != nil {
			out.Close()
			return err
		}
		bw := bufio.NewWriterSize(out, 64<<10)
		bw.Write(outer)
		fmt.Fprintf(bw, "Message-ID: %s%sMIME-Version: 1.0%s", mid, nl, nl)
		fmt.Fprintf(bw, "Content-Type: message/partial; id=%q;%s number=%d; total=%d%s%s", id, nl, i, total, nl, nl)
		err = copyFragment(bw, src, size)
		if ferr := bw.Flush(); err == nil {
			err = ferr
		}
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return exitcode.New(exitcode.IOErr, err)
		}
		fmt.Fprintln(a.Stdout, name)
	}
	return nil
}

// copyFragment copies whole lines from src while they fit in size bytes
// (at least one line, however long).
func copyFragment(w io.Writer, src *bufio.Reader, size int64) error {
	var n int64
	for {
		line, err := peekLine(src)
		if len(line) == 0 {
			return err
		}
		if n > 0 && n+int64(len(line)) > size {
			return nil
		}
		w.Write(line)
		src.Discard(len(line))
		n += int64(len(line))
	}
}

// peekLine returns the next line of src without consuming it (or a
// buffer-full prefix of a longer one).
func peekLine(src *bufio.Reader) ([]byte, error) {
	for k := 1; ; k *= 2 {
		buf, err := src.Peek(min(k*4096, src.Size()))
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			return buf[:i+1], nil
		}
		if err != nil || len(buf) == src.Size() {
			if err == io.EOF {
				err = nil
			}
			return buf, err
		}
	}
}

// countFragments runs the cutting of copyFragment without writing.
func countFragments(f *os.File, size int64) (int, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return 0, exitcode.New(exitcode.IOErr, err)
	}
	src := bufio.NewReaderSize(f, 64<<10)
	total := 0
	for {
		if b, _ := src.Peek(1); len(b) == 0 {
			return max(total, 1), nil
		}
		total++
		if err := copyFragment(io.Discard, src, size); err != nil {
			return 0, exitcode.New(exitcode.IOErr, err)
		}
	}
}

// splitFields cuts a raw header block into its fields, each with its
// continuation lines and line ends; the blank line is dropped.
func splitFields(raw []byte) [][]byte {
	var out [][]byte
	for len(raw) > 0 {
		end := bytes.IndexByte(raw, '\n') + 1
		if end == 0 {
			end = len(raw)
		}
		line := raw[:end]
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			break
		}
		if (line[0] == ' ' || line[0] == '\t') && len(out) > 0 {
			out[len(out)-1] = append(out[len(out)-1], line...)
		} else {
			out = append(out, append([]byte(nil), line...))
		}
		raw = raw[end:]
	}
	return out
}

// enclosedField tells the fields that RFC 2046 §5.2.2.1 takes from the
// enclosed message: Content-*, Subject, Message-ID, Encrypted, MIME-Version.
func enclosedField(f []byte) bool {
	name, _, _ := strings.Cut(string(f), ":")
	name = strings.ToLower(strings.TrimSpace(name))
	switch name {
	case "subject", "message-id", "encrypted", "mime-version":
		return true
	}
	return strings.HasPrefix(name, "content-")
}

// fragment is one message/partial file given to Join.
type fragment struct {
	file   string
	number int
	total  int
	id     string
	head   []byte
}

// Join reassembles message/partial fragments (RFC 2046 §5.2.2.2), given
// as files in any order, and writes the message to standard output.
func (a *App) Join(files []string) error {
	var frags []fragment
	seen := map[int]string{}
	total := 0
	for _, name := range files {
		fr, err := a.readFragment(name)
		if err != nil {
			return err
		}
		if len(frags) > 0 && fr.id != frags[0].id {
			return exitcode.Errorf(exitcode.DataErr, "%s: fragment of message %q, not %q", name, fr.id, frags[0].id)
		}
		if prev, dup := seen[fr.number]; dup {
			return exitcode.Errorf(exitcode.DataErr, "%s: fragment %d given twice (also %s)", name, fr.number, prev)
		}
		seen[fr.number] = name
		if fr.total > 0 {
			if total > 0 && fr.total != total {
				return exitcode.Errorf(exitcode.DataErr, "%s: total=%d, other fragments say %d", name, fr.total, total)
			}
			total = fr.total
		}
		frags = append(frags, fr)
	}
	if total == 0 {
		return exitcode.Errorf(exitcode.DataErr, "no fragment gives the total (the last one must, RFC 2046 §5.2.2)")
	}
	for i := 1; i <= total; i++ {
		if _, ok := seen[i]; !ok {
			return exitcode.Errorf(exitcode.DataErr, "fragment %d of %d is missing", i, total)
		}
	}
	if len(frags) != total {
		return exitcode.Errorf(exitcode.DataErr, "%d fragments given, total is %d", len(frags), total)
	}
	sort.Slice(frags, func(i, j int) bool { return frags[i].number < frags[j].number })

	// The enclosed message is the bodies one after another.
	names := make([]string, len(frags))
	for i, fr := range frags {
		names[i] = fr.file
	}
	chain := &bodyChain{files: names, max: a.Limits.MaxHeaderBytes}
	defer chain.close()
	whole := bufio.NewReaderSize(chain, 64<<10)
	inner, err := readHeaderBlock(whole, a.Limits.MaxHeaderBytes)
	if err != nil {
		return exitcode.Errorf(exitcode.DataErr, "enclosed message: %v", err)
	}
	w := a.Stdout
	for _, fld := range splitFields(frags[0].head) {
		if !enclosedField(fld) {
			w.Write(fld)
		}
	}
	blank := []byte("\n")
	for _, fld := range splitFields(inner) {
		if enclosedField(fld) {
			w.Write(fld)
		}
		if bytes.HasSuffix(fld, []byte("\r\n")) {
			blank = []byte("\r\n")
		}
	}
	w.Write(blank)
	_, err = io.Copy(w, whole)
	return err
}

func (a *App) readFragment(name string) (fragment, error) {
	f, err := os.Open(name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fragment{}, exitcode.New(exitcode.NoInput, err)
		}
		return fragment{}, exitcode.New(exitcode.NoInput, err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 64<<10)
	if b, _ := br.Peek(5); string(b) == "From " {
		br.ReadSlice('\n')
	}
	w := &walker{lim: a.Limits}
	raw, h, err := w.header(br, "TEXT")
	if err != nil {
		return fragment{}, exitcode.Errorf(exitcode.DataErr, "%s: %v", name, err)
	}
	p := w.newPart(h, raw, "text/plain", 0)
	if p.Type != "message/partial" {
		return fragment{}, exitcode.Errorf(exitcode.DataErr, "%s: not a message/partial fragment (it is %s)", name, p.Type)
	}
	fr := fragment{file: name, id: p.Params["id"], head: raw}
	fr.number, err = strconv.Atoi(p.Params["number"])
	if err != nil || fr.number < 1 || p.Params["id"] == "" {
		return fragment{}, exitcode.Errorf(exitcode.DataErr, "%s: message/partial without a valid id and number", name)
	}
	if t := p.Params["total"]; t != "" {
		fr.total, err = strconv.Atoi(t)
		if err != nil || fr.total < fr.number || fr.total > 100000 {
			return fragment{}, exitcode.Errorf(exitcode.DataErr, "%s: invalid total=%q", name, t)
		}
	}
	return fr, nil
}

// bodyChain reads the bodies of the fragment files one after another,
// opening each only when the previous one is done.
type bodyChain struct {
	files []string
	max   int
	f     *os.File
	br    *bufio.Reader
}

func (c *bodyChain) Read(p []byte) (int, error) {
	for {
		if c.br == nil {
			if len(c.files) == 0 {
				return 0, io.EOF
			}
			f, err := os.Open(c.files[0])
			if err != nil {
				return 0, exitcode.New(exitcode.NoInput, err)
			}
			c.f, c.br = f, bufio.NewReaderSize(f, 64<<10)
			if b, _ := c.br.Peek(5); string(b) == "From " {
				c.br.ReadSlice('\n')
			}
			if _, err := readHeaderBlock(c.br, c.max); err != nil {
				return 0, exitcode.Errorf(exitcode.DataErr, "%s: %v", c.files[0], err)
			}
			c.files = c.files[1:]
		}
		n, err := c.br.Read(p)
		if err == io.EOF {
			c.close()
			if n > 0 {
				return n, nil
			}
			continue
		}
		if err != nil {
			return n, &InputError{err}
		}
		return n, nil
	}
}

func (c *bodyChain) close() {
	if c.f != nil {
		c.f.Close()
		c.f, c.br = nil, nil
	}
}
