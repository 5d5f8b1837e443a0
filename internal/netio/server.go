package netio

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/netip"
	"sync"
	"time"
)

// server is the state of the listener modes: the session limit, the
// per-IP counts and the live connections, for draining at shutdown.
type server struct {
	o      *Options
	cfg    *tls.Config
	handle Handler

	slots    chan struct{} // one token per running session; nil: no limit
	draining chan struct{} // closed when accepting stops
	sessCtx  context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup

	mu     sync.Mutex
	perIP  map[netip.Addr]int
	conns  map[*Conn]struct{}
	forced bool // the grace period is over: no new sessions
}

func newServer(parent context.Context, o *Options, cfg *tls.Config, handle Handler) *server {
	s := &server{
		o:        o,
		cfg:      cfg,
		handle:   handle,
		draining: make(chan struct{}),
		perIP:    map[netip.Addr]int{},
		conns:    map[*Conn]struct{}{},
	}
	if o.MaxConns > 0 {
		s.slots = make(chan struct{}, o.MaxConns)
	}
	// Sessions outlive Serve's context by the grace period, so they get
	// a context of their own (keeping the parent's values).
	s.sessCtx, s.cancel = context.WithCancel(context.WithoutCancel(parent))
	return s
}

// acceptLoop accepts on ln until it is closed. When all session slots
// are taken it holds the connection it just accepted and stops
// accepting (further clients queue in the kernel's backlog), as
// tcpserver -c does, rather than accepting and hanging up. The slot is
// taken after Accept, so an idle listener never holds one.
func (s *server) acceptLoop(ln namedListener) error {
	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if errorsIsClosed(err) {
				return nil
			}
			if ne := net.Error(nil); errors.As(err, &ne) && ne.Timeout() || isTemporary(err) {
				// EMFILE, ECONNABORTED and the like: wait and retry,
				// as net/http does.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.o.Logger.Warn("accept failed, retrying", "listener", ln.name, "err", err, "wait", backoff)
				select {
				case <-time.After(backoff):
				case <-s.draining:
					return nil
				}
				continue
			}
			return wrapAccept(ln, err)
		}
		backoff = 0
		if s.slots != nil {
			select {
			case s.slots <- struct{}{}:
			case <-s.draining:
				nc.Close()
				return nil
			}
		}
		s.wg.Add(1)
		go s.serveConn(nc, ln.name)
	}
}

// isTemporary reports errors an accept loop should survive.
func isTemporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

func (s *server) release() {
	if s.slots != nil {
		<-s.slots
	}
}

// ipKey is the unit of the per-IP limit: an IPv4 address or an IPv6 /64
// (one customer's or host's network; per-address limits on IPv6 are
// trivially evaded).
func ipKey(a netip.Addr) netip.Addr {
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.Addr()
	}
	return a
}

func (s *server) serveConn(nc net.Conn, name string) {
	defer s.wg.Done()
	defer s.release()
	p := Peer{
		RemoteAddr: addrPort(nc.RemoteAddr()),
		LocalAddr:  addrPort(nc.LocalAddr()),
		Network:    networkOf(nc.RemoteAddr()),
		Listener:   name,
	}
	c := newConn(nc, p, s.o, s.cfg, s.draining)
	defer c.Close()

	key, counted := ipKey(p.RemoteAddr.Addr()), p.RemoteAddr.IsValid()
	if counted {
		s.mu.Lock()
		over := s.o.MaxPerIP > 0 && s.perIP[key] >= s.o.MaxPerIP
		if !over {
			s.perIP[key]++
		}
		s.mu.Unlock()
		if over {
			s.o.Logger.Warn("connection refused: too many from this address", "peer", p, "max", s.o.MaxPerIP)
			// With implicit TLS a plaintext reply would be garbage, and a
			// handshake for a refused client is work an attacker could
			// make us do: just close.
			if s.o.Refuse != nil && !s.o.TLSImplicit {
				c.SetWriteDeadline(time.Now().Add(10 * time.Second))
				s.o.Refuse(c)
			}
			return
		}
		defer func() {
			s.mu.Lock()
			if s.perIP[key]--; s.perIP[key] <= 0 {
				delete(s.perIP, key)
			}
			s.mu.Unlock()
		}()
	}

	s.mu.Lock()
	if s.forced {
		s.mu.Unlock()
		return // accepted just as the grace period ended
	}
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
	}()

	if s.o.TLSImplicit {
		if err := c.handshakeImplicit(); err != nil {
			s.o.Logger.Info("TLS handshake failed", "peer", p, "err", err)
			return
		}
	}
	s.handle(s.sessCtx, c)
}

// shutdown stops accepting, waits up to Grace for sessions, then cancels
// their context, closes their connections and waits for them to return.
func (s *server) shutdown(lns []namedListener) {
	close(s.draining)
	for _, ln := range lns {
		ln.Close()
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	if s.o.Grace > 0 {
		s.mu.Lock()
		n := len(s.conns)
		s.mu.Unlock()
		if n > 0 {
			s.o.Logger.Info("stopped accepting; waiting for sessions", "sessions", n, "grace", s.o.Grace)
		}
		t := time.NewTimer(s.o.Grace)
		defer t.Stop()
		select {
		case <-done:
			s.cancel()
			return
		case <-t.C:
		}
	}
	s.cancel()
	s.mu.Lock()
	s.forced = true
	n := len(s.conns)
	for c := range s.conns {
		c.forceClose()
	}
	s.mu.Unlock()
	if n > 0 {
		s.o.Logger.Warn("grace period over; closed remaining sessions", "sessions", n)
	}
	<-done
}
