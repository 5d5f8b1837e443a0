// Package netio is how smtpd, pop3d and imapd get their connections.
//
// A server hands Serve a function that runs one session on a *Conn, and
// Serve finds the connections the way the program was started:
//
//  1. --listen ADDR (Options.Listen): the program listens itself, serves
//     connections concurrently within a total and a per-IP limit, and on
//     SIGTERM stops accepting and lets sessions finish for Options.Grace.
//  2. systemd socket activation with Accept=no: LISTEN_FDS, LISTEN_PID and
//     LISTEN_FDNAMES (sd_listen_fds(3)); LISTEN_PID must be our pid.
//  3. Otherwise stdin/stdout is the one connection (inetd nowait, ucspi-tcp
//     tcpserver, systemd Accept=yes, ssh, a terminal). When fd 0 is a
//     socket it becomes a real net.Conn (so STARTTLS works on it); a pipe
//     or a tty becomes a conn over stdin/stdout whose deadlines work too.
//
// The peer's addresses come from the socket, or from the ucspi-tcp
// environment (TCPREMOTEIP, TCPREMOTEPORT, TCPLOCALIP, TCPLOCALPORT,
// TCPLOCALHOST, TCPREMOTEHOST) when the socket has none; RELAYCLIENT marks
// a client allowed to relay, as in qmail. An environment value holding a
// control character is dropped with a warning and never copied anywhere.
//
// TLS comes from --tls-cert/--tls-key (or ucspi-tls's CERTFILE/KEYFILE):
// Conn.StartTLS upgrades a session in place, and --tls-implicit serves TLS
// from the first byte (ports 465, 993, 995).
//
// The package also holds what the three servers share around a session:
// Penalty (a growing per-IP delay after failed logins) and DropPrivileges.
package netio

import (
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"
)

// Peer describes the other end of a connection and how we reached it.
type Peer struct {
	// RemoteAddr is the client's address: from the socket, or from
	// TCPREMOTEIP/TCPREMOTEPORT when the socket has no IP address (a pipe,
	// a Unix socket). It is the zero value when unknown. IPv4-mapped IPv6
	// addresses are unmapped.
	RemoteAddr netip.AddrPort
	// LocalAddr is our address: from the socket or TCPLOCALIP/TCPLOCALPORT.
	LocalAddr netip.AddrPort
	// LocalHost and RemoteHost are TCPLOCALHOST and TCPREMOTEHOST, kept
	// only when they are plausible host names (letters, digits, '-', '.',
	// '_'; at most 253 octets). RemoteHost comes from reverse DNS, which
	// the client's owner controls: never trust it for access decisions.
	LocalHost, RemoteHost string
	// RelayClient is true when RELAYCLIENT is set in the environment, even
	// to the empty string (ucspi-tcp rules such as
	// "127.:allow,RELAYCLIENT=\"\"", as qmail-smtpd reads it).
	RelayClient bool
	// Stdio is true when the connection is stdin/stdout rather than a
	// socket we accepted.
	Stdio bool
	// Network is "tcp", "unix" or "pipe" (a pipe, a tty or a file).
	Network string
	// Listener names the listener the connection came from: the --listen
	// address, or the LISTEN_FDNAMES name (systemd's default is
	// "unknown"). It is empty for stdin/stdout.
	Listener string

	// envRejected is set when TCPREMOTEIP was present but unusable: such
	// a peer is not local, whatever the transport.
	envRejected bool
}

// Local reports whether the peer counts as a local client: a loopback
// address, or no network address at all on stdin/stdout or a Unix socket
// (a local pipe such as "sendmail -bs", ssh, or a person at a terminal).
// Servers use it to allow plaintext passwords without TLS. A proxy that
// forwards remote clients over a Unix socket or a pipe without setting
// TCPREMOTEIP would make them all local: give such a proxy a TCP
// listener, or have it set TCPREMOTEIP.
func (p Peer) Local() bool {
	if p.RemoteAddr.IsValid() {
		return p.RemoteAddr.Addr().IsLoopback()
	}
	if p.envRejected {
		return false
	}
	return p.Stdio || p.Network == "unix"
}

// LogValue makes a Peer log as a group of its known fields.
func (p Peer) LogValue() slog.Value {
	var as []slog.Attr
	if p.RemoteAddr.IsValid() {
		as = append(as, slog.String("remote", p.RemoteAddr.String()))
	}
	if p.RemoteHost != "" {
		as = append(as, slog.String("remotehost", p.RemoteHost))
	}
	if p.LocalAddr.IsValid() {
		as = append(as, slog.String("local", p.LocalAddr.String()))
	}
	as = append(as, slog.String("net", p.Network))
	if p.Listener != "" {
		as = append(as, slog.String("listener", p.Listener))
	}
	if p.RelayClient {
		as = append(as, slog.Bool("relayclient", true))
	}
	return slog.GroupValue(as...)
}

