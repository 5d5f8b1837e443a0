package mx

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"golang.org/x/net/idna"
)

// Limits on domain names (RFC 1035 §2.3.4): 63 octets per label and 255
// octets on the wire, which leaves 253 characters in text form without the
// final dot.
const (
	maxLabel = 63
	maxName  = 253
)

// ErrAddressLiteral is returned by Normalize for "[192.0.2.1]" and bare IP
// addresses: they name a host directly (RFC 5321 §4.1.3) and have no MX.
var ErrAddressLiteral = errors.New("an address literal has no MX records (RFC 5321 §4.1.3)")

// Normalize turns a mail domain as a person or a message gives it into the
// lower-case A-label form that is looked up in the DNS, without the final
// dot. U-labels are converted to punycode (RFC 5890, UTS #46 with the
// STD3 host-name rules, which are those of RFC 5321 §4.1.2's sub-domain).
// It never consults a search list: a mail domain is always absolute.
func Normalize(domain string) (string, error) {
	s := strings.TrimSpace(domain)
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		return "", ErrAddressLiteral
	}
	s = strings.TrimSuffix(s, ".")
	if s == "" {
		return "", errors.New("empty domain")
	}
	if _, err := netip.ParseAddr(s); err == nil {
		return "", ErrAddressLiteral
	}
	a, err := idna.Lookup.ToASCII(s)
	if err != nil {
		return "", fmt.Errorf("invalid domain %q: %v", clip(domain), err)
	}
	a = strings.ToLower(a)
	if err := checkLength(a); err != nil {
		return "", fmt.Errorf("invalid domain %q: %v", clip(domain), err)
	}
	return a, nil
}

// checkLength enforces the RFC 1035 §2.3.4 size limits on a name in text
// form without its final dot.
func checkLength(s string) error {
	if len(s) > maxName {
		return fmt.Errorf("name longer than %d octets (RFC 1035 §2.3.4)", maxName)
	}
	for l := range strings.SplitSeq(s, ".") {
		if l == "" {
			return errors.New("empty label")
		}
		if len(l) > maxLabel {
			return fmt.Errorf("label longer than %d octets (RFC 1035 §2.3.4)", maxLabel)
		}
	}
	return nil
}

// isIPLiteral reports whether an MX target (text form, no final dot) is
// an IP address written as a name, which RFC 5321 §5.1 and RFC 1035
// §3.3.9 forbid: the exchange field is a host name.
func isIPLiteral(name string) bool {
	_, ok := literalAddr(name)
	return ok
}

// clip shortens hostile input before it is echoed in an error message.
func clip(s string) string {
	const max = 80
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}
