package pop3

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"

	"mailtk/internal/lineio"
	"mailtk/internal/testutil"
)

// fakeDrop is an in-memory Maildrop.
type fakeDrop struct {
	mu        sync.Mutex
	bodies    []string
	seen      []bool
	gone      map[int]bool
	deleted   []int
	retrieved []int
	committed bool
	closed    int
	commitErr error
}

func newFakeDrop(bodies ...string) *fakeDrop {
	return &fakeDrop{bodies: bodies, seen: make([]bool, len(bodies)), gone: map[int]bool{}}
}

func (f *fakeDrop) Messages() []MessageInfo {
	var out []MessageInfo
	for i, b := range f.bodies {
		n, _ := CRLFSize(strings.NewReader(b))
		out = append(out, MessageInfo{UID: "uid" + string(rune('a'+i)), Size: n, Seen: f.seen[i]})
	}
	return out
}

func (f *fakeDrop) Open(i int) (io.ReadCloser, error) {
	if f.gone[i] {
		return nil, ErrGone
	}
	return io.NopCloser(strings.NewReader(f.bodies[i])), nil
}

func (f *fakeDrop) Commit(deleted, retrieved []int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.committed = true
	f.deleted, f.retrieved = deleted, retrieved
	return f.commitErr
}

func (f *fakeDrop) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed++
	return nil
}

// fakeAuth accepts user/pass pairs from a map and hands out drop.
type fakeAuth struct {
	users map[string]string
	drop  *fakeDrop
	err   error // returned instead, when set
}

func (a *fakeAuth) Login(_ context.Context, user, pass string) (Maildrop, error) {
	if a.err != nil {
		return nil, a.err
	}
	if p, found := a.users[user]; !found || p != pass {
		return nil, ErrAuth
	}
	return a.drop, nil
}

// serve is a minimal driver for tests: the real one (internal/pop3d)
// adds deadlines, STLS and logging.
func serve(s *Session, conn io.ReadWriter) error {
	lr := lineio.NewReader(conn, MaxSASL)
	bw := bufio.NewWriter(conn)
	defer s.Close()
	g := s.Greeting()
	if _, err := g.WriteTo(bw); err != nil {
		return err
	}
	for {
		if err := bw.Flush(); err != nil {
			return err
		}
		if s.WantSASL() {
			lr.SetMax(MaxSASL)
		} else {
			lr.SetMax(MaxCommand)
		}
		line, _, err := lr.ReadLine()
		var r Response
		switch {
		case errors.Is(err, lineio.ErrTooLong):
			r = s.LineTooLong()
		case err != nil:
			return err
		default:
			r = s.Handle(context.Background(), line)
		}
		if _, err := r.WriteTo(bw); err != nil {
			return err
		}
		if r.Close {
			return bw.Flush()
		}
	}
}

// pipeSession starts s on one end of a net.Pipe and returns the other.
// A net.Pipe has no buffer, so only lock-step dialogues work over it.
func pipeSession(t *testing.T, s *Session) net.Conn {
	t.Helper()
	srv, cli := net.Pipe()
	return startSession(t, s, srv, cli)
}

// sockSession is pipeSession over a socketpair, whose buffers let a
// client pipeline commands (RFC 2449 PIPELINING).
func sockSession(t *testing.T, s *Session) net.Conn {
	t.Helper()
	srv, cli := testutil.SocketPair(t)
	return startSession(t, s, srv, cli)
}

func startSession(t *testing.T, s *Session, srv, cli net.Conn) net.Conn {
	done := make(chan struct{})
	go func() {
		defer close(done)
		serve(s, srv)
		srv.Close()
	}()
	t.Cleanup(func() { cli.Close(); <-done })
	return cli
}
