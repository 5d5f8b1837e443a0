// Package pop3 is the protocol core of the POP3 server: RFC 1939 (the
// three states, USER/PASS, STAT, LIST, RETR, DELE, NOOP, RSET, QUIT,
// TOP, UIDL), the obsolete LAST of RFC 1460, CAPA and extended response
// codes (RFC 2449), AUTH PLAIN (RFC 5034) and STLS (RFC 2595).
//
// The package is pure: a Session turns one command line into a Response
// and never touches a connection. Response.WriteTo renders a response,
// byte-stuffing multi-line bodies and turning LF line ends into CRLF.
// Reading lines, deadlines, TLS and the Maildir live in the driver
// (internal/pop3d); the mailbox is reached only through the Maildrop and
// Authenticator interfaces below, so tests drive a Session with fakes.
package pop3

import (
	"context"
	"errors"
	"io"
)

// Line limits. RFC 2449 §4 raises the command length to 255 octets
// including CRLF; RFC 5034 §4 keeps AUTH's initial response inside that,
// but a SASL continuation line may be longer.
const (
	// MaxCommand bounds a command line, not counting its CRLF.
	// QUIRK: RFC 2449 §4 counts the CRLF in the 255 octets; we accept two
	// more octets rather than refuse a client that counted differently.
	MaxCommand = 255
	// MaxSASL bounds one base64 SASL response line (RFC 5034 §4).
	MaxSASL = 4096
)

// Extended response codes (RFC 2449 §8, RFC 3206).
const (
	CodeInUse      = "IN-USE"      // the maildrop is locked by another session
	CodeLoginDelay = "LOGIN-DELAY" // logged in too recently
	CodeSysTemp    = "SYS/TEMP"    // a temporary system problem; try again later
	CodeSysPerm    = "SYS/PERM"    // a permanent system problem; don't retry
	CodeAuth       = "AUTH"        // the credentials are wrong (RFC 3206 §4)
)

// Error is an error with the response code it is answered with. An
// Authenticator or Maildrop returns one to choose the code and text a
// client sees; any other error is answered as [SYS/TEMP] with a generic
// text (the details go to the log, never to the client).
type Error struct {
	Code string // one of the Code constants, or "" for none
	Text string // shown to the client; no CR or LF
	Err  error  // the underlying cause, for logs and errors.Is
}

func (e *Error) Error() string {
	s := e.Text
	if e.Code != "" {
		s = "[" + e.Code + "] " + s
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Sentinel errors an Authenticator or Maildrop may return (wrapped or not).
var (
	// ErrAuth means the user name or password is wrong. It is answered
	// "-ERR [AUTH] ..." and counts as a failed login.
	ErrAuth = errors.New("authentication failed")
	// ErrInUse means another session holds the maildrop (RFC 2449 §8.1.1).
	ErrInUse = errors.New("maildrop is in use")
	// ErrGone means a listed message was removed by another process since
	// the snapshot was taken. RETR/TOP of it is answered with -ERR; the
	// rest of the session is unaffected.
	ErrGone = errors.New("message is gone")
)

// MessageInfo describes one message of the snapshot taken at login.
type MessageInfo struct {
	UID  string // unique id for UIDL: printable, no spaces (escaped if not)
	Size int64  // exact size in octets as sent by RETR (CRLF line ends)
	Seen bool   // retrieved in an earlier session (counts for LAST)
}

// Maildrop is one user's mailbox for the length of a session. Message
// numbers on the wire start at 1; the index i given to the methods here
// starts at 0.
type Maildrop interface {
	// Messages returns the snapshot, in delivery order. It is called once
	// after login; the list must not change during the session (RFC 1939
	// §5: message numbers are fixed).
	Messages() []MessageInfo
	// Open returns the content of message i as stored, with LF or CRLF
	// line ends. It returns ErrGone if the message has been removed.
	Open(i int) (io.ReadCloser, error)
	// Commit is the UPDATE state (RFC 1939 §6): remove the deleted
	// messages and mark the retrieved ones seen. A message already gone
	// is not an error. It is called at most once, at QUIT.
	Commit(deleted, retrieved []int) error
	// Close releases the maildrop (its lock). It is always called once,
	// last, whether or not Commit was.
	Close() error
}

// Authenticator checks credentials and opens the user's maildrop.
type Authenticator interface {
	// Login returns the maildrop of user if password is right. Wrong
	// credentials are ErrAuth; a locked maildrop is ErrInUse; an *Error
	// chooses its own response code.
	Login(ctx context.Context, user, password string) (Maildrop, error)
}

// AuthenticatorFunc adapts a function to the Authenticator interface.
type AuthenticatorFunc func(ctx context.Context, user, password string) (Maildrop, error)

// Login calls f.
func (f AuthenticatorFunc) Login(ctx context.Context, user, password string) (Maildrop, error) {
	return f(ctx, user, password)
}
