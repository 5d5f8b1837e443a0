package smtp

import (
	"net/netip"
	"strings"
	"unicode/utf8"
)

// Limits from RFC 5321 §4.5.3.1.
const (
	MaxLocalPart = 64  // §4.5.3.1.1
	MaxDomain    = 255 // §4.5.3.1.2
	MaxPath      = 256 // §4.5.3.1.3, including the angle brackets
)

// Path is a reverse-path or forward-path (RFC 5321 §4.1.2).
type Path struct {
	// Route holds the domains of an obsolete source route
	// ("<@a,@b:user@c>"). It is accepted and ignored, as RFC 5321 §3.6.1
	// and Appendix C require of a receiver; it never changes where mail goes.
	Route []string
	// Local is the local part, unquoted: `"a b"@x` gives `a b`.
	Local string
	// Domain is the domain as written, without a trailing dot, or an
	// address literal with its brackets ("[192.0.2.1]"). Empty for the
	// null path and for the bare "<Postmaster>" recipient.
	Domain string
	// Null is the null reverse-path "<>" (RFC 5321 §4.5.5).
	Null bool
}

// Addr returns the mailbox as "local@domain", quoting the local part when
// it is not a dot-string; "" for the null path.
func (p Path) Addr() string {
	if p.Null {
		return ""
	}
	l := p.Local
	if !isDotString(l) {
		l = quoteLocal(l)
	}
	if p.Domain == "" {
		return l
	}
	return l + "@" + p.Domain
}

// String returns the path in angle brackets, without the source route.
func (p Path) String() string { return "<" + p.Addr() + ">" }

// IsPostmaster reports the special recipient "<Postmaster>" without a
// domain, which every SMTP server must accept (RFC 5321 §4.5.1).
func (p Path) IsPostmaster() bool {
	return p.Domain == "" && !p.Null && strings.EqualFold(p.Local, "postmaster")
}

// IsLiteral reports whether the domain is an address literal.
func (p Path) IsLiteral() bool { return strings.HasPrefix(p.Domain, "[") }

// ParsePath parses the inside of the angle brackets of a path: "" (the
// null path), "user@domain", "@route,@route:user@domain", or a bare
// "Postmaster". Errors are *Error replies (501 5.1.3 and friends).
func ParsePath(s string) (Path, error) {
	var p Path
	if len(s)+2 > MaxPath {
		return p, Errorf(501, "5.1.3", "Path too long (RFC 5321 §4.5.3.1.3)")
	}
	if s == "" {
		p.Null = true
		return p, nil
	}
	if s[0] == '@' {
		// A-d-l ":" Mailbox; A-d-l = At-domain *( "," At-domain )
		colon := strings.IndexByte(s, ':')
		if colon < 0 {
			return p, Errorf(501, "5.1.3", "Bad source route")
		}
		for _, ad := range strings.Split(s[:colon], ",") {
			if len(ad) < 2 || ad[0] != '@' || !validDomain(ad[1:]) {
				return p, Errorf(501, "5.1.3", "Bad source route")
			}
			p.Route = append(p.Route, ad[1:])
		}
		s = s[colon+1:]
	}
	local, rest, err := parseLocal(s)
	if err != nil {
		return p, err
	}
	p.Local = local
	if rest == "" {
		if strings.EqualFold(local, "postmaster") && p.Route == nil {
			return p, nil
		}
		return p, Errorf(501, "5.1.3", "Address must have a domain: user@domain")
	}
	if rest[0] != '@' {
		return p, Errorf(501, "5.1.3", "Bad address syntax")
	}
	dom := rest[1:]
	if strings.HasPrefix(dom, "[") {
		if !validLiteral(dom) {
			return p, Errorf(501, "5.1.3", "Bad address literal")
		}
	} else {
		// QUIRK: a trailing dot (the DNS absolute form) is accepted and
		// removed, so "user@example.com." is the same mailbox as
		// "user@example.com" for every later decision (relaying included).
		dom = strings.TrimSuffix(dom, ".")
		if !validDomain(dom) {
			return p, Errorf(501, "5.1.3", "Bad domain name")
		}
	}
	p.Domain = dom
	return p, nil
}

// parseLocal reads a Dot-string or Quoted-string local part (RFC 5321
// §4.1.2) and returns it unquoted with the rest of s.
func parseLocal(s string) (local, rest string, err error) {
	if strings.HasPrefix(s, `"`) {
		var b strings.Builder
		for i := 1; i < len(s); i++ {
			c := s[i]
			switch {
			case c == '\\':
				// quoted-pairSMTP = %d92 %d32-126
				if i+1 >= len(s) || s[i+1] < 32 || s[i+1] > 126 {
					return "", "", Errorf(501, "5.1.3", "Bad quoted local part")
				}
				i++
				b.WriteByte(s[i])
			case c == '"':
				if b.Len() > MaxLocalPart {
					return "", "", Errorf(501, "5.1.3", "Local part too long")
				}
				return b.String(), s[i+1:], nil
			case c >= 32 && c <= 126 || c >= 0x80:
				b.WriteByte(c)
			default:
				return "", "", Errorf(501, "5.1.3", "Bad character in local part")
			}
		}
		return "", "", Errorf(501, "5.1.3", "Unterminated quoted local part")
	}
	end := strings.LastIndexByte(s, '@')
	if end < 0 {
		end = len(s)
	}
	local = s[:end]
	if !isDotString(local) {
		return "", "", Errorf(501, "5.1.3", "Bad local part")
	}
	if len(local) > MaxLocalPart {
		return "", "", Errorf(501, "5.1.3", "Local part too long (RFC 5321 §4.5.3.1.1)")
	}
	return local, s[end:], nil
}

// isAtext reports an atext character (RFC 5322 §3.2.3), extended to UTF-8
// by RFC 6531 §3.3.
func isAtext(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	case c >= 0x80:
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

// isDotString reports Atom *("." Atom), valid UTF-8.
func isDotString(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") || !utf8.ValidString(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '.' && !isAtext(s[i]) {
			return false
		}
	}
	return true
}

func quoteLocal(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}

// validDomain checks sub-domain *("." sub-domain) (RFC 5321 §4.1.2), with
// U-labels allowed (RFC 6531 §3.3).
func validDomain(d string) bool {
	if d == "" || len(d) > MaxDomain || !utf8.ValidString(d) {
		return false
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			// QUIRK: '_' is not in the grammar but appears in real host
			// names; accepting it harms nothing.
			ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
				c == '-' || c == '_' || c >= 0x80
			if !ok {
				return false
			}
		}
	}
	return true
}

// validLiteral checks "[" ( IPv4 / "IPv6:" IPv6 / tag ":" text ) "]"
// (RFC 5321 §4.1.3).
func validLiteral(s string) bool {
	if len(s) < 3 || s[0] != '[' || s[len(s)-1] != ']' {
		return false
	}
	in := s[1 : len(s)-1]
	if strings.HasPrefix(strings.ToLower(in), "ipv6:") {
		a, err := netip.ParseAddr(in[5:])
		return err == nil && a.Is6()
	}
	if a, err := netip.ParseAddr(in); err == nil {
		return a.Is4()
	}
	// General-address-literal: Standardized-tag ":" 1*dcontent
	colon := strings.IndexByte(in, ':')
	if colon <= 0 {
		return false
	}
	for i := colon + 1; i < len(in); i++ {
		if in[i] < 33 || in[i] > 126 || in[i] == '[' || in[i] == ']' || in[i] == '\\' {
			return false
		}
	}
	return colon+1 < len(in) && validDomain(in[:colon])
}
