package mimeenc

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/ianaindex"
)

// RFC 2047 §2: an encoded-word is at most 75 characters, and a header
// line holding one at most 76.
const (
	MaxWordLen = 75
	MaxLineLen = 76
)

// maxPlainWS is the longest run of white space left as it is between
// plain words; a longer one is encoded, so that no line grows past 76.
const maxPlainWS = 8

// WordOptions configure EncodeWords.
type WordOptions struct {
	// Encoding is 'Q' (RFC 2047 §4.2) or 'B' (§4.1).
	Encoding byte
	// Charset names the character set of the encoded text; the input
	// is UTF-8 and is converted to it. Empty means UTF-8.
	Charset string
	// Field, if set, is a header field name: the output starts with
	// "Field: " and its first line counts those characters.
	Field string
	// CRLF folds lines with CR LF instead of LF.
	CRLF bool
}

// EncodeWords encodes one header value (UTF-8 text without line breaks)
// for a header: the words that need it (non-ASCII, control characters,
// anything that looks like an encoded-word, overlong words) and the text
// between them become RFC 2047 encoded-words of at most 75 characters,
// never splitting a character; the rest stays readable. The result is
// folded (RFC 5322 §2.2.3) into lines of at most 76 characters.
func EncodeWords(text string, opt WordOptions) (string, error) {
	if opt.Encoding != 'Q' && opt.Encoding != 'B' {
		return "", fmt.Errorf("encoding %q: must be Q or B", opt.Encoding)
	}
	cs := opt.Charset
	if cs == "" {
		cs = "UTF-8"
	}
	enc, err := charsetEncoder(cs)
	if err != nil {
		return "", err
	}
	overhead := len("=?") + len(cs) + len("?Q?") + len("?=")
	if overhead+12 > MaxWordLen {
		return "", fmt.Errorf("charset name %q is too long for an encoded-word", cs)
	}
	if i := strings.IndexAny(text, "\r\n"); i >= 0 {
		return "", lineError(1, int64(i+1), "a header value cannot hold a line break")
	}
	if !utf8.ValidString(text) {
		for i, r := range text {
			if r == utf8.RuneError {
				return "", lineError(1, int64(i+1), "the text is not valid UTF-8")
			}
		}
	}
	f := folder{eol: "\n", enc: enc, cs: cs, q: opt.Encoding == 'Q', overhead: overhead}
	if opt.CRLF {
		f.eol = "\r\n"
	}
	if opt.Field != "" {
		f.b.WriteString(opt.Field + ":")
		f.ll = len(opt.Field) + 1
		text = " " + text
	}
	toks := tokenize(text)
	first, last := -1, -1
	for i, t := range toks {
		if t.needsEncoding() {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first < 0 {
		for _, t := range toks {
			f.plain(t)
		}
		return f.b.String(), nil
	}
	for _, t := range toks[:first] {
		f.plain(t)
	}
	// The span from the first to the last word that needs encoding is
	// encoded whole: white space between encoded-words is dropped by
	// decoders (RFC 2047 §6.2), so it must go inside them.
	sep := toks[first].ws
	var span strings.Builder
	if len(sep) > maxPlainWS || (first == 0 && opt.Field != "") {
		span.WriteString(sep[min(1, len(sep)):])
		sep = sep[:min(1, len(sep))]
	}
	span.WriteString(toks[first].word)
	for _, t := range toks[first+1 : last+1] {
		span.WriteString(t.ws + t.word)
	}
	if err := f.encoded(sep, span.String()); err != nil {
		return "", err
	}
	for _, t := range toks[last+1:] {
		f.plain(t)
	}
	return f.b.String(), nil
}

// token is a word and the white space before it.
type token struct{ ws, word string }

func tokenize(s string) []token {
	var toks []token
	for len(s) > 0 {
		i := 0
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		j := i
		for j < len(s) && s[j] != ' ' && s[j] != '\t' {
			j++
		}
		toks = append(toks, token{s[:i], s[i:j]})
		s = s[j:]
	}
	return toks
}

func (t token) needsEncoding() bool {
	if len(t.ws) > maxPlainWS || len(t.ws)+len(t.word) >= MaxLineLen {
		return true
	}
	for i := 0; i < len(t.word); i++ {
		if c := t.word[i]; c < ' ' || c > '~' {
			return true
		}
	}
	return strings.Contains(t.word, "=?") || strings.Contains(t.word, "?=")
}

// folder writes a header value, folding before white space when a line
// would pass MaxLineLen.
type folder struct {
	b        strings.Builder
	ll       int // characters on the current line
	eol      string
	enc      *encoding.Encoder // nil for UTF-8
	cs       string
	q        bool
	overhead int
}

func (f *folder) write(s string) {
	f.b.WriteString(s)
	f.ll += len(s)
}

func (f *folder) fold() {
	f.b.WriteString(f.eol)
	f.ll = 0
}

func (f *folder) plain(t token) {
	if f.ll > 0 && t.ws != "" && f.ll+len(t.ws)+len(t.word) > MaxLineLen {
		f.fold() // the white space starts the next line
	}
	f.write(t.ws + t.word)
}

// encoded writes span as encoded-words, the first after sep.
func (f *folder) encoded(sep, span string) error {
	for span != "" {
		if sep == "" && f.ll > 0 {
			sep = " "
		}
		avail := min(MaxWordLen, MaxLineLen-f.ll-len(sep))
		if avail < f.overhead+12 && f.ll > 0 {
			// Not room for a word with one character: fold. The
			// separator, white space, starts the next line.
			f.fold()
			if sep == "" {
				sep = " "
			}
			avail = min(MaxWordLen, MaxLineLen-len(sep))
		}
		word, rest, err := f.word(span, avail-f.overhead)
		if err != nil {
			return err
		}
		f.write(sep + word)
		span, sep = rest, " "
	}
	return nil
}

// word takes as many whole characters from s as fit in room encoded
// characters and returns them as one encoded-word.
func (f *folder) word(s string, room int) (word, rest string, err error) {
	var raw []byte
	n := 0 // encoded length of raw
	i := 0
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		b := []byte(s[i : i+size])
		if f.enc != nil {
			if b, err = f.enc.Bytes(b); err != nil {
				return "", "", lineError(1, int64(i+1), "%q cannot be written in %s", r, f.cs)
			}
		}
		var m int
		if f.q {
			m = n
			for _, c := range b {
				m += qWordLen(c)
			}
		} else {
			m = (len(raw) + len(b) + 2) / 3 * 4
		}
		if m > room && i > 0 {
			break
		}
		raw = append(raw, b...)
		n = m
		i += size
	}
	var w strings.Builder
	w.WriteString("=?" + f.cs + "?")
	if f.q {
		w.WriteString("Q?")
		const hex = "0123456789ABCDEF"
		for _, c := range raw {
			switch {
			case c == ' ':
				w.WriteByte('_')
			case qWordLen(c) == 1:
				w.WriteByte(c)
			default:
				w.WriteByte('=')
				w.WriteByte(hex[c>>4])
				w.WriteByte(hex[c&15])
			}
		}
	} else {
		w.WriteString("B?")
		enc := make([]byte, (len(raw)+2)/3*4)
		newB64Codec(true).encode(enc, raw)
		w.Write(enc)
	}
	w.WriteString("?=")
	return w.String(), s[i:], nil
}

// qWordLen is the length of c in a "Q" encoded-word. Only the characters
// RFC 2047 §5 (3) allows in a phrase stand for themselves, so the words
// are valid wherever they are put; space is "_" (§4.2 (2)).
func qWordLen(c byte) int {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
		c == '!', c == '*', c == '+', c == '-', c == '/', c == ' ':
		return 1
	}
	return 3
}

// charsetEncoder finds the encoder from UTF-8 to cs; nil means cs is
// UTF-8 itself.
func charsetEncoder(cs string) (*encoding.Encoder, error) {
	switch strings.ToLower(cs) {
	case "utf-8", "utf8":
		return nil, nil
	}
	e, err := ianaindex.MIME.Encoding(cs)
	if e == nil || err != nil {
		e, err = htmlindex.Get(cs)
	}
	if e == nil || err != nil {
		return nil, fmt.Errorf("unknown charset %q", cs)
	}
	return e.NewEncoder(), nil
}
