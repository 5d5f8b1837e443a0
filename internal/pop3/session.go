package pop3

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
)

// State is the RFC 1939 §3 session state.
type State int

// The three states of a POP3 session.
const (
	Authorization State = iota // before login
	Transaction                // logged in, the maildrop is locked
	Update                     // after QUIT: changes committed, closing
)

func (s State) String() string {
	switch s {
	case Authorization:
		return "AUTHORIZATION"
	case Transaction:
		return "TRANSACTION"
	default:
		return "UPDATE"
	}
}

// Options configure a Session. The zero value of each field is a safe
// default.
type Options struct {
	// Hostname is shown in the greeting and the sign-off.
	Hostname string
	// Auth checks logins and opens maildrops. Without one, every login
	// is refused.
	Auth Authenticator
	// Implementation is the CAPA IMPLEMENTATION value; "" omits it.
	Implementation string
	// CanStartTLS offers STLS (a certificate is configured and the
	// connection is not yet encrypted).
	CanStartTLS bool
	// Secure allows plaintext passwords (USER/PASS, AUTH PLAIN): the
	// connection is encrypted or comes from the local host. When false
	// CAPA does not offer them and they are refused with [AUTH].
	Secure bool
	// MaxErrors is the number of protocol errors (unknown commands, bad
	// syntax, over-long lines) after which the session is closed;
	// default 3.
	MaxErrors int
	// MaxAuthFailures is the number of failed logins after which the
	// session is closed; default 3.
	MaxAuthFailures int
	// Logger receives errors that clients see only as [SYS/TEMP].
	Logger *slog.Logger
}

// Stats summarises a session for the driver's log line.
type Stats struct {
	User      string
	Messages  int // in the snapshot
	Retrieved int // RETR commands that started sending a message
	Deleted   int // messages removed at QUIT
}

// Session is one POP3 session's state machine. Handle turns each command
// line into a Response; a Session does no I/O of its own besides calling
// its Authenticator and Maildrop. It is not safe for concurrent use.
type Session struct {
	opts  Options
	state State

	user        string // from USER, until PASS
	saslPending bool   // the next line is an AUTH PLAIN response

	md        Maildrop
	msgs      []MessageInfo
	deleted   []bool
	retrieved []bool
	last      int // LAST (RFC 1460): highest message number retrieved
	firstLast int // LAST at login, from the messages seen before

	errors, authFails int
	closed            bool
	stats             Stats
}

