package mimepack

import (
	"bytes"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// source is the content of one leaf of the message being built: a file,
// standard input spooled to a temporary file, or literal text.
type source struct {
	label string // for error messages: the file name or "-m"
	path  string // file to open; "" when text is used
	text  string
	tmp   bool // path is a spool file to remove when done
}

func (s *source) open() (io.ReadCloser, error) {
	if s.path == "" {
		return io.NopCloser(strings.NewReader(s.text)), nil
	}
	return os.Open(s.path)
}

// head returns up to n first bytes of the content, for sniffing.
func (s *source) head(n int) ([]byte, error) {
	r, err := s.open()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	buf := make([]byte, n)
	m, err := io.ReadFull(r, buf)
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		err = nil
	}
	return buf[:m], err
}

// stats is what one pass over a content tells about how to encode it.
type stats struct {
	size       int64
	eightBit   bool // bytes >= 0x80
	nul        bool
	cr         bool // any CR: line ends we must keep byte-exact
	longLine   bool // a line over 998 bytes (RFC 5322 §2.1.1)
	trailingWS bool // a line ending in space or tab (lost by some gateways)
	validUTF8  bool
	// dashLines holds lines that begin like one of our delimiters,
	// "--=_" (up to a bound): a boundary must not prefix any of them when
	// the content is sent as it is.
	dashLines [][]byte
	manyDash  bool // more such lines than we keep
}

const maxDashLines = 4096

// scan reads r once and gathers stats.
func scan(r io.Reader) (stats, error) {
	st := stats{validUTF8: true}
	buf := make([]byte, 256<<10)
	var carry []byte // an incomplete UTF-8 sequence at a chunk's end
	lineLen := 0
	atLineStart := true
	var prev byte
	lineHead := make([]byte, 0, maxBoundary+4) // start of a line beginning with '-'
	inDash := false
	for {
		n, err := r.Read(buf)
		chunk := buf[:n]
		st.size += int64(n)
		for i := 0; i < len(chunk); i++ {
			c := chunk[i]
			if atLineStart && c == '-' {
				lineHead = lineHead[:0]
				inDash = true
			}
			if inDash && len(lineHead) < maxBoundary+4 && c != '\n' {
				lineHead = append(lineHead, c)
			}
			switch {
			case c == '\n':
				if inDash {
					st.addDash(lineHead)
					inDash = false
				}
				if prev == ' ' || prev == '\t' {
					st.trailingWS = true
				}
				lineLen = 0
				atLineStart = true
				prev = c
				continue
			case c == '\r':
				st.cr = true
			case c == 0:
				st.nul = true
			case c >= 0x80:
				st.eightBit = true
			}
			lineLen++
			if lineLen > 998 {
				st.longLine = true
			}
			atLineStart = false
			prev = c
		}
		if st.validUTF8 && st.eightBit {
			data := append(carry, chunk...)
			cut := len(data)
			// Keep back a trailing incomplete sequence for the next chunk.
			for k := 1; k <= 3 && k <= len(data); k++ {
				if utf8.RuneStart(data[len(data)-k]) {
					if !utf8.FullRune(data[len(data)-k:]) {
						cut = len(data) - k
					}
					break
				}
			}
			if !utf8.Valid(data[:cut]) {
				st.validUTF8 = false
			}
			carry = append([]byte(nil), data[cut:]...)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return st, err
		}
	}
	if inDash {
		st.addDash(lineHead)
	}
	if prev == ' ' || prev == '\t' {
		st.trailingWS = true
	}
	if len(carry) > 0 {
		st.validUTF8 = false
	}
	return st, nil
}

func (st *stats) addDash(line []byte) {
	if !bytes.HasPrefix(line, []byte("--"+boundaryPrefix)) {
		return
	}
	if len(st.dashLines) >= maxDashLines {
		st.manyDash = true
		return
	}
	st.dashLines = append(st.dashLines, bytes.Clone(line))
}

// clashes reports whether a delimiter line "--boundary" could be found
// in content with these stats.
func (st *stats) clashes(boundary string) bool {
	d := []byte("--" + boundary)
	for _, l := range st.dashLines {
		if bytes.HasPrefix(l, d) {
			return true
		}
	}
	return st.manyDash // too many candidates kept to be sure: assume the worst
}

// contentType picks the media type of a file: from its extension via the
// system's mime.types (mime.TypeByExtension reads /etc/mime.types and
// friends), else by sniffing its first 512 bytes (the WHATWG algorithm
// of http.DetectContentType). Parameters are dropped; the charset is
// decided from the content.
func contentType(name string, head []byte) string {
	if ext := filepath.Ext(name); ext != "" {
		if t := mime.TypeByExtension(strings.ToLower(ext)); t != "" {
			if mt, _, err := mime.ParseMediaType(t); err == nil {
				return mt
			}
		}
	}
	mt, _, err := mime.ParseMediaType(http.DetectContentType(head))
	if err != nil {
		return "application/octet-stream"
	}
	return mt
}

// isText tells whether a media type is sent as text (with a charset and
// line-oriented encodings) rather than as binary.
func isText(mt string) bool {
	if strings.HasPrefix(mt, "text/") {
		return true
	}
	switch mt {
	case "application/json", "application/xml", "application/javascript",
		"application/x-sh", "application/x-shellscript", "image/svg+xml":
		return true
	}
	return false
}
