package pop3

import (
	"errors"
	"strconv"
	"strings"
)

// Command is one parsed command line (RFC 1939 §3: a case-insensitive
// keyword, then arguments separated by spaces).
type Command struct {
	Verb string   // the keyword, upper-cased
	Args []string // the space-separated arguments
	// Rest is everything after the keyword and its one separating space,
	// unsplit: PASS takes it whole, because RFC 1939 §7 lets a password
	// hold spaces.
	Rest string
}

// Errors from ParseCommand.
var (
	ErrEmpty      = errors.New("empty command")
	ErrBadKeyword = errors.New("invalid command keyword")
	ErrControl    = errors.New("control character in command")
)

// maxKeyword bounds the keyword: RFC 1939 keywords are 3 or 4 letters and
// extensions (RFC 2449 §5) are longer only a little.
const maxKeyword = 16

// ParseCommand parses a command line without its CRLF.
//
// QUIRK: RFC 1939 §3 separates arguments by a single space; runs of
// spaces and trailing spaces are accepted (several clients send
// "STAT "), the way qmail-pop3d and Dovecot do. Control characters
// (including NUL, TAB and a bare CR) are refused anywhere in the line:
// no POP3 argument holds one, and a user name or password that did
// could end up in a log line.
func ParseCommand(line []byte) (Command, error) {
	for _, c := range line {
		if c < 0x20 || c == 0x7f {
			return Command{}, ErrControl
		}
	}
	s := string(line)
	if strings.TrimLeft(s, " ") == "" {
		return Command{}, ErrEmpty
	}
	verb, rest, _ := strings.Cut(s, " ")
	if verb == "" || len(verb) > maxKeyword {
		return Command{}, ErrBadKeyword
	}
	for i := 0; i < len(verb); i++ {
		c := verb[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return Command{}, ErrBadKeyword
		}
	}
	cmd := Command{Verb: strings.ToUpper(verb), Rest: rest}
	for _, a := range strings.Split(rest, " ") {
		if a != "" {
			cmd.Args = append(cmd.Args, a)
		}
	}
	return cmd, nil
}

// String formats cmd back into a canonical command line: the keyword and
// the arguments joined by single spaces.
func (c Command) String() string {
	if len(c.Args) == 0 {
		return c.Verb
	}
	return c.Verb + " " + strings.Join(c.Args, " ")
}

// maxDigits bounds a numeric argument: more than this cannot be a
// message number or line count we could use, and parsing stays cheap.
const maxDigits = 10

// errSyntax is a malformed numeric argument (not decimal digits).
var errSyntax = errors.New("invalid number")

// parseNumber parses a non-negative decimal argument. Only ASCII digits
// are accepted: no sign, no spaces, no hex. A valid but huge number is
// clamped to maxInt so that "RETR 99999999999" is "no such message"
// rather than a syntax error.
func parseNumber(s string) (int, error) {
	if s == "" {
		return 0, errSyntax
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, errSyntax
		}
	}
	s = strings.TrimLeft(s, "0")
	if s == "" {
		return 0, nil
	}
	if len(s) > maxDigits {
		return int(^uint(0) >> 1), nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, errSyntax
	}
	return n, nil
}
