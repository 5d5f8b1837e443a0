package imapd

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"mailtk/internal/netio"
)

// Serving one connection.
//
// go-imap's imapserver.Server serves listeners; netio hands us connections
// one at a time (stdin/stdout, systemd, or its own listeners), each with
// its own peer and TLS state. So every connection gets its own small
// imapserver.Server, whose options can depend on the connection: plaintext
// LOGIN is allowed only on a local or encrypted connection (RFC 3501
// §6.2.3 LOGINDISABLED, RFC 8314), STARTTLS is offered only when a
// certificate is configured and TLS is not already on.

// Caps returns the capabilities imapd announces beyond what go-imap adds
// by itself (SASL-IR, LITERAL-, ENABLE, IDLE, UNSELECT, STARTTLS, AUTH=...).
// Each call returns a fresh set, so a server may change its own.
func Caps() imap.CapSet {
	return imap.CapSet{
		imap.CapIMAP4rev1:      {},
		imap.CapIMAP4rev2:      {},
		imap.CapNamespace:      {},
		imap.CapUIDPlus:        {},
		imap.CapESearch:        {},
		imap.CapSearchRes:      {},
		imap.CapListExtended:   {},
		imap.CapListStatus:     {},
		imap.CapMove:           {},
		imap.CapStatusSize:     {},
		imap.CapBinary:         {},
		imap.CapChildren:       {},
		imap.CapSpecialUse:     {},
		imap.CapLiteralPlus:    {},
		imap.CapUnauthenticate: {},
	}
}

// ServeConn runs one IMAP session on c and returns when it ends. preauth,
// when set, starts the session logged in as that account (PREAUTH).
// When the server shuts down (c.Draining), the session ends with an
// untagged BYE (RFC 3501 §7.1.5) as soon as it waits for the client: at
// once between commands and during IDLE, after the command in progress
// otherwise. ctx ending (the server's grace is over) ends it at once.
func ServeConn(ctx context.Context, cfg *Config, c *netio.Conn, preauth *Account) {
	log := cfg.Logger.With("remote", c.Peer.RemoteAddr)
	var remote netip.Addr
	if c.Peer.RemoteAddr.IsValid() {
		remote = c.Peer.RemoteAddr.Addr()
	}
	var startTLS *tls.Config
	if c.CanStartTLS() {
		startTLS = c.TLSConfig()
	}
	scfg := *cfg
	scfg.Logger = log
	dc := &drainConn{}
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(ic *imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			dc.setBye(func() {
				log.Info("shutting down: BYE")
				ic.Bye("Server shutting down")
			})
			s, err := NewSession(ctx, &scfg, remote, preauth)
			if err != nil {
				log.Error("session", "err", err)
				return nil, nil, &imap.Error{Type: imap.StatusResponseTypeBye, Text: "Mailbox unavailable"}
			}
			return s, &imapserver.GreetingData{PreAuth: preauth != nil}, nil
		},
		Caps:         Caps(),
		Logger:       printfLogger{log},
		TLSConfig:    startTLS,
		InsecureAuth: c.PlaintextAuthOK(),
	})
	// Hand go-imap the TLS connection itself when TLS is already on
	// (--tls-implicit), so it knows the session is encrypted.
	var nc net.Conn = c
	if c.TLS() {
		nc = c.Conn
	}
	dc.Conn = newBatchConn(nc)
	ln := newOneConnListener(dc)
	go func() {
		select {
		case <-c.Draining():
			dc.drain()
		case <-ctx.Done():
			dc.drain()
		case <-ln.done:
		}
	}()
	srv.Serve(ln)
	<-ln.done
	c.Close()
}

// drainConn says BYE once shutdown has begun and the server waits for
// the client (is reading), so that a command in progress is finished
// and answered first.
type drainConn struct {
	net.Conn
	mu       sync.Mutex
	reading  bool
	draining bool
	bye      func()
	once     sync.Once
}

func (c *drainConn) setBye(f func()) {
	c.mu.Lock()
	c.bye = f
	c.mu.Unlock()
}

// sayBye sends the BYE and closes the connection, once.
func (c *drainConn) sayBye() {
	c.mu.Lock()
	f := c.bye
	c.mu.Unlock()
	c.once.Do(func() {
		if f != nil {
			f()
		} else {
			c.Conn.Close()
		}
	})
}

// drain marks the connection as shutting down, saying BYE now if the
// server is waiting for the client.
func (c *drainConn) drain() {
	c.mu.Lock()
	c.draining = true
	reading := c.reading
	c.mu.Unlock()
	if reading {
		c.sayBye()
	}
}

func (c *drainConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	if c.draining {
		c.mu.Unlock()
		c.sayBye()
		return 0, net.ErrClosed
	}
	c.reading = true
	c.mu.Unlock()
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	c.reading = false
	c.mu.Unlock()
	return n, err
}

// printfLogger adapts slog to go-imap's Logger.
type printfLogger struct{ log *slog.Logger }

func (l printfLogger) Printf(format string, args ...any) {
	l.log.Warn(fmt.Sprintf(format, args...))
}

// oneConnListener is a net.Listener that yields one connection, then
// blocks until that connection is closed and reports itself closed, so
// imapserver.Server.Serve returns when the session is over.
type oneConnListener struct {
	conn net.Conn
	done chan struct{}
	mu   sync.Mutex
	used bool
}

func newOneConnListener(c net.Conn) *oneConnListener {
	l := &oneConnListener{done: make(chan struct{})}
	l.conn = &notifyConn{Conn: c, done: l.done}
	return l
}

func (l *oneConnListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	used := l.used
	l.used = true
	l.mu.Unlock()
	if !used {
		return l.conn, nil
	}
	<-l.done
	return nil, net.ErrClosed
}

func (l *oneConnListener) Close() error   { return nil }
func (l *oneConnListener) Addr() net.Addr { return l.conn.LocalAddr() }

// notifyConn closes done when the connection is closed.
type notifyConn struct {
	net.Conn
	done chan struct{}
	once sync.Once
}

func (c *notifyConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { close(c.done) })
	return err
}
