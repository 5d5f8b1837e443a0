package mx

import (
	"context"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"mailtk/internal/mx/mxtest"
)

// TestMuxRetirementNoSpuriousFailures runs many concurrent lookups, with
// one attempt each, across many socket retirements: a query whose socket
// is retired before it is sent moves to a fresh socket instead of
// failing, and concurrent callers never open more than socksPerServer
// sockets for a server. Run it with -race.
func TestMuxRetirementNoSpuriousFailures(t *testing.T) {
	srv := mxtest.Start(t)
	r, err := NewResolver(Options{Servers: []string{srv.Addr}, Timeout: 10 * time.Second, Attempts: 1,
		CacheSize: -1, ResolvConf: "/nonexistent/resolv.conf"})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	m := r.mux
	poolSize := func() int {
		m.mu.Lock()
		defer m.mu.Unlock()
		return len(m.socks[srv.Addr])
	}
	d := &net.Dialer{}
	m.dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if n := poolSize(); n > socksPerServer {
			t.Errorf("dialing with %d sockets in the pool", n)
		}
		// Let the other callers run while this one dials.
		time.Sleep(time.Millisecond)
		return d.DialContext(ctx, network, addr)
	}
	// Widen the window in which a picked socket can be retired by the
	// other callers before this one's query is entered.
	m.picked = runtime.Gosched
	const workers, each = 16, 120 // several times sockUses queries in all
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				dom, want := "example.test", OK
				if (w+i)%3 == 0 {
					dom, want = "missing.example.test", NXDomain
				}
				if res := r.Lookup(context.Background(), dom); res.Status != want {
					t.Errorf("%s: %v %v", dom, res.Status, res.Err)
					return
				}
				if n := poolSize(); n > socksPerServer {
					t.Errorf("%d sockets in the pool, at most %d allowed", n, socksPerServer)
					return
				}
			}
		})
	}
	wg.Wait()
}