// NewSession returns a session in the AUTHORIZATION state.
func NewSession(opts Options) *Session {
	if opts.MaxErrors <= 0 {
		opts.MaxErrors = 3
	}
	if opts.MaxAuthFailures <= 0 {
		opts.MaxAuthFailures = 3
	}
	if opts.Hostname == "" {
		opts.Hostname = "localhost"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Session{opts: opts}
}

// NewPreauthSession returns a session already in the TRANSACTION state
// on md, for a connection authenticated by other means (an ssh tunnel, a
// local pipe), like IMAP's PREAUTH.
func NewPreauthSession(opts Options, user string, md Maildrop) *Session {
	s := NewSession(opts)
	s.enter(user, md)
	return s
}

// State returns the current state.
func (s *Session) State() State { return s.state }

// Stats returns the session's counters so far.
func (s *Session) Stats() Stats { return s.stats }

// WantSASL reports whether the next line is a SASL response rather than
// a command; the driver then reads it with the MaxSASL bound.
func (s *Session) WantSASL() bool { return s.saslPending }

// Greeting is the server's first line (RFC 1939 §4).
func (s *Session) Greeting() Response {
	return ok(s.opts.Hostname + " POP3 server ready")
}

// TLSStarted tells the session that the STLS handshake succeeded: the
// connection is now secure, and STLS is no longer offered (RFC 2595 §4).
func (s *Session) TLSStarted() {
	s.opts.CanStartTLS = false
	s.opts.Secure = true
	s.user = ""
}

// Timeout is the response sent before closing an idle connection
// (RFC 1939 §3 autologout timer). Nothing is deleted.
func (s *Session) Timeout() Response {
	r := fail("", "Autologout: idle for too long, closing connection")
	r.Close = true
	return r
}

// LineTooLong answers a line over the length bound (already discarded by
// the line reader, so the session is in sync). It is a protocol error.
func (s *Session) LineTooLong() Response {
	if s.saslPending {
		s.saslPending = false
		s.authFails++
	}
	return s.protocolError("Line too long")
}

// Close releases the maildrop without committing anything, as when the
// connection ends without QUIT (RFC 1939 §6: nothing is deleted). It is
// safe to call more than once.
func (s *Session) Close() error {
	if s.closed || s.md == nil {
		s.closed = true
		return nil
	}
	s.closed = true
	return s.md.Close()
}

// protocolError counts a protocol error and closes the session at the
// limit (RFC 1939 leaves this to the server; qmail and Dovecot do it).
func (s *Session) protocolError(text string) Response {
	s.errors++
	r := fail("", text)
	if s.errors >= s.opts.MaxErrors {
		r.Text += "; too many errors, closing connection"
		r.Close = true
	}
	return r
}

// Handle answers one command line (without its CRLF).
func (s *Session) Handle(ctx context.Context, line []byte) Response {
	if s.saslPending {
		s.saslPending = false
		return s.saslResponse(ctx, line)
	}
	cmd, err := ParseCommand(line)
	if err != nil {
		return s.protocolError("Invalid command: " + err.Error())
	}
	switch s.state {
	case Authorization:
		return s.authorization(ctx, cmd)
	case Transaction:
		return s.transaction(cmd)
	default:
		r := fail("", "Session is closing")
		r.Close = true
		return r
	}
}

// known lists every keyword, so that a command in the wrong state gets
// a clearer answer than an unknown one.
var known = map[string]bool{
	"USER": true, "PASS": true, "AUTH": true, "STLS": true, "CAPA": true,
	"QUIT": true, "STAT": true, "LIST": true, "RETR": true, "DELE": true,
	"NOOP": true, "RSET": true, "TOP": true, "UIDL": true, "LAST": true,
}

func (s *Session) wrongState(cmd Command) Response {
	if known[cmd.Verb] {
		return s.protocolError(cmd.Verb + " is not valid in the " + s.state.String() + " state")
	}
	return s.protocolError("Unknown command")
}

func (s *Session) authorization(ctx context.Context, cmd Command) Response {
	switch cmd.Verb {
	case "CAPA":
		return s.capa()
	case "QUIT":
		r := ok(s.opts.Hostname + " POP3 server signing off")
		r.Close = true
		s.state = Update
		return r
	case "USER":
		return s.cmdUser(cmd)
	case "PASS":
		return s.cmdPass(ctx, cmd)
	case "AUTH":
		return s.cmdAuth(ctx, cmd)
	case "STLS":
		return s.cmdSTLS(cmd)
	}
	return s.wrongState(cmd)
}

// capa answers CAPA (RFC 2449 §5). The login capabilities appear only in
// the AUTHORIZATION state and only when they may be used.
func (s *Session) capa() Response {
	r := ok("Capability list follows")
	r.Multi = true
	r.Lines = []string{"CAPA", "TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING"}
	if s.state == Authorization {
		if s.opts.Secure {
			r.Lines = append(r.Lines, "USER", "SASL PLAIN")
		}
		if s.opts.CanStartTLS {
			r.Lines = append(r.Lines, "STLS")
		}
	}
	if s.opts.Implementation != "" {
		r.Lines = append(r.Lines, "IMPLEMENTATION "+s.opts.Implementation)
	}
	return r
}

func (s *Session) insecure() Response {
	return fail(CodeAuth, "Plaintext authentication disallowed on non-secure connections; use STLS")
}

func (s *Session) cmdUser(cmd Command) Response {
	if len(cmd.Args) != 1 {
		return s.protocolError("Usage: USER name")
	}
	if !s.opts.Secure {
		return s.insecure()
	}
	s.user = cmd.Args[0]
	// The answer is the same for every name: which users exist is not
	// told before the password is checked.
	return ok("User name accepted, password please")
}

func (s *Session) cmdPass(ctx context.Context, cmd Command) Response {
	if s.user == "" {
		return s.protocolError("No user name given; send USER first")
	}
	user := s.user
	s.user = "" // RFC 1939 §7: after PASS, USER must be given again
	return s.login(ctx, user, cmd.Rest)
}

func (s *Session) cmdSTLS(cmd Command) Response {
	if len(cmd.Args) != 0 {
		return s.protocolError("Usage: STLS")
	}
	if !s.opts.CanStartTLS {
		return fail("", "STLS not available")
	}
	s.user = ""
	r := ok("Begin TLS negotiation")
	r.StartTLS = true
	return r
}

// login checks credentials, maps the Authenticator's error to a response
// (the one place this happens) and enters the TRANSACTION state.
func (s *Session) login(ctx context.Context, user, password string) Response {
	if s.opts.Auth == nil || !sanitizeUser(user) {
		return s.authFailed()
	}
	md, err := s.opts.Auth.Login(ctx, user, password)
	if err != nil {
		var pe *Error
		switch {
		case errors.Is(err, ErrAuth):
			return s.authFailed()
		case errors.Is(err, ErrInUse):
			return fail(CodeInUse, "Maildrop is locked by another POP3 session, try again later")
		case errors.As(err, &pe):
			if pe.Code == CodeAuth {
				return s.authFailed()
			}
			return fail(pe.Code, pe.Text)
		default:
			s.opts.Logger.Error("login failed", "user", user, "err", err)
			return fail(CodeSysTemp, "Temporary server failure, try again later")
		}
	}
	s.enter(user, md)
	var octets int64
	for _, m := range s.msgs {
		octets += m.Size
	}
	return ok(fmt.Sprintf("Logged in, %d messages (%d octets)", len(s.msgs), octets))
}

func (s *Session) authFailed() Response {
	s.authFails++
	r := fail(CodeAuth, "Authentication failed")
	if s.authFails >= s.opts.MaxAuthFailures {
		r.Text += "; too many failures, closing connection"
		r.Close = true
	}
	return r
}

// enter takes md and moves to the TRANSACTION state.
func (s *Session) enter(user string, md Maildrop) {
	s.md = md
	s.msgs = md.Messages()
	s.deleted = make([]bool, len(s.msgs))
	s.retrieved = make([]bool, len(s.msgs))
	for i, m := range s.msgs {
		if m.Seen {
			s.firstLast = i + 1
		}
	}
	s.last = s.firstLast
	s.state = Transaction
	s.stats = Stats{User: user, Messages: len(s.msgs)}
}

// sanitizeUser reports whether a user name is acceptable: not empty, no
// control characters (they would reach logs and lookups).
func sanitizeUser(u string) bool {
	if u == "" || len(u) > MaxCommand {
		return false
	}
	return !strings.ContainsFunc(u, func(r rune) bool { return r < 0x20 || r == 0x7f })
}
