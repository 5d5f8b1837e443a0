package mx

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// Shared UDP sockets. Opening a socket per query costs more CPU than the
// query itself (socket, connect, epoll registration, close), so queries
// to one server share a few connected sockets, told apart by ID and
// question. Each socket is retired after sockUses queries, so the source
// port keeps changing (RFC 5452 §9.2 asks for port randomization); the
// kernel still drops datagrams from any address but the server's.
const (
	socksPerServer = 8
	sockUses       = 256
)

// udpMux holds the shared sockets of a Resolver.
type udpMux struct {
	dial  func(ctx context.Context, network, addr string) (net.Conn, error)
	bufs  *sync.Pool
	mu    sync.Mutex
	socks map[string][]*muxSock // by server

	picked func() // test hook: runs between picking a socket and using it
}

// muxSock is one connected socket and the queries waiting on it. It
// enters the pool before it is dialed, reserving its slot; ready is
// closed once conn is set or dead holds the dial error.
type muxSock struct {
	ready   chan struct{}
	bufs    *sync.Pool
	mu      sync.Mutex
	conn    net.Conn // nil until dialed
	pending map[uint16]*waiter
	uses    int
	retired bool
	dead    error
}

// errSockClosed is the error of a query that found its socket retired
// more often than it could retry.
var errSockClosed = errors.New("socket closed")

// sockTries bounds how often a query moves to a fresh socket because the
// one it picked was retired (or failed) before the query was sent.
const sockTries = 4

type waiter struct {
	q       *dns.Msg
	reply   chan *dns.Msg // buffered 1
	ignored error         // last datagram with this ID that did not match
}

// sock returns a dialed socket for server with room for one more query.
// A new socket's slot is taken under the lock before the dial, so
// concurrent callers never open more than socksPerServer.
func (m *udpMux) sock(ctx context.Context, server string) (*muxSock, error) {
	m.mu.Lock()
	list := m.socks[server]
	if len(list) >= socksPerServer {
		s := list[rand.IntN(len(list))]
		m.mu.Unlock()
		select {
		case <-s.ready:
			return s, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	s := &muxSock{ready: make(chan struct{}), bufs: m.bufs, pending: map[uint16]*waiter{}}
	m.socks[server] = append(list, s)
	m.mu.Unlock()
	c, err := m.dial(ctx, "udp", server)
	s.mu.Lock()
	if err == nil && s.dead != nil { // the Resolver closed meanwhile
		c.Close()
		err = s.dead
	}
	if err != nil {
		s.dead, s.retired = err, true
		s.mu.Unlock()
		close(s.ready)
		m.retire(server, s)
		return nil, err
	}
	s.conn = c
	s.mu.Unlock()
	close(s.ready)
	go s.read()
	return s, nil
}

// retire takes s out of the pool; it closes once its queries are done.
func (m *udpMux) retire(server string, s *muxSock) {
	m.mu.Lock()
	list := m.socks[server]
	for i, x := range list {
		if x == s {
			list[i] = list[len(list)-1]
			m.socks[server] = list[:len(list)-1]
			break
		}
	}
	m.mu.Unlock()
	s.mu.Lock()
	s.retired = true
	c := s.conn
	idle := len(s.pending) == 0
	s.mu.Unlock()
	if idle && c != nil {
		c.Close()
	}
}

// exchange sends q (packed as wire, with q.Id set) over a shared socket
// and waits until deadline for the matching reply.
func (m *udpMux) exchange(ctx context.Context, server string, q *dns.Msg, deadline time.Time) (*dns.Msg, error) {
	w := &waiter{q: q, reply: make(chan *dns.Msg, 1)}
	s, err := m.register(ctx, server, w)
	if err != nil {
		return nil, err
	}
	wire, err := q.Pack()
	if err == nil {
		_, err = s.conn.Write(wire)
	}
	if err != nil {
		s.done(q.Id)
		m.retire(server, s)
		return nil, err
	}
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case r := <-w.reply:
		if r == nil {
			m.retire(server, s)
			return nil, s.err()
		}
		return r, nil
	case <-t.C:
	case <-ctx.Done():
	}
	s.done(q.Id)
	s.mu.Lock()
	ign := w.ignored
	s.mu.Unlock()
	if ign != nil {
		return nil, fmt.Errorf("%w (ignored a %v)", errTimeout, ign)
	}
	return nil, errTimeout
}

// register enters w's query on a socket for server, setting q.Id. A
// socket retired (after its sockUses queries, or failed) between being
// picked and taking the query has never seen it: the query moves to a
// fresh socket rather than failing unsent.
func (m *udpMux) register(ctx context.Context, server string, w *waiter) (*muxSock, error) {
	for range sockTries {
		s, err := m.sock(ctx, server)
		if err != nil {
			return nil, err
		}
		if m.picked != nil {
			m.picked()
		}
		s.mu.Lock()
		if s.dead != nil || s.retired {
			s.mu.Unlock()
			m.retire(server, s)
			continue
		}
		for {
			w.q.Id = dns.Id()
			if _, busy := s.pending[w.q.Id]; !busy {
				break
			}
		}
		s.pending[w.q.Id] = w
		s.uses++
		full := s.uses >= sockUses
		s.mu.Unlock()
		if full {
			m.retire(server, s)
		}
		return s, nil
	}
	return nil, errSockClosed
}

// done forgets the query with id, closing a retired socket that has
// nothing left to wait for.
func (s *muxSock) done(id uint16) {
	s.mu.Lock()
	delete(s.pending, id)
	closeNow := s.retired && len(s.pending) == 0
	s.mu.Unlock()
	if closeNow {
		s.conn.Close()
	}
}

func (s *muxSock) err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dead != nil {
		return s.dead
	}
	return errSockClosed
}

// read hands each datagram to the query it answers (RFC 5452 §9.1: ID
// and question must match) and drops the rest. When the socket fails
// (ICMP port unreachable gives ECONNREFUSED) every waiting query fails.
func (s *muxSock) read() {
	bp := s.bufs.Get().(*[]byte)
	defer s.bufs.Put(bp)
	buf := *bp
	for {
		n, err := s.conn.Read(buf)
		if err != nil {
			s.mu.Lock()
			if s.dead == nil {
				s.dead = err
			}
			s.retired = true
			for id, w := range s.pending {
				w.reply <- nil
				delete(s.pending, id)
			}
			s.mu.Unlock()
			s.conn.Close()
			return
		}
		if n < 12 {
			continue
		}
		id := uint16(buf[0])<<8 | uint16(buf[1])
		s.mu.Lock()
		w := s.pending[id]
		s.mu.Unlock()
		if w == nil {
			continue
		}
		r, err := parseReply(w.q, buf[:n])
		s.mu.Lock()
		if err != nil {
			w.ignored = err
		} else if s.pending[id] == w {
			delete(s.pending, id)
			w.reply <- r
		}
		closeNow := s.retired && len(s.pending) == 0
		s.mu.Unlock()
		if closeNow {
			s.conn.Close()
			return
		}
	}
}

// close closes every socket; waiting queries fail.
func (m *udpMux) close() {
	m.mu.Lock()
	all := m.socks
	m.socks = map[string][]*muxSock{}
	m.mu.Unlock()
	for _, list := range all {
		for _, s := range list {
			s.mu.Lock()
			c := s.conn
			if c == nil && s.dead == nil { // still dialing: sock closes it
				s.dead, s.retired = net.ErrClosed, true
			}
			s.mu.Unlock()
			if c != nil {
				c.Close()
			}
		}
	}
}
