package smtp

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"strconv"
	"time"
)

// Policy says who may use a command that reveals addresses (VRFY, EXPN).
type Policy int

const (
	// PolicyLocal, the default, answers local clients (loopback, a
	// pipe) and authenticated ones; others get 252 (VRFY) or 502 (EXPN),
	// which stops address harvesting (RFC 5321 §7.3).
	PolicyLocal Policy = iota
	PolicyOff          // never answer
	PolicyOn           // answer everyone
)

// ParsePolicy reads "local", "off" or "on".
func ParsePolicy(s string) (Policy, bool) {
	switch s {
	case "local", "":
		return PolicyLocal, true
	case "off", "no":
		return PolicyOff, true
	case "on", "yes", "all":
		return PolicyOn, true
	}
	return 0, false
}

// Config holds a server's settings. The zero value of each field gets a
// default from Defaults.
type Config struct {
	Hostname        string        // greeting and Received: "by"
	MaxSize         int64         // SIZE limit in octets (default 35 MiB)
	MaxRcpt         int           // recipients per transaction (default 100)
	MaxHops         int           // Received: headers before 554 5.4.6 (default 100)
	MaxStrikes      int           // protocol errors before 421 (default 3)
	CommandTimeout  time.Duration // per command, RFC 5321 §4.5.3.2 (default 5m)
	GreetingTimeout time.Duration // before the first valid command (default 30s)
	DataTimeout     time.Duration // per data block, §4.5.3.2.6 (default 10m)
	CommandLineMax  int           // command line bound (default 2048; RFC minimum 512)
	AuthLineMax     int           // AUTH line bound (default 12288, RFC 4954 §4)
	LMTP            bool          // speak LMTP (RFC 2033)
	VRFY, EXPN      Policy
	Auth            bool // offer AUTH PLAIN LOGIN (where it may be used)
	// InsecureAuth offers AUTH on plaintext connections from non-local
	// clients too; off by default (passwords stay off the wire).
	InsecureAuth bool
	Now          func() time.Time
	NewID        func() string
	Logger       *slog.Logger
	// Software names the program in the Received: comment.
	Software string
}

