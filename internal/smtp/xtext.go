package smtp

import (
	"fmt"
	"strconv"
	"strings"
)

// DecodeXtext decodes the xtext of RFC 3461 §4 (ENVID, the address in
// ORCPT): "+XX" stands for the octet with hex value XX, every other
// character for itself. Malformed escapes are an error.
func DecodeXtext(s string) (string, error) {
	if !strings.Contains(s, "+") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '+' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", fmt.Errorf("xtext: truncated escape at offset %d", i)
		}
		v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
		if err != nil || s[i+1] >= 'a' || s[i+2] >= 'a' {
			return "", fmt.Errorf("xtext: bad escape %q at offset %d", s[i:i+3], i)
		}
		b.WriteByte(byte(v))
		i += 2
	}
	return b.String(), nil
}

// EncodeXtext encodes s as RFC 3461 §4 xtext: '+', '=', and octets
// outside "!" to "~" become "+XX".
func EncodeXtext(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '!' || c > '~' || c == '+' || c == '=' {
			fmt.Fprintf(&b, "+%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
