// Package mx finds where mail for a domain goes, the way an SMTP client
// must (RFC 5321 §5.1): MX records sorted by preference with equal
// preferences shuffled, the implicit MX when there is none, the null MX of
// RFC 7505, each exchanger's addresses and, on request, its DANE TLSA
// records (RFC 7672).
//
// It is the resolution core of mxlookup(1) and of sendmail's queue runner
// for direct delivery. It speaks DNS itself (github.com/miekg/dns) to the
// servers it is given, so every outcome that matters to a mail client is
// kept distinct: the domain does not exist, accepts no mail, has no
// addresses, or could not be resolved right now.
//
// A Resolver holds no state between lookups other than its settings and
// a bounded cache of answers (kept for their TTL), and is safe for
// concurrent use.
package mx

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"
)

// Defaults used when Options and resolv.conf leave a setting open.
const (
	DefaultTimeout     = 5 * time.Second // per try, as resolv.conf(5)
	DefaultAttempts    = 2               // rounds over the servers, as resolv.conf(5)
	DefaultMaxInFlight = 100             // queries in flight per Resolver
	DefaultMaxHosts    = 32              // exchangers resolved per domain
	DefaultResolvConf  = "/etc/resolv.conf"
)

// Options configure a Resolver. The zero value reads /etc/resolv.conf.
type Options struct {
	// Servers to ask, "addr" or "addr:port" (IPv6 as "[addr]:port").
	// When empty, the nameservers of ResolvConf are used.
	Servers []string
	// ResolvConf is the resolv.conf(5) file read for servers, timeout
	// and attempts; DefaultResolvConf when empty. It is read only for
	// settings that are not given here.
	ResolvConf string
	// Timeout is how long one try waits for an answer from one server
	// (resolv.conf timeout:, else DefaultTimeout).
	Timeout time.Duration
	// Attempts is how many rounds over the servers a query makes before
	// it fails temporarily (resolv.conf attempts:, else DefaultAttempts).
	Attempts int
	// MaxTime bounds one Lookup, all queries together. Zero means
	// 3 × Timeout × Attempts × number of servers (three stages: MX,
	// addresses, TLSA).
	MaxTime time.Duration
	// MaxInFlight bounds the queries this Resolver has outstanding at
	// once, across concurrent Lookups (DefaultMaxInFlight when zero).
	MaxInFlight int
	// MaxHosts bounds how many exchangers of one domain are kept and
	// resolved, lowest preferences first (DefaultMaxHosts when zero).
	MaxHosts int
	// NoAddrs skips the A/AAAA lookups of the exchangers. The implicit
	// MX is still checked for addresses, since that decides whether the
	// domain has mail service.
	NoAddrs bool
	// TLSA also fetches the DANE TLSA records _25._tcp.HOST of each
	// exchanger (RFC 7672 §2.2).
	TLSA bool
	// Sorted orders equal preferences by name instead of shuffling them,
	// and addresses by value, for reproducible output.
	Sorted bool
	// CacheSize bounds how many answers are kept (for their TTL, at most
	// an hour) and shared between lookups, for domains and for hosts
	// each: DefaultCacheSize when zero,
	// no cache when negative. Concurrent identical queries are always
	// asked once when the cache is on.
	CacheSize int
	// Dial opens connections to the servers. When nil, a net.Dialer is
	// used and UDP queries share a few sockets per server; with a Dial
	// of its own every query gets its own connection.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Resolver looks up mail exchangers. Create it with NewResolver.
type Resolver struct {
	servers   []string
	rotate    bool
	timeout   time.Duration
	attempts  int
	maxTime   time.Duration
	maxHosts  int
	noAddrs   bool
	tlsa      bool
	sorted    bool
	dial      func(ctx context.Context, network, addr string) (net.Conn, error)
	sem       chan struct{}
	bufs      sync.Pool
	cache     *cache  // MX answers
	hostCache *cache  // address and TLSA answers
	mux       *udpMux // nil with a custom Dial: one connection per query
}

// NewResolver checks opts, fills in defaults (reading resolv.conf when
// servers, timeout or attempts are not given) and returns a Resolver.
func NewResolver(opts Options) (*Resolver, error) {
	r := &Resolver{
		timeout:  opts.Timeout,
		attempts: opts.Attempts,
		maxTime:  opts.MaxTime,
		maxHosts: opts.MaxHosts,
		noAddrs:  opts.NoAddrs,
		tlsa:     opts.TLSA,
		sorted:   opts.Sorted,
		dial:     opts.Dial,
	}
	for _, s := range opts.Servers {
		a, err := ServerAddr(s)
		if err != nil {
			return nil, err
		}
		r.servers = append(r.servers, a)
	}
	if len(r.servers) == 0 || r.timeout <= 0 || r.attempts <= 0 {
		path := opts.ResolvConf
		if path == "" {
			path = DefaultResolvConf
		}
		rc := ResolvConf{Servers: []string{"127.0.0.1:53"}}
		f, err := os.Open(path)
		if err == nil {
			rc = ParseResolvConf(f)
			f.Close()
		} else if len(r.servers) == 0 && opts.ResolvConf != "" {
			return nil, err
		}
		if len(r.servers) == 0 {
			r.servers, r.rotate = rc.Servers, rc.Rotate
		}
		if r.timeout <= 0 {
			r.timeout = rc.Timeout
		}
		if r.attempts <= 0 {
			r.attempts = rc.Attempts
		}
	}
	if r.timeout <= 0 {
		r.timeout = DefaultTimeout
	}
	if r.attempts <= 0 {
		r.attempts = DefaultAttempts
	}
	if r.maxTime <= 0 {
		r.maxTime = 3 * r.timeout * time.Duration(r.attempts*len(r.servers))
	}
	if r.maxHosts <= 0 {
		r.maxHosts = DefaultMaxHosts
	}
	n := opts.MaxInFlight
	if n <= 0 {
		n = DefaultMaxInFlight
	}
	r.sem = make(chan struct{}, n)
	r.bufs.New = func() any { b := make([]byte, maxMsg); return &b }
	if r.dial == nil {
		d := &net.Dialer{}
		r.dial = d.DialContext
		r.mux = &udpMux{dial: r.dial, bufs: &r.bufs, socks: map[string][]*muxSock{}}
	}
	if opts.CacheSize >= 0 {
		r.cache = newCache(cmp.Or(opts.CacheSize, DefaultCacheSize))
		r.hostCache = newCache(cmp.Or(opts.CacheSize, DefaultCacheSize))
	}
	return r, nil
}

// Close releases the Resolver's sockets. Lookups still running fail
// temporarily; the Resolver must not be used afterwards.
func (r *Resolver) Close() error {
	if r.mux != nil {
		r.mux.close()
	}
	return nil
}

// Servers returns the servers the Resolver asks, as "addr:port".
func (r *Resolver) Servers() []string { return append([]string(nil), r.servers...) }

// ServerAddr turns "addr", "addr:port", "[v6addr]" or "[v6addr]:port"
// into "addr:port", port 53 by default. Names are refused: resolving
// the resolver's own address would need a resolver.
func ServerAddr(s string) (string, error) {
	if ap, err := netipParseAddrPort(s); err == nil {
		return ap, nil
	}
	if a, ok := parseNameserver(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")); ok {
		return a, nil
	}
	return "", fmt.Errorf("server %q: not an IP address with an optional port", clip(s))
}