// Defaults fills the zero fields of c and returns it.
func (c Config) Defaults() Config {
	if c.Hostname == "" {
		c.Hostname = "localhost"
	}
	if c.MaxSize == 0 {
		c.MaxSize = 35 << 20
	}
	if c.MaxRcpt == 0 {
		c.MaxRcpt = 100
	}
	if c.MaxHops == 0 {
		c.MaxHops = 100
	}
	if c.MaxStrikes == 0 {
		c.MaxStrikes = 3
	}
	if c.CommandTimeout == 0 {
		c.CommandTimeout = 5 * time.Minute
	}
	if c.GreetingTimeout == 0 {
		c.GreetingTimeout = 30 * time.Second
	}
	if c.DataTimeout == 0 {
		c.DataTimeout = 10 * time.Minute
	}
	if c.CommandLineMax == 0 {
		c.CommandLineMax = 2048
	}
	if c.AuthLineMax == 0 {
		c.AuthLineMax = 12288
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.NewID == nil {
		c.NewID = NewID
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Software == "" {
		c.Software = "mailtk smtpd"
	}
	return c
}

// NewID returns a random identifier for a session or message: 16 hex digits.
func NewID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Peer is what the driver knows about the client.
type Peer struct {
	Addr        string // IP address as text; "" when unknown (a pipe)
	Port        int
	Host        string // verified remote host name, if any (TCPREMOTEHOST)
	Local       bool   // loopback or a local pipe: a trusted local client
	RelayClient bool   // may relay: RELAYCLIENT set, or address in --relay-from
	TLS         bool   // the connection is TLS from the first byte
}

// State is the session as a backend sees it.
type State struct {
	ID       string // session id
	Peer     Peer
	Helo     string // HELO/EHLO argument, sanitized
	ESMTP    bool
	TLS      bool
	TLSInfo  string // e.g. "TLS1.3 TLS_AES_128_GCM_SHA256", for Received:
	AuthUser string // authenticated user, "" if none
	LMTP     bool
}

// MayRelay reports whether the client may send mail to non-local
// recipients: authenticated, or trusted by the driver (RELAYCLIENT,
// --relay-from).
func (s *State) MayRelay() bool { return s.AuthUser != "" || s.Peer.RelayClient }

// Rcpt is one accepted recipient.
type Rcpt struct {
	Path   Path
	Params RcptParams
}

// Envelope is one mail transaction.
type Envelope struct {
	ID         string // message id, ties the log line to the stored file
	From       Path
	MailParams MailParams
	Rcpts      []Rcpt
	// Received is the trace header field this server adds (RFC 5321
	// §4.4), CRLF-free, folded with "\n\t", ending in "\n". It names the
	// recipient ("for <...>") only when there is exactly one.
	Received string
	Size     int64 // octets of message data received
}

// rcptAddrs returns the recipients' addresses.
func (e *Envelope) rcptAddrs() []string {
	out := make([]string, len(e.Rcpts))
	for i, r := range e.Rcpts {
		out[i] = r.Path.Addr()
	}
	return out
}

// Backend decides what happens to mail. Methods return nil to accept, an
// *Error to answer with a chosen reply, or another error (answered 451
// 4.3.0 and logged). Implementations must be safe for concurrent use by
// several sessions.
type Backend interface {
	// Mail is called for MAIL FROM.
	Mail(ctx context.Context, st *State, from Path, p MailParams) error
	// Rcpt is called for each RCPT TO; env holds the recipients so far.
	Rcpt(ctx context.Context, st *State, env *Envelope, to Rcpt) error
	// Data stores or forwards the message read from msg (LF line ends,
	// dot-stuffing removed, trace header not included: it is in
	// env.Received). It must not commit anything when msg returns an
	// error other than io.EOF. It returns one error per env.Rcpts entry
	// (LMTP answers each; SMTP answers the first failure, temporary
	// ones first); a nil or short slice means success for the rest.
	Data(ctx context.Context, st *State, env *Envelope, msg io.Reader) []error
	// Verify returns "Full Name <address>" lines matching arg (VRFY, RFC
	// 5321 §3.5): one is an answer, several are ambiguous, none is
	// unknown.
	Verify(ctx context.Context, st *State, arg string) ([]string, error)
	// Expand returns the members of the mailing list arg (EXPN).
	Expand(ctx context.Context, st *State, arg string) ([]string, error)
	// Auth checks a user name and password (AUTH PLAIN/LOGIN). Return
	// ErrAuthFailed for bad credentials; apply any delay before returning.
	Auth(ctx context.Context, st *State, user, pass string) error
}

// protocol returns the "with" keyword of RFC 5321 §4.4 and RFC 3848.
func (s *State) protocol() string {
	p := "SMTP"
	if s.LMTP {
		p = "LMTP"
	} else if s.ESMTP {
		p = "ESMTP"
	}
	if s.LMTP || s.ESMTP {
		if s.TLS {
			p += "S"
		}
		if s.AuthUser != "" {
			p += "A"
		}
	}
	return p
}

// received builds the Received: field for env (RFC 5321 §4.4). All
// client-supplied parts are sanitized.
func (s *State) received(cfg *Config, env *Envelope) string {
	b := []byte("Received: from ")
	helo := sanitizeHelo(s.Helo)
	if helo == "" {
		helo = "unknown"
	}
	b = append(b, helo...)
	if s.Peer.Addr != "" {
		b = append(b, " ("...)
		if s.Peer.Host != "" {
			b = append(b, sanitizeHelo(s.Peer.Host)...)
			b = append(b, ' ')
		}
		b = append(b, '[')
		b = append(b, s.Peer.Addr...)
		b = append(b, ']')
		if s.Peer.Port != 0 {
			b = append(b, ':')
			b = strconv.AppendInt(b, int64(s.Peer.Port), 10)
		}
		b = append(b, ')')
	}
	b = append(b, "\n\tby "...)
	b = append(b, cfg.Hostname...)
	b = append(b, " ("...)
	b = append(b, cfg.Software...)
	b = append(b, ") with "...)
	b = append(b, s.protocol()...)
	b = append(b, " id "...)
	b = append(b, env.ID...)
	if s.TLSInfo != "" {
		b = append(b, "\n\t("...)
		b = append(b, sanitize(s.TLSInfo, 100)...)
		b = append(b, ')')
	}
	if len(env.Rcpts) == 1 {
		b = append(b, "\n\tfor "...)
		b = append(b, sanitize(env.Rcpts[0].Path.String(), MaxPath+2)...)
	}
	b = append(b, ";\n\t"...)
	b = append(b, cfg.Now().Format(time.RFC1123Z)...)
	b = append(b, '\n')
	return string(b)
}

// sanitizeHelo keeps the characters a domain or address literal may hold;
// anything else becomes '_' (RFC 5321 §4.4: the FROM field is the
// client's claim, never trusted).
func sanitizeHelo(s string) string {
	if len(s) > 255 {
		s = s[:255]
	}
	b := []byte(s)
	for i, c := range b {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '.' || c == '-' || c == ':' || c == '[' || c == ']'
		if !ok {
			b[i] = '_'
		}
	}
	return string(b)
}
