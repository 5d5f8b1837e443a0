package netio

import (
	"log/slog"
	"net"
	"os"
	"time"
)

// Defaults for the zero values of Options.
const (
	DefaultMaxConns         = 100
	DefaultMaxPerIP         = 10
	DefaultGrace            = 30 * time.Second
	DefaultHandshakeTimeout = 30 * time.Second
)

// Options says how Serve gets its connections. The zero value serves
// stdin/stdout (or LISTEN_FDS sockets) with the defaults above.
type Options struct {
	// Listen holds addresses to listen on (--listen, repeatable):
	// "host:port", "[v6addr]:port", ":port", or "unix:/path". When set,
	// the environment's LISTEN_FDS and stdin are ignored.
	Listen []string

	// TLSCertFile and TLSKeyFile are PEM files (--tls-cert, --tls-key).
	// When empty, ucspi-tls's CERTFILE and KEYFILE variables are used; a
	// missing key file name means the key is in the certificate file.
	TLSCertFile, TLSKeyFile string
	// TLSImplicit serves TLS from the first byte (--tls-implicit; SMTP
	// submissions on 465 per RFC 8314, IMAPS 993, POP3S 995).
	TLSImplicit bool
	// HandshakeTimeout bounds a TLS handshake (default 30s).
	HandshakeTimeout time.Duration

	// MaxConns bounds concurrent sessions in listener modes (default 100;
	// negative: no limit). Past it, Serve stops accepting until a session
	// ends, as tcpserver -c does: clients wait in the kernel's backlog.
	MaxConns int
	// MaxPerIP bounds concurrent sessions from one IPv4 address or one
	// IPv6 /64 (default 10; negative: no limit). A connection over the
	// limit is handed to Refuse, then closed.
	MaxPerIP int
	// Refuse, when set, is called with a connection refused for MaxPerIP
	// before it is closed, so the server can say why in its protocol
	// ("421 4.7.0 too many connections from your address"). Its write
	// deadline is already set; it must not read. It is not called with
	// TLSImplicit (the client expects a TLS handshake, not a reply).
	Refuse func(c *Conn)
	// Grace is how long sessions may run after SIGTERM or the end of
	// Serve's context before their connections are closed (default 30s;
	// negative: close at once).
	Grace time.Duration

	// Bound, when set, is called with --listen sockets once they are
	// bound and before the first connection is accepted: the moment to
	// drop root privileges after binding a port below 1024. An error
	// closes the listeners and Serve returns it.
	Bound func() error

	// Ready, when set, is called in listener modes with the listening
	// addresses once they accept connections (with port 0 resolved), for
	// tests and for programs that report readiness.
	Ready func(addrs []net.Addr)

	// Logger receives netio's own events (refused connections, TLS
	// failures, ignored environment values). Default: text to stderr.
	Logger *slog.Logger
	// LookupEnv reads the environment (default os.LookupEnv). Tests
	// inject their own. If only Getenv is set, a variable set to the
	// empty string counts as unset (so RELAYCLIENT="" needs LookupEnv).
	LookupEnv func(string) (string, bool)
	// Getenv is the simpler form of LookupEnv, kept for callers that
	// have a map.
	Getenv func(string) string
	// Stdin and Stdout are the connection in stdin/stdout mode (default
	// os.Stdin and os.Stdout). Serve owns them: they are closed when the
	// session ends.
	Stdin, Stdout *os.File
	// NoSignals stops Serve from handling signals. By default Serve, in
	// listener modes, treats SIGTERM and SIGINT like the end of its
	// context: stop accepting, let sessions finish within Grace, return.
	NoSignals bool

	realEnv bool // LookupEnv is os.LookupEnv (set by withDefaults)
}

// withDefaults returns a copy of o with the zero values filled in.
func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if o.LookupEnv == nil {
		if o.Getenv != nil {
			get := o.Getenv
			o.LookupEnv = func(k string) (string, bool) {
				v := get(k)
				return v, v != ""
			}
		} else {
			o.LookupEnv, o.realEnv = os.LookupEnv, true
		}
	}
	if o.Getenv == nil {
		lookup := o.LookupEnv
		o.Getenv = func(k string) string { v, _ := lookup(k); return v }
	}
	if o.Stdin == nil {
		o.Stdin = os.Stdin
	}
	if o.Stdout == nil {
		o.Stdout = os.Stdout
	}
	if o.MaxConns == 0 {
		o.MaxConns = DefaultMaxConns
	}
	if o.MaxPerIP == 0 {
		o.MaxPerIP = DefaultMaxPerIP
	}
	if o.Grace == 0 {
		o.Grace = DefaultGrace
	}
	if o.HandshakeTimeout <= 0 {
		o.HandshakeTimeout = DefaultHandshakeTimeout
	}
	return o
}

// env returns the validated environment reader for o.
func (o *Options) env() env { return env{lookup: o.LookupEnv, log: o.Logger} }

// Multi reports whether Serve will serve many connections in this one
// process (--listen, or systemd's LISTEN_FDS as read through the
// injected LookupEnv or Getenv) rather than the one on stdin/stdout.
// Servers use it to decide what a process may do as root: one process
// per connection can become the user who logs in, a shared one cannot.
// (With LISTEN_FDS, Serve may still find a single connected socket on
// fd 3; Multi says true then too, erring on the side of caution.)
func (o Options) Multi() bool {
	if len(o.Listen) > 0 {
		return true
	}
	_, ok := o.withDefaults().LookupEnv(envListenFDs)
	return ok
}
