package mimeenc

import (
	"bytes"
	stdbase64 "encoding/base64"
	"errors"
	"io"
	"strings"

	"github.com/emersion/go-message/charset"
)

// Unfold removes the line breaks of folded header lines (RFC 5322
// §2.2.3): a CR LF or LF followed by a space or tab. Other line breaks
// stay.
func Unfold(s string) string {
	if !strings.Contains(s, "\n") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '\n')
		if i < 0 || i+1 >= len(s) || (s[i+1] != ' ' && s[i+1] != '\t') {
			if i < 0 || i+1 >= len(s) {
				b.WriteString(s)
				return b.String()
			}
			b.WriteString(s[:i+1])
			s = s[i+1:]
			continue
		}
		j := i
		if j > 0 && s[j-1] == '\r' {
			j--
		}
		b.WriteString(s[:j])
		s = s[i+1:]
	}
}

// DecodeWords decodes every RFC 2047 encoded-word in s (one unfolded
// header value, or any text) to UTF-8, in any charset that
// github.com/emersion/go-message/charset knows. White space between two
// encoded-words is dropped (RFC 2047 §6.2), and adjacent words in the
// same charset are joined before conversion, so a character split
// across two words comes out whole (QUIRK: §5 forbids such words, some
// mailers write them).
//
// A word with an unknown charset or a malformed encoded text is a
// *SyntaxError (Line 1, Column its position from 1), or, when lenient,
// left as it is.
//
// QUIRK: encoded-words are recognised anywhere, not only where RFC 2047
// §5 allows them (inside quoted strings, touching other text), as
// encoding/mime's WordDecoder and most mail readers do.
func DecodeWords(s string, lenient bool) (string, error) {
	var b strings.Builder
	var pend []byte // decoded bytes of adjacent words in pendCS
	pendCS := ""
	flush := func() error {
		if pendCS == "" {
			return nil
		}
		u, err := toUTF8(pendCS, pend)
		if err != nil {
			return err
		}
		b.WriteString(u)
		pend, pendCS = pend[:0], ""
		return nil
	}
	rest := s
	for {
		i := strings.Index(rest, "=?")
		if i < 0 {
			break
		}
		w, ok := parseWord(rest[i:])
		if !ok {
			if err := flush(); err != nil {
				return "", err
			}
			b.WriteString(rest[:i+2])
			rest = rest[i+2:]
			continue
		}
		col := int64(len(s)-len(rest)+i) + 1
		data, err := w.decode()
		if err == nil && !knownCharset(w.charset) {
			err = lineError(1, col, "unknown charset %q", w.charset)
		}
		if err != nil {
			if se := (*SyntaxError)(nil); errors.As(err, &se) && se.Column == 0 {
				se.Line, se.Column = 1, col
			}
			if !lenient {
				return "", err
			}
			// QUIRK: lenient: the word stays as it is.
			if err := flush(); err != nil {
				return "", err
			}
			b.WriteString(rest[:i+len(w.raw)])
			rest = rest[i+len(w.raw):]
			continue
		}
		between := rest[:i]
		if pendCS != "" && strings.Trim(between, " \t\r\n") == "" {
			between = "" // §6.2: white space between encoded-words goes
		}
		if between != "" || !strings.EqualFold(pendCS, w.charset) {
			if err := flush(); err != nil {
				return "", err
			}
		}
		b.WriteString(between)
		pend = append(pend, data...)
		pendCS = w.charset
		rest = rest[i+len(w.raw):]
	}
	if err := flush(); err != nil {
		return "", err
	}
	b.WriteString(rest)
	return b.String(), nil
}

type encodedWord struct {
	raw, charset, text string
	enc                byte
}

// parseWord reads "=?charset?E?text?=" at the start of s (RFC 2047 §2):
// charset and text without white space or "?", E one of Q, B.
func parseWord(s string) (encodedWord, bool) {
	parts := strings.SplitN(s[2:], "?", 3)
	if len(parts) < 3 || parts[0] == "" || len(parts[1]) != 1 {
		return encodedWord{}, false
	}
	end := strings.Index(parts[2], "?=")
	if end < 0 {
		return encodedWord{}, false
	}
	w := encodedWord{charset: parts[0], text: parts[2][:end], enc: parts[1][0] &^ 0x20}
	if w.enc != 'Q' && w.enc != 'B' || strings.ContainsAny(w.charset, " \t\r\n()<>@,;:\"/[]?.=") ||
		strings.ContainsAny(w.text, " \t\r\n") {
		return encodedWord{}, false
	}
	// RFC 2231 §5: charset*language.
	if k := strings.IndexByte(w.charset, '*'); k >= 0 {
		w.charset = w.charset[:k]
	}
	w.raw = s[:2+len(parts[0])+1+1+1+end+2]
	return w, true
}

func (w encodedWord) decode() ([]byte, error) {
	if w.enc == 'B' {
		// QUIRK: missing padding is accepted; some mailers drop it.
		t := strings.TrimRight(w.text, "=")
		out, err := stdbase64.RawStdEncoding.DecodeString(t)
		if err != nil {
			return nil, &SyntaxError{Offset: -1, Msg: "malformed base64 in encoded-word"}
		}
		return out, nil
	}
	var out []byte
	t := w.text
	for i := 0; i < len(t); i++ {
		switch c := t[i]; c {
		case '_':
			out = append(out, ' ') // §4.2 (2)
		case '=':
			if i+2 >= len(t) || qpUnhex[t[i+1]]|qpUnhex[t[i+2]] >= 16 {
				return nil, &SyntaxError{Offset: -1, Msg: "malformed =XX in encoded-word"}
			}
			out = append(out, qpUnhex[t[i+1]]<<4|qpUnhex[t[i+2]])
			i += 2
		default:
			out = append(out, c)
		}
	}
	return out, nil
}

func knownCharset(cs string) bool {
	_, err := charset.Reader(cs, strings.NewReader(""))
	return err == nil || isUTF8(cs)
}

func isUTF8(cs string) bool {
	switch strings.ToLower(cs) {
	case "utf-8", "utf8", "us-ascii", "ascii":
		return true
	}
	return false
}

func toUTF8(cs string, b []byte) (string, error) {
	if isUTF8(cs) {
		return string(b), nil
	}
	r, err := charset.Reader(cs, bytes.NewReader(b))
	if err != nil {
		return "", err
	}
	out, err := io.ReadAll(r)
	return string(out), err
}
