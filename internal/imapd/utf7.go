package imapd

import (
	"encoding/base64"
	"errors"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Modified UTF-7 (RFC 3501 §5.1.3) is how IMAP4rev1 clients spell
// non-ASCII mailbox names, and how Dovecot and Courier store Maildir++
// folder names on disk. imapd keeps that on-disk spelling so that the same
// Maildir shows the same folder names under either server.

var mutf7 = base64.NewEncoding("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,").WithPadding(base64.NoPadding)

var errUTF7 = errors.New("malformed modified UTF-7")

// encodeUTF7 spells a UTF-8 string in modified UTF-7.
func encodeUTF7(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c <= 0x7e {
			if c == '&' {
				b.WriteString("&-")
			} else {
				b.WriteByte(c)
			}
			i++
			continue
		}
		// A run of characters outside printable ASCII.
		j := i
		var u []uint16
		for j < len(s) && (s[j] < 0x20 || s[j] > 0x7e) {
			r, n := utf8.DecodeRuneInString(s[j:])
			j += n
			u = utf16.AppendRune(u, r)
		}
		raw := make([]byte, 0, 2*len(u))
		for _, x := range u {
			raw = append(raw, byte(x>>8), byte(x))
		}
		b.WriteByte('&')
		b.WriteString(mutf7.EncodeToString(raw))
		b.WriteByte('-')
		i = j
	}
	return b.String()
}

// decodeUTF7 turns modified UTF-7 into UTF-8 and refuses every malformed
// form RFC 3501 §5.1.3 rules out: raw 8-bit or control bytes, an
// unterminated shift, a shift that encodes printable ASCII, two shifts in
// a row, bad base64 or UTF-16.
func decodeUTF7(s string) (string, error) {
	var b strings.Builder
	prevShift := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e {
			return "", errUTF7
		}
		if c != '&' {
			b.WriteByte(c)
			prevShift = false
			continue
		}
		end := strings.IndexByte(s[i+1:], '-')
		if end < 0 {
			return "", errUTF7
		}
		enc := s[i+1 : i+1+end]
		i += end + 1
		if enc == "" {
			b.WriteByte('&')
			prevShift = false
			continue
		}
		if prevShift {
			return "", errUTF7
		}
		raw, err := mutf7.DecodeString(enc)
		if err != nil || len(raw)%2 != 0 || len(raw) == 0 || mutf7.EncodeToString(raw) != enc {
			return "", errUTF7
		}
		u := make([]uint16, len(raw)/2)
		for k := range u {
			u[k] = uint16(raw[2*k])<<8 | uint16(raw[2*k+1])
		}
		for k := 0; k < len(u); k++ {
			r := rune(u[k])
			if utf16.IsSurrogate(r) {
				if k+1 >= len(u) {
					return "", errUTF7
				}
				r = utf16.DecodeRune(r, rune(u[k+1]))
				if r == utf8.RuneError {
					return "", errUTF7
				}
				k++
			} else if r >= 0x20 && r <= 0x7e {
				return "", errUTF7
			}
			b.WriteRune(r)
		}
		prevShift = true
	}
	return b.String(), nil
}
