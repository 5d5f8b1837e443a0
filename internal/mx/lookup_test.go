package mx_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"mailtk/internal/mx"
	"mailtk/internal/mx/mxtest"
)

// resolver returns a Resolver that asks only addr. Every test names its
// server, so the system resolver is never used.
func resolver(t *testing.T, mod func(*mx.Options), addr ...string) *mx.Resolver {
	t.Helper()
	o := mx.Options{Servers: addr, Timeout: 5 * time.Second, Attempts: 2, Sorted: true,
		ResolvConf: "/nonexistent/resolv.conf"}
	if mod != nil {
		mod(&o)
	}
	r, err := mx.NewResolver(o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// hostLines renders hosts as "pref name addr..." for comparison.
func hostLines(hs []mx.Host) []string {
	var out []string
	for _, h := range hs {
		l := fmt.Sprintf("%d %s", h.Pref, h.Name)
		for _, a := range h.Addrs {
			l += " " + a.String()
		}
		out = append(out, l)
	}
	return out
}

func problems(res mx.Result) string {
	p := res.Problems
	for _, h := range res.Hosts {
		p = append(p, h.Problems...)
	}
	if res.Err != nil {
		p = append(p, res.Err.Error())
	}
	return strings.Join(p, "; ")
}

// The cases of RFC 5321 §5.1, RFC 7505 and RFC 2181 §10.3, each as a name
// in the test zone.
var lookupCases = []struct {
	domain  string
	status  mx.Status
	hosts   []string // "pref name addrs", in order (Sorted)
	problem string   // substring of the problems or of Err
}{
	{"example.test", mx.OK, []string{"10 mx1.example.test 127.0.0.1 ::1", "20 mx2.example.test 127.0.0.2"}, ""},
	{"Example.TEST.", mx.OK, []string{"10 mx1.example.test 127.0.0.1 ::1", "20 mx2.example.test 127.0.0.2"}, ""},
	{"equal.example.test", mx.OK, []string{"10 mx1.example.test 127.0.0.1 ::1", "10 mx2.example.test 127.0.0.2", "10 mx3.example.test ::3"}, ""},
	{"nomx.example.test", mx.OK, []string{"0 nomx.example.test 127.0.0.3"}, ""},
	{"nomx6.example.test", mx.OK, []string{"0 nomx6.example.test ::4"}, ""},
	{"nullmx.example.test", mx.NullMX, nil, "RFC 7505"},
	{"nullmixed.example.test", mx.OK, []string{"10 mx1.example.test 127.0.0.1 ::1"}, "null MX mixed"},
	{"cnamemx.example.test", mx.OK, []string{"10 alias.example.test 127.0.0.1 ::1"}, "CNAME for mx1.example.test (RFC 2181 §10.3"},
	{"dangling.example.test", mx.NoAddress, []string{"10 txtonly.example.test"}, "no A or AAAA"},
	{"nowhere.example.test", mx.NoAddress, []string{"10 missing.example.test"}, "does not exist"},
	{"half.example.test", mx.OK, []string{"10 missing.example.test", "20 mx2.example.test 127.0.0.2"}, "does not exist"},
	{"iplit.example.test", mx.OK, []string{"10 192.0.2.1 192.0.2.1"}, "IP address, not a host name"},
	{"txtonly.example.test", mx.NoData, nil, "no MX and no address"},
	{"missing.example.test", mx.NXDomain, nil, "NXDOMAIN"},
	{"aliasdom.example.test", mx.OK, []string{"10 mx1.example.test 127.0.0.1 ::1", "20 mx2.example.test 127.0.0.2"}, ""},
	{"aliasnx.example.test", mx.NXDomain, nil, "alias of gone.example.test"},
	{"loop1.example.test", mx.TempFail, nil, "CNAME loop"},
	{"bücher.example.test", mx.OK, []string{"10 mx2.example.test 127.0.0.2"}, ""},
	{"outside.example.test", mx.TempFail, []string{"10 mx.elsewhere.invalid"}, "REFUSED"},
	{"badmx.example.test", mx.TempFail, []string{"10 servfail.example.test"}, "SERVFAIL"},
	{"servfail.example.test", mx.TempFail, nil, "SERVFAIL from 127.0.0.1:"},
	{"refused.example.test", mx.TempFail, nil, "REFUSED from 127.0.0.1:"},
	{"spoof.example.test", mx.OK, []string{"10 mx1.example.test 127.0.0.1 ::1"}, ""},
	{"tc.example.test", mx.OK, []string{"10 mx1.example.test 127.0.0.1 ::1"}, ""},
	{"formerr.example.test", mx.OK, []string{"10 mx1.example.test 127.0.0.1 ::1"}, ""},
	{"elsewhere.invalid", mx.TempFail, nil, "REFUSED"},
	{"", mx.Invalid, nil, "empty domain"},
	{"a..b", mx.Invalid, nil, "invalid domain"},
	{"foo_bar.example.test", mx.Invalid, nil, "invalid domain"},
	{strings.Repeat("a", 64) + ".test", mx.Invalid, nil, "label longer than 63"},
	{strings.Repeat("abcdefghi.", 26) + "test", mx.Invalid, nil, "longer than 253"},
	{"[192.0.2.1]", mx.Invalid, nil, "address literal"},
	{"192.0.2.1", mx.Invalid, nil, "address literal"},
}

func TestLookup(t *testing.T) {
	srv := mxtest.Start(t)
	r := resolver(t, nil, srv.Addr)
	for _, c := range lookupCases {
		t.Run(c.domain, func(t *testing.T) {
			res := r.Lookup(context.Background(), c.domain)
			if res.Status != c.status {
				t.Fatalf("status %v, want %v (err %v)", res.Status, c.status, res.Err)
			}
			if got, want := strings.Join(hostLines(res.Hosts), "\n"), strings.Join(c.hosts, "\n"); got != want {
				t.Errorf("hosts:\n%s\nwant:\n%s", got, want)
			}
			all := problems(res)
			if c.problem != "" && !strings.Contains(all, c.problem) {
				t.Errorf("problems/err %q do not mention %q", all, c.problem)
			}
			if c.problem == "" && all != "" {
				t.Errorf("unexpected problems/err %q", all)
			}
			if (res.Status == mx.OK) != (res.Err == nil) {
				t.Errorf("status %v with err %v", res.Status, res.Err)
			}
		})
	}
}

func TestImplicitIsMarked(t *testing.T) {
	srv := mxtest.Start(t)
	r := resolver(t, nil, srv.Addr)
	res := r.Lookup(context.Background(), "nomx.example.test")
	if len(res.Hosts) != 1 || !res.Hosts[0].Implicit || res.Hosts[0].Pref != 0 {
		t.Fatalf("implicit MX not marked: %+v", res.Hosts)
	}
	res = r.Lookup(context.Background(), "example.test")
	for _, h := range res.Hosts {
		if h.Implicit {
			t.Errorf("%s marked implicit", h.Name)
		}
	}
}

func TestIDN(t *testing.T) {
	srv := mxtest.Start(t)
	res := resolver(t, nil, srv.Addr).Lookup(context.Background(), "BÜCHER.example.test")
	if res.Domain != "xn--bcher-kva.example.test" || res.Input != "BÜCHER.example.test" {
		t.Fatalf("domain %q input %q", res.Domain, res.Input)
	}
}

func TestTruncatedAnswerRetriedOverTCP(t *testing.T) {
	srv := mxtest.Start(t)
	r := resolver(t, nil, srv.Addr)
	res := r.Lookup(context.Background(), "tc.example.test")
	if res.Status != mx.OK || srv.Count("tcp", "tc.example.test.", dns.TypeMX) != 1 {
		t.Fatalf("status %v, TCP queries %d", res.Status, srv.Count("tcp", "tc.example.test.", dns.TypeMX))
	}
	// 100 MX records do not fit in 1232 octets: the real answer comes
	// over TCP, and only MaxHosts exchangers are kept.
	res = r.Lookup(context.Background(), "many.example.test")
	if res.Status != mx.OK || len(res.Hosts) != mx.DefaultMaxHosts {
		t.Fatalf("many: status %v, %d hosts, err %v", res.Status, len(res.Hosts), res.Err)
	}
	if srv.Count("tcp", "many.example.test.", dns.TypeMX) != 1 {
		t.Errorf("many: no TCP query")
	}
	if !strings.Contains(strings.Join(res.Problems, ";"), "100 MX records; only the first 32") {
		t.Errorf("problems %q", res.Problems)
	}
	for i, h := range res.Hosts {
		if want := fmt.Sprintf("m%03d.example.test", i); h.Name != want || len(h.Addrs) != 1 {
			t.Errorf("host %d = %s %v, want %s", i, h.Name, h.Addrs, want)
		}
	}
}

func TestSpoofedRepliesIgnored(t *testing.T) {
	srv := mxtest.Start(t)
	res := resolver(t, nil, srv.Addr).Lookup(context.Background(), "spoof.example.test")
	if res.Status != mx.OK || len(res.Hosts) != 1 || res.Hosts[0].Name != "mx1.example.test" {
		t.Fatalf("spoofed answer taken: %v %v", res.Status, hostLines(res.Hosts))
	}
	if n := srv.Count("udp", "spoof.example.test.", dns.TypeMX); n != 1 {
		t.Errorf("spoof: %d queries, want 1 (the real answer must be waited for, not re-asked)", n)
	}
}

func TestLostQueryRetried(t *testing.T) {
	srv := mxtest.Start(t)
	r := resolver(t, func(o *mx.Options) { o.Timeout = 300 * time.Millisecond; o.Attempts = 5 }, srv.Addr)
	res := r.Lookup(context.Background(), "lossy.example.test")
	if res.Status != mx.OK {
		t.Fatalf("status %v err %v", res.Status, res.Err)
	}
	if n := srv.Count("udp", "lossy.example.test.", dns.TypeMX); n < 2 {
		t.Errorf("%d MX queries, want a retry", n)
	}
}

func TestTimeoutIsTemporaryAndBounded(t *testing.T) {
	srv := mxtest.Start(t)
	r := resolver(t, func(o *mx.Options) { o.Timeout = 100 * time.Millisecond; o.Attempts = 3 }, srv.Addr)
	res := r.Lookup(context.Background(), "blackhole.example.test")
	if res.Status != mx.TempFail || !strings.Contains(res.Err.Error(), "timeout") {
		t.Fatalf("status %v err %v", res.Status, res.Err)
	}
	if n := srv.Count("udp", "blackhole.example.test.", dns.TypeMX); n != 3 {
		t.Errorf("%d tries, want exactly Attempts = 3", n)
	}
	// MaxTime cuts a lookup short whatever the retries.
	r = resolver(t, func(o *mx.Options) { o.Timeout = time.Hour; o.MaxTime = 200 * time.Millisecond }, srv.Addr)
	res = r.Lookup(context.Background(), "blackhole.example.test")
	if res.Status != mx.TempFail || !strings.Contains(res.Err.Error(), "no answer within 200ms") {
		t.Fatalf("status %v err %v", res.Status, res.Err)
	}
}

func TestServerFailover(t *testing.T) {
	bad := mxtest.Start(t)
	bad.RefuseAll(true)
	good := mxtest.Start(t)
	r := resolver(t, nil, bad.Addr, good.Addr)
	res := r.Lookup(context.Background(), "example.test")
	if res.Status != mx.OK {
		t.Fatalf("status %v err %v", res.Status, res.Err)
	}
	// A server that refused is not asked again in later rounds.
	if n := bad.Count("udp", "example.test.", dns.TypeMX); n != 1 {
		t.Errorf("refusing server asked %d times", n)
	}

	// A closed port fails over too (ICMP port unreachable).
	closed, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.LocalAddr().String()
	closed.Close()
	res = resolver(t, nil, closedAddr, good.Addr).Lookup(context.Background(), "example.test")
	if res.Status != mx.OK {
		t.Fatalf("closed port first: status %v err %v", res.Status, res.Err)
	}
	res = resolver(t, nil, closedAddr).Lookup(context.Background(), "example.test")
	if res.Status != mx.TempFail {
		t.Fatalf("only a closed port: status %v err %v", res.Status, res.Err)
	}
}

func TestEqualPreferencesShuffled(t *testing.T) {
	srv := mxtest.Start(t)
	r := resolver(t, func(o *mx.Options) { o.Sorted = false; o.NoAddrs = true }, srv.Addr)
	orders := map[string]bool{}
	for range 100 {
		res := r.Lookup(context.Background(), "equal.example.test")
		var names []string
		for _, h := range res.Hosts {
			names = append(names, h.Name)
		}
		orders[strings.Join(names, " ")] = true
		res = r.Lookup(context.Background(), "example.test")
		if res.Hosts[0].Pref != 10 || res.Hosts[1].Pref != 20 {
			t.Fatalf("not sorted by preference: %v", hostLines(res.Hosts))
		}
	}
	// 100 draws of 6 equally likely orders: all the same has odds 6^-99.
	if len(orders) < 2 {
		t.Errorf("equal preferences never shuffled: %v", orders)
	}
}

func TestNoAddrs(t *testing.T) {
	srv := mxtest.Start(t)
	r := resolver(t, func(o *mx.Options) { o.NoAddrs = true }, srv.Addr)
	res := r.Lookup(context.Background(), "example.test")
	if res.Status != mx.OK || strings.Join(hostLines(res.Hosts), ",") != "10 mx1.example.test,20 mx2.example.test" {
		t.Fatalf("%v %v", res.Status, hostLines(res.Hosts))
	}
	if n := srv.Count("udp", "mx1.example.test.", dns.TypeA); n != 0 {
		t.Errorf("addresses looked up with NoAddrs")
	}
	// The implicit MX still needs its addresses to exist at all.
	res = r.Lookup(context.Background(), "nomx.example.test")
	if res.Status != mx.OK || len(res.Hosts[0].Addrs) != 1 {
		t.Fatalf("implicit with NoAddrs: %v %v", res.Status, hostLines(res.Hosts))
	}
	res = r.Lookup(context.Background(), "dangling.example.test")
	if res.Status != mx.OK {
		t.Fatalf("dangling with NoAddrs: %v", res.Status)
	}
}

func TestTLSAAndSecure(t *testing.T) {
	srv := mxtest.Start(t)
	r := resolver(t, func(o *mx.Options) { o.TLSA = true }, srv.Addr)
	res := r.Lookup(context.Background(), "dane.example.test")
	if res.Status != mx.OK || len(res.Hosts) != 1 {
		t.Fatalf("%v %v", res.Status, res.Err)
	}
	h := res.Hosts[0]
	want := mx.TLSA{Usage: 3, Selector: 1, MatchingType: 1, Data: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}
	if len(h.TLSA) != 1 || h.TLSA[0] != want || h.TLSASecure {
		t.Fatalf("TLSA %+v secure %v", h.TLSA, h.TLSASecure)
	}
	if res.Secure {
		t.Errorf("secure without the AD bit")
	}
	if res := r.Lookup(context.Background(), "ad.example.test"); !res.Secure {
		t.Errorf("AD bit not reported")
	}
	if res := r.Lookup(context.Background(), "example.test"); len(res.Hosts[1].TLSA) != 0 {
		t.Errorf("TLSA for mx2: %+v", res.Hosts[1].TLSA)
	}
}

func TestContextCancel(t *testing.T) {
	srv := mxtest.Start(t)
	r := resolver(t, func(o *mx.Options) { o.Timeout = time.Hour }, srv.Addr)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for srv.Count("udp", "blackhole.example.test.", dns.TypeMX) == 0 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	if res := r.Lookup(ctx, "blackhole.example.test"); res.Status != mx.TempFail {
		t.Fatalf("status %v", res.Status)
	}
}

func TestCacheSharesAnswers(t *testing.T) {
	srv := mxtest.Start(t)
	r := resolver(t, nil, srv.Addr)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			for _, d := range []string{"example.test", "equal.example.test", "dane.example.test"} {
				if res := r.Lookup(context.Background(), d); res.Status != mx.OK {
					t.Errorf("%s: %v", d, res.Status)
				}
			}
		})
	}
	wg.Wait()
	for _, q := range []struct {
		name  string
		qtype uint16
	}{{"mx1.example.test.", dns.TypeA}, {"mx1.example.test.", dns.TypeAAAA}, {"example.test.", dns.TypeMX}} {
		if n := srv.Count("udp", q.name, q.qtype); n != 1 {
			t.Errorf("%s %s asked %d times", q.name, dns.TypeToString[q.qtype], n)
		}
	}
	// Without the cache every lookup asks.
	r = resolver(t, func(o *mx.Options) { o.CacheSize = -1 }, srv.Addr)
	r.Lookup(context.Background(), "example.test")
	if n := srv.Count("udp", "example.test.", dns.TypeMX); n != 2 {
		t.Errorf("uncached: asked %d times in all", n)
	}
}

// TestSharedSocketsRetire runs more queries than a shared socket takes, in
// parallel, with spoofed and truncated replies among them.
func TestSharedSocketsRetire(t *testing.T) {
	srv := mxtest.Start(t)
	r := resolver(t, func(o *mx.Options) { o.CacheSize = -1 }, srv.Addr)
	var wg sync.WaitGroup
	for w := range 10 {
		wg.Go(func() {
			for i := range 100 {
				d := []string{"example.test", "spoof.example.test", "tc.example.test", "missing.example.test"}[(w+i)%4]
				want := mx.OK
				if d == "missing.example.test" {
					want = mx.NXDomain
				}
				if res := r.Lookup(context.Background(), d); res.Status != want {
					t.Errorf("%s: %v %v", d, res.Status, res.Err)
					return
				}
			}
		})
	}
	wg.Wait()
	r.Close()
	if res := r.Lookup(context.Background(), "example.test"); res.Status != mx.OK {
		t.Logf("after Close: %v %v", res.Status, res.Err)
	}
}
