package mimepack

import (
	"fmt"
	"mime"
	"net/mail"
	"strings"
	"unicode/utf8"
)

// maxLine is the line length header folding aims at (RFC 5322 §2.1.1:
// "SHOULD be no more than 78 characters"; we keep MIME's 76).
const maxLine = 76

// isPrintableASCII reports whether s needs no RFC 2047 encoding.
func isPrintableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// encodeText encodes an unstructured header value (RFC 2047 §5 (1)) as
// UTF-8 "Q" encoded-words when it is not plain ASCII; fold then puts the
// words on lines.
func encodeText(s string) string {
	if isPrintableASCII(s) {
		return s
	}
	return strings.Join(encodeWords(mime.QEncoding, s), " ")
}

// maxWord is the length of the encoded-words we make: RFC 2047 §2 allows
// 75, but a word must also fit on a line after "Subject: " or " name=\"".
const maxWord = 62

// encodeWords encodes s as encoded-words of at most maxWord characters,
// never splitting a multi-byte character (RFC 2047 §5), by growing each
// word one character at a time. White space is encoded inside the words,
// so the spaces that separate them are not part of the text (§6.2).
func encodeWords(enc mime.WordEncoder, s string) []string {
	var words []string
	start, last := 0, ""
	for i, r := range s {
		end := i + utf8.RuneLen(r)
		w := enc.Encode("utf-8", s[start:end])
		if len(w) > maxWord && last != "" {
			words = append(words, last)
			start = i
			w = enc.Encode("utf-8", s[start:end])
		}
		last = w
	}
	if last != "" {
		words = append(words, last)
	}
	return words
}

// fold writes "Name: value" folded at white space so lines stay within
// maxLine where the value allows (RFC 5322 §2.2.3), ending in "\n".
// Folding never happens inside a word, so encoded-words stay whole.
func fold(name, value string) string {
	var b strings.Builder
	b.WriteString(name)
	b.WriteString(":")
	col := len(name) + 1
	for i, word := range strings.Split(value, " ") {
		if word == "" && i > 0 {
			continue
		}
		if col+1+len(word) > maxLine && col > len(name)+1 {
			b.WriteString("\n")
			col = 0
		}
		b.WriteString(" ")
		b.WriteString(word)
		col += 1 + len(word)
	}
	b.WriteString("\n")
	return b.String()
}

// foldList writes an address list header, one line per address when
// the whole list does not fit on one line.
func foldList(name string, items []string) string {
	one := name + ": " + strings.Join(items, ", ")
	if len(one) <= maxLine {
		return one + "\n"
	}
	return name + ": " + strings.Join(items, ",\n ") + "\n"
}

// addressList parses addresses given on the command line (RFC 5322
// §3.4) and formats them, with RFC 2047 display names where needed.
func addressList(opt string, values []string) ([]string, error) {
	var out []string
	for _, v := range values {
		if strings.ContainsAny(v, "\r\n") {
			return nil, fmt.Errorf("--%s: line break in address", opt)
		}
		list, err := mail.ParseAddressList(v)
		if err != nil {
			return nil, fmt.Errorf("--%s %q: %v", opt, v, err)
		}
		for _, a := range list {
			if a.Name == "" {
				out = append(out, a.Address) // not "<a@b>"
			} else {
				out = append(out, a.String())
			}
		}
	}
	return out, nil
}

// extraHeader checks a -H 'Name: value' argument and returns it folded.
func extraHeader(h string) (string, error) {
	name, value, ok := strings.Cut(h, ":")
	if !ok || name == "" {
		return "", fmt.Errorf("-H %q: not of the form 'Name: value'", h)
	}
	for i := 0; i < len(name); i++ {
		// RFC 5322 §2.2: printable ASCII except colon.
		if name[i] < 33 || name[i] > 126 {
			return "", fmt.Errorf("-H %q: invalid character in field name", h)
		}
	}
	if strings.ContainsAny(value, "\r\n\x00") {
		return "", fmt.Errorf("-H %q: line break or NUL in value", h)
	}
	switch strings.ToLower(name) {
	case "mime-version", "content-type", "content-transfer-encoding":
		return "", fmt.Errorf("-H %q: mimepack writes %s itself", h, name)
	}
	return fold(name, encodeText(strings.TrimSpace(value))), nil
}

// quoteParam returns a MIME parameter value (RFC 2045 §5.1), quoted
// when it is not a token.
func quoteParam(v string) string {
	token := v != ""
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?=`, c) >= 0 {
			token = false
			break
		}
	}
	if token {
		return v
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return `"` + r.Replace(v) + `"`
}

// rfc2231 returns the parameter name*=UTF-8 (two single quotes) value with percent
// encoding (RFC 2231 §4), split into numbered continuations (§3) when
// long, each piece joined by ";\n " so every line stays short.
func rfc2231(param, value string) string {
	var enc strings.Builder
	for i := 0; i < len(value); i++ {
		c := value[i]
		if c > 0x20 && c < 0x7f && strings.IndexByte(`*'%()<>@,;:\"/[]?=`, c) < 0 {
			enc.WriteByte(c)
		} else {
			fmt.Fprintf(&enc, "%%%02X", c)
		}
	}
	s := enc.String()
	const piece = 50
	if len(param)+len(s) < piece {
		return param + "*=UTF-8''" + s
	}
	var parts []string
	for n := 0; len(s) > 0; n++ {
		cut := piece
		if cut > len(s) {
			cut = len(s)
		}
		// Never split a %XX escape.
		if i := strings.LastIndexByte(s[:cut], '%'); i >= 0 && i > cut-3 && cut < len(s) {
			cut = i
		}
		v := s[:cut]
		s = s[cut:]
		if n == 0 {
			v = "UTF-8''" + v
		}
		parts = append(parts, fmt.Sprintf("%s*%d*=%s", param, n, v))
	}
	return strings.Join(parts, ";\n ")
}

// fileParams returns the Content-Type name and Content-Disposition
// filename parameters for an attachment's file name.
//
// A non-ASCII name goes in Content-Disposition as filename*= (RFC 2231
// §4, with §3 continuations when long), which Thunderbird, Apple Mail,
// mutt, Gmail, Go and Python read. It is the only filename parameter:
// with a plain ASCII filename= beside it, Python's email (compat32) and
// other readers take the plain one. Content-Type carries name= as an
// RFC 2047 encoded-word for Outlook and older readers that look only
// there: RFC 2047 §5 does not allow encoded-words inside quoted strings,
// but this is what those readers understand and every reader tried
// accepts it.
func fileParams(name string) (ctName, cdFilename string) {
	if name == "" {
		return "", ""
	}
	if isPrintableASCII(name) {
		q := quoteParam(name)
		return "; name=" + q, "; filename=" + q
	}
	if !utf8.ValidString(name) {
		name = strings.ToValidUTF8(name, "_")
	}
	words := encodeWords(mime.BEncoding, name)
	return ";\n name=\"" + strings.Join(words, "\n ") + "\"", ";\n " + rfc2231("filename", name)
}