// Errors returned by Conn's TLS methods.
var (
	// ErrNoTLS means no certificate is configured, so STARTTLS cannot be
	// offered.
	ErrNoTLS = errors.New("TLS is not configured (--tls-cert/--tls-key or CERTFILE/KEYFILE)")
	// ErrAlreadyTLS means the connection is already encrypted.
	ErrAlreadyTLS = errors.New("connection is already using TLS")
)

// Conn is one client connection. It is a net.Conn: Read, Write, Close and
// the deadlines work on accepted sockets and on stdin/stdout alike (on
// pipes and ttys through the runtime poller; on a regular file, which
// never blocks, setting a deadline is a no-op).
//
// After StartTLS the embedded Conn is the *tls.Conn, so reads and writes
// go through TLS. A Conn is used by one session goroutine; only Close is
// safe to call from another goroutine.
type Conn struct {
	net.Conn
	// Peer says who the client is and how it reached us.
	Peer Peer

	raw       net.Conn // the transport; Close goes through it
	tlsCfg    *tls.Config
	handshake time.Duration
	draining  <-chan struct{}
	log       *slog.Logger
	extra     []func() error // run by Close (stdio: close fd 0/1)

	mu       sync.Mutex
	tlsState *tls.ConnectionState
	closed   bool
}

func newConn(nc net.Conn, p Peer, o *Options, tlsCfg *tls.Config, draining <-chan struct{}) *Conn {
	return &Conn{
		Conn:      nc,
		Peer:      p,
		raw:       nc,
		tlsCfg:    tlsCfg,
		handshake: o.HandshakeTimeout,
		draining:  draining,
		log:       o.Logger,
	}
}

// NewConn wraps an established connection (a test's socketpair, a
// net.Pipe) as a Conn with the given peer, using opts for the TLS
// configuration and timeouts. It is for tests and for servers embedded
// in other programs; Serve builds Conns itself.
func NewConn(nc net.Conn, p Peer, opts Options) (*Conn, error) {
	o := opts.withDefaults()
	cfg, err := o.TLSConfig()
	if err != nil {
		return nil, err
	}
	return newConn(nc, p, &o, cfg, nil), nil
}

// Close closes the connection (sending a TLS close_notify first when TLS
// is active) and, in stdin/stdout mode, fd 0 and fd 1 too, so the client
// sees the end of the session at once. It may be called more than once.
func (c *Conn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	nc := c.Conn
	c.mu.Unlock()
	err := nc.Close()
	for _, f := range c.extra {
		f()
	}
	return err
}

// forceClose closes the transport from another goroutine (shutdown after
// the grace period). It does not touch the embedded Conn, which the
// session goroutine may be replacing in StartTLS.
func (c *Conn) forceClose() { c.raw.Close() }

// Draining returns a channel that is closed when the server has stopped
// accepting connections (SIGTERM or the Serve context was cancelled) and
// is waiting for sessions to finish. A server may check it between
// commands and end the session politely (SMTP 421, RFC 5321 §3.8). It is
// nil, never ready, for stdin/stdout sessions.
func (c *Conn) Draining() <-chan struct{} { return c.draining }

// Logger returns the logger the server was configured with.
func (c *Conn) Logger() *slog.Logger { return c.log }

// PlaintextAuthOK reports whether a password may be sent in the clear on
// this connection: it is encrypted, or the client is local (see
// Peer.Local). Servers refuse AUTH PLAIN/LOGIN, USER/PASS and LOGIN
// otherwise (RFC 3501 §6.2.3 LOGINDISABLED, RFC 2595 §3.1, RFC 4954 §4).
func (c *Conn) PlaintextAuthOK() bool { return c.TLS() || c.Peer.Local() }

// addrPort turns a socket address into an AddrPort (zero unless TCP).
func addrPort(a net.Addr) netip.AddrPort {
	switch a := a.(type) {
	case *net.TCPAddr:
		ap := a.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap().WithZone(""), ap.Port())
	}
	return netip.AddrPort{}
}

func networkOf(a net.Addr) string {
	switch a.(type) {
	case *net.TCPAddr:
		return "tcp"
	case *net.UnixAddr:
		return "unix"
	}
	return "pipe"
}
