package smtp

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Command is one parsed command line: the verb in upper case and its
// argument, with the single separating space removed.
type Command struct {
	Verb string
	Arg  string
}

// ParseCommand splits a command line (without its CRLF). Verbs are
// case-insensitive (RFC 5321 §2.4). A line with a control character other
// than TAB, with invalid UTF-8, or without a verb is a syntax error; the
// caller answers it with the returned *Error.
func ParseCommand(line []byte) (Command, error) {
	for _, c := range line {
		if c < ' ' && c != '\t' || c == 0x7f {
			return Command{}, Errorf(500, "5.5.2", "Syntax error: bad character in command")
		}
	}
	if !utf8.Valid(line) {
		return Command{}, Errorf(500, "5.5.2", "Syntax error: invalid UTF-8 in command")
	}
	s := string(line)
	verb, arg, _ := strings.Cut(s, " ")
	if verb == "" || len(verb) > 16 {
		return Command{}, Errorf(500, "5.5.2", "Syntax error: command unrecognized")
	}
	for i := 0; i < len(verb); i++ {
		c := verb[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return Command{}, Errorf(500, "5.5.2", "Syntax error: command unrecognized")
		}
	}
	// QUIRK: trailing white space after the argument is tolerated; many
	// clients send "RSET " or "QUIT ".
	return Command{Verb: strings.ToUpper(verb), Arg: strings.TrimRight(arg, " \t")}, nil
}

// Param is one ESMTP parameter (RFC 5321 §4.1.2 esmtp-param): a keyword,
// in upper case, and its value ("" when it has none).
type Param struct {
	Key   string
	Value string
}

// ParsePathArg parses the argument of MAIL ("FROM:") or RCPT ("TO:"): the
// keyword, the path and any ESMTP parameters.
func ParsePathArg(arg, keyword string) (Path, []Param, error) {
	syntax := Errorf(501, "5.5.4", "Syntax: %s:<address> [parameters]", keyword)
	if len(arg) < len(keyword)+1 || !strings.EqualFold(arg[:len(keyword)], keyword) || arg[len(keyword)] != ':' {
		return Path{}, nil, syntax
	}
	s := arg[len(keyword)+1:]
	// QUIRK: spaces between the colon and the path ("MAIL FROM: <a@b>")
	// are not in RFC 5321's grammar but are sent by many clients.
	s = strings.TrimLeft(s, " ")
	var inside, rest string
	if strings.HasPrefix(s, "<") {
		end := closingBracket(s)
		if end < 0 {
			return Path{}, nil, syntax
		}
		inside, rest = s[1:end], s[end+1:]
	} else {
		// QUIRK: a path without angle brackets ("RCPT TO:Brown@foo.com",
		// as RFC 821-era clients and the seed dialogue send it) is
		// accepted; it ends at the first space.
		inside, rest, _ = strings.Cut(s, " ")
		if rest != "" || strings.HasSuffix(s, " ") {
			rest = " " + rest
		}
		if inside == "" {
			return Path{}, nil, syntax
		}
	}
	p, err := ParsePath(inside)
	if err != nil {
		return Path{}, nil, err
	}
	params, err := parseParams(rest)
	if err != nil {
		return Path{}, nil, err
	}
	return p, params, nil
}

// closingBracket finds the '>' that closes the path at s[0], skipping
// quoted strings and quoted pairs; -1 when there is none.
func closingBracket(s string) int {
	quoted := false
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case c == '>' && !quoted:
			return i
		}
	}
	return -1
}

// parseParams reads *( SP esmtp-param ) (RFC 5321 §4.1.2).
func parseParams(s string) ([]Param, error) {
	if s == "" {
		return nil, nil
	}
	if s[0] != ' ' {
		return nil, Errorf(501, "5.5.4", "Syntax error after the address")
	}
	var out []Param
	for _, f := range strings.Fields(s) {
		k, v, hasValue := strings.Cut(f, "=")
		if k == "" || (hasValue && v == "") {
			return nil, Errorf(501, "5.5.4", "Bad ESMTP parameter")
		}
		for i := 0; i < len(k); i++ {
			c := k[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return nil, Errorf(501, "5.5.4", "Bad ESMTP parameter keyword")
			}
		}
		for i := 0; i < len(v); i++ {
			// esmtp-value = 1*(%d33-60 / %d62-126), UTF-8 allowed by RFC 6531 §3.3
			if v[i] < 33 || v[i] == '=' || v[i] == 127 {
				return nil, Errorf(501, "5.5.4", "Bad ESMTP parameter value")
			}
		}
		if len(out) >= 16 {
			return nil, Errorf(501, "5.5.4", "Too many ESMTP parameters")
		}
		out = append(out, Param{Key: strings.ToUpper(k), Value: v})
	}
	return out, nil
}

