package smtp

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Reply is one SMTP reply (RFC 5321 §4.2): a three-digit code, an
// enhanced status code (RFC 2034, RFC 3463; empty where RFC 2034 does not
// want one: the greeting, the answer to EHLO/HELO/LHLO, and 3xx
// intermediate replies) and one or more lines of text.
type Reply struct {
	Code     int
	Enhanced string
	Lines    []string
}

// R builds a Reply.
func R(code int, enhanced string, lines ...string) Reply {
	return Reply{Code: code, Enhanced: enhanced, Lines: lines}
}

// Temporary reports a 4xx reply.
func (r Reply) Temporary() bool { return r.Code/100 == 4 }

// Positive reports a 2xx or 3xx reply.
func (r Reply) Positive() bool { return r.Code/100 == 2 || r.Code/100 == 3 }

// Append writes the reply in wire form to b: "250-..." continuation lines
// and a final "250 ..." line (RFC 5321 §4.2.1), every line CRLF-terminated
// and carrying the enhanced code. Text never contains CR or LF: they are
// replaced so that a reply can never be split by data we echo.
func (r Reply) Append(b []byte) []byte {
	lines := r.Lines
	if len(lines) == 0 {
		lines = []string{""}
	}
	for i, l := range lines {
		b = strconv.AppendInt(b, int64(r.Code), 10)
		if i < len(lines)-1 {
			b = append(b, '-')
		} else {
			b = append(b, ' ')
		}
		if r.Enhanced != "" {
			b = append(b, r.Enhanced...)
			if l != "" {
				b = append(b, ' ')
			}
		}
		b = appendSafe(b, l)
		b = append(b, '\r', '\n')
	}
	return b
}

// String is the wire form of the reply.
func (r Reply) String() string { return string(r.Append(nil)) }

// appendSafe appends s with control characters replaced by '?'.
func appendSafe(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < ' ' && c != '\t' || c == 0x7f {
			c = '?'
		}
		b = append(b, c)
	}
	return b
}

// Error is an error answered with a given reply. Backends return it to
// choose the reply; any other error is answered as a local error, 451
// 4.3.0 (see ReplyOf).
type Error struct {
	Code     int
	Enhanced string
	Text     string
}

// Errorf returns an *Error with a formatted text.
func Errorf(code int, enhanced, format string, args ...any) *Error {
	return &Error{Code: code, Enhanced: enhanced, Text: fmt.Sprintf(format, args...)}
}

func (e *Error) Error() string {
	return fmt.Sprintf("%d %s %s", e.Code, e.Enhanced, e.Text)
}

// Temporary reports a 4xx error: the client should try again later.
func (e *Error) Temporary() bool { return e.Code/100 == 4 }

// Reply returns the reply for e. Multi-line text ("\n"-separated) gives a
// multi-line reply.
func (e *Error) Reply() Reply {
	return Reply{Code: e.Code, Enhanced: e.Enhanced, Lines: strings.Split(e.Text, "\n")}
}

// ErrAuthFailed is returned by Backend.Auth for a wrong user name or
// password: 535 5.7.8 (RFC 4954 §6).
var ErrAuthFailed = &Error{Code: 535, Enhanced: "5.7.8", Text: "Authentication credentials invalid"}

// ReplyOf maps an error to its reply, in one place: an *Error anywhere in
// the chain gives its own reply; anything else is a local error.
func ReplyOf(err error) Reply {
	var e *Error
	if errors.As(err, &e) {
		return e.Reply()
	}
	return R(451, "4.3.0", "Requested action aborted: local error in processing")
}
