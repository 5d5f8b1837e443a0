package mx

import (
	"context"
	"encoding/binary"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// replayConn is a DNS server in a net.Conn: every query written to it is
// answered with the same fuzzed bytes, the ID patched to match and, when
// splice is set, the query's question put in front of the fuzzed sections.
// With nothing left to read it reports a timeout at once, so a fuzzed
// lookup never waits.
type replayConn struct {
	net.Conn // nil: only the methods below are used
	tcp      bool
	splice   bool
	reply    []byte
	mu       sync.Mutex
	out      []byte
}

func (c *replayConn) Write(b []byte) (int, error) {
	q := b
	if c.tcp {
		if len(q) < 2 {
			return len(b), nil
		}
		q = q[2:]
	}
	if len(q) < 12 {
		return len(b), nil
	}
	r := append([]byte(nil), c.reply...)
	if len(r) >= 12 {
		copy(r[0:2], q[0:2])
		if c.splice {
			// The query's question ends before its OPT record.
			m := new(dns.Msg)
			if m.Unpack(q) == nil && len(m.Question) == 1 {
				qb, _ := (&dns.Msg{Question: m.Question}).Pack()
				binary.BigEndian.PutUint16(r[4:6], 1)
				r = append(append(r[:12:12], qb[12:]...), c.reply[12:]...)
			}
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tcp {
		c.out = binary.BigEndian.AppendUint16(nil, uint16(len(r)))
	}
	c.out = append(c.out, r...)
	return len(b), nil
}

func (c *replayConn) Read(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.out) == 0 {
		return 0, os.ErrDeadlineExceeded
	}
	n := copy(b, c.out)
	if c.tcp {
		c.out = c.out[n:]
	} else {
		c.out = nil // one datagram per read
	}
	return n, nil
}

func (c *replayConn) Close() error                     { return nil }
func (c *replayConn) SetDeadline(time.Time) error      { return nil }
func (c *replayConn) SetReadDeadline(time.Time) error  { return nil }
func (c *replayConn) SetWriteDeadline(time.Time) error { return nil }

// fuzzSeeds are real answers: a name's MX set, a CNAME chain, a null MX,
// NXDOMAIN, SERVFAIL, a truncated reply and a compression loop.
func fuzzSeeds() [][]byte {
	mk := func(rcode int, tc bool, rrs ...string) []byte {
		m := new(dns.Msg)
		m.Response, m.Rcode, m.Truncated = true, rcode, tc
		for _, s := range rrs {
			rr, err := dns.NewRR(s)
			if err != nil {
				panic(err)
			}
			m.Answer = append(m.Answer, rr)
		}
		b, err := m.Pack()
		if err != nil {
			panic(err)
		}
		return append([]byte{1}, b...)
	}
	loop := mk(0, false)
	loop = append(loop, 0xc0, 0x0c, 0, 15, 0, 1, 0, 0, 0, 1, 0, 4, 0, 10, 0xc0, 0x1a)
	binary.BigEndian.PutUint16(loop[1+6:], 1)
	return [][]byte{
		mk(0, false, "x.test. 1 IN MX 10 mx1.x.test.", "x.test. 1 IN MX 20 mx2.x.test."),
		mk(0, false, "x.test. 1 IN MX 0 ."),
		mk(0, false, "x.test. 1 IN CNAME y.test.", "y.test. 1 IN CNAME x.test."),
		mk(0, false, "x.test. 1 IN A 192.0.2.1", "x.test. 1 IN AAAA 2001:db8::1"),
		mk(0, false, "_25._tcp.x.test. 1 IN TLSA 3 1 1 00ff"),
		mk(dns.RcodeNameError, false),
		mk(dns.RcodeServerFailure, false),
		mk(0, true),
		loop,
		{0},
	}
}

// FuzzReply feeds one hostile reply to every query of a whole lookup.
// Property: Lookup never panics, ends after a bounded number of queries,
// and returns a Result that is consistent with its Status.
func FuzzReply(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		var dials atomic.Int64
		r, err := NewResolver(Options{
			Servers: []string{"192.0.2.53"}, Timeout: time.Second, Attempts: 2, MaxHosts: 4, TLSA: true,
			Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
				dials.Add(1)
				return &replayConn{tcp: network == "tcp", splice: data[0]&1 == 1, reply: data[1:]}, nil
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		res := r.Lookup(context.Background(), "x.test")
		// Per name: 2 rounds, UDP and TCP, twice for the EDNS fallback,
		// over at most maxChain+1 names; names: the MX, then per host
		// A, AAAA and TLSA.
		perName := int64(2 * 2 * 2 * (maxChain + 1))
		if max := perName * (1 + 4*3); dials.Load() > max {
			t.Fatalf("%d queries, bound %d", dials.Load(), max)
		}
		if res.Status < OK || res.Status > Invalid {
			t.Fatalf("status %d", res.Status)
		}
		if (res.Status == OK) != (res.Err == nil) {
			t.Fatalf("status %v err %v", res.Status, res.Err)
		}
		if res.Status == OK && len(res.Hosts) == 0 || len(res.Hosts) > 4 {
			t.Fatalf("status %v with %d hosts", res.Status, len(res.Hosts))
		}
		for _, h := range res.Hosts {
			if h.Name == "" || strings.HasSuffix(h.Name, ".") && h.Name != "." {
				t.Fatalf("host name %q", h.Name)
			}
		}
	})
}

// TestWriteFuzzSeeds rewrites testdata/fuzz/FuzzReply from fuzzSeeds when
// MX_WRITE_SEEDS is set.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("MX_WRITE_SEEDS") == "" {
		t.Skip("set MX_WRITE_SEEDS=1 to rewrite the seed corpus")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzReply")
	os.MkdirAll(dir, 0o755)
	for i, s := range fuzzSeeds() {
		var b strings.Builder
		b.WriteString("go test fuzz v1\n[]byte(\"")
		for _, c := range s {
			b.WriteString("\\x")
			b.WriteByte("0123456789abcdef"[c>>4])
			b.WriteByte("0123456789abcdef"[c&15])
		}
		b.WriteString("\")\n")
		if err := os.WriteFile(filepath.Join(dir, "seed"+string(rune('a'+i))), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