// MailParams are the MAIL parameters the server understands.
type MailParams struct {
	Size     int64  // SIZE=, RFC 1870; 0 when not given
	Body     string // BODY=7BIT or 8BITMIME, RFC 6152
	SMTPUTF8 bool   // RFC 6531
	Ret      string // DSN RET=FULL or HDRS, RFC 3461 §4.3
	EnvID    string // DSN ENVID= (xtext, kept encoded), RFC 3461 §4.4
	Auth     string // AUTH= (RFC 4954 §5), kept for the record only
}

// RcptParams are the RCPT parameters the server understands.
type RcptParams struct {
	Notify string // DSN NOTIFY=, RFC 3461 §4.1 (e.g. "SUCCESS,FAILURE")
	ORcpt  string // DSN ORCPT= (addr-type;xtext), RFC 3461 §4.2
}

func errUnknownParam(k string) error {
	return Errorf(555, "5.5.4", "Unsupported parameter %s", sanitize(k, 32))
}

// ParseMailParams interprets MAIL parameters (unknown ones: 555 5.5.4).
func ParseMailParams(ps []Param) (MailParams, error) {
	var m MailParams
	seen := map[string]bool{}
	for _, p := range ps {
		if seen[p.Key] {
			return m, Errorf(501, "5.5.4", "Duplicate parameter %s", p.Key)
		}
		seen[p.Key] = true
		switch p.Key {
		case "SIZE":
			n, err := strconv.ParseInt(p.Value, 10, 64)
			if err != nil || n < 0 {
				return m, Errorf(501, "5.5.4", "Bad SIZE value")
			}
			m.Size = n
		case "BODY":
			switch v := strings.ToUpper(p.Value); v {
			case "7BIT", "8BITMIME":
				m.Body = v
			default:
				return m, Errorf(555, "5.5.4", "Unsupported BODY type")
			}
		case "SMTPUTF8":
			if p.Value != "" {
				return m, Errorf(501, "5.5.4", "SMTPUTF8 takes no value")
			}
			m.SMTPUTF8 = true
		case "RET":
			switch v := strings.ToUpper(p.Value); v {
			case "FULL", "HDRS":
				m.Ret = v
			default:
				return m, Errorf(501, "5.5.4", "Bad RET value")
			}
		case "ENVID":
			if !validXtext(p.Value) || len(p.Value) > 100 {
				return m, Errorf(501, "5.5.4", "Bad ENVID value")
			}
			m.EnvID = p.Value
		case "AUTH":
			m.Auth = p.Value
		default:
			return m, errUnknownParam(p.Key)
		}
	}
	return m, nil
}

// ParseRcptParams interprets RCPT parameters (unknown ones: 555 5.5.4).
func ParseRcptParams(ps []Param) (RcptParams, error) {
	var r RcptParams
	seen := map[string]bool{}
	for _, p := range ps {
		if seen[p.Key] {
			return r, Errorf(501, "5.5.4", "Duplicate parameter %s", p.Key)
		}
		seen[p.Key] = true
		switch p.Key {
		case "NOTIFY":
			v := strings.ToUpper(p.Value)
			if v != "NEVER" {
				for _, w := range strings.Split(v, ",") {
					if w != "SUCCESS" && w != "FAILURE" && w != "DELAY" {
						return r, Errorf(501, "5.5.4", "Bad NOTIFY value")
					}
				}
			}
			r.Notify = v
		case "ORCPT":
			typ, addr, ok := strings.Cut(p.Value, ";")
			if !ok || typ == "" || !validXtext(addr) || len(p.Value) > 500 {
				return r, Errorf(501, "5.5.4", "Bad ORCPT value")
			}
			r.ORcpt = p.Value
		default:
			return r, errUnknownParam(p.Key)
		}
	}
	return r, nil
}

// validXtext checks RFC 3461 §4 xtext: printable ASCII except '+' and
// '=', and "+XX" hex escapes. UTF-8 is tolerated (RFC 6533 utf-8-addr).
func validXtext(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '+':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return false
			}
			i += 2
		case c == '=' || c < 33 || c == 127:
			return false
		}
	}
	return true
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'A' && c <= 'F'
}

// sanitize makes client-supplied text safe for a header or a log line:
// printable ASCII and valid UTF-8 letters only (others become '?'), at
// most max octets.
func sanitize(s string, max int) string {
	var b strings.Builder
	for _, r := range s {
		if b.Len() >= max {
			break
		}
		if r < ' ' || r == 0x7f || r == utf8.RuneError || r >= 0x80 && r < 0xa0 {
			b.WriteByte('?')
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
