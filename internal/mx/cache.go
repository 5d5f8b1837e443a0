package mx

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// Cache bounds. Answers are kept for their TTL, at most maxCacheTTL, so
// a long-running queue runner sees changes within the hour whatever the
// zone says; a negative answer without an SOA is not kept.
const (
	DefaultCacheSize = 4096
	maxCacheTTL      = time.Hour
)

// cache holds recent answers and the queries in flight, so that
// concurrent lookups of domains sharing exchangers (the common case in
// bulk mode and in a mail queue) ask the server once per name and type.
type cache struct {
	mu      sync.Mutex
	size    int
	entries map[string]cacheEntry
	flight  map[string]*flightCall
}

type cacheEntry struct {
	ans     answer
	expires time.Time
}

type flightCall struct {
	done chan struct{}
	ans  answer
}

func newCache(size int) *cache {
	return &cache{size: size, entries: map[string]cacheEntry{}, flight: map[string]*flightCall{}}
}

// lookup is resolve through the cache (when the Resolver has one).
// Domains (MX answers) and hosts (address and TLSA answers) are kept
// apart, so a bulk run over many domains does not push out the few
// exchangers they share.
func (r *Resolver) lookup(ctx context.Context, name string, qtype uint16) answer {
	c := r.hostCache
	if qtype == dns.TypeMX {
		c = r.cache
	}
	if c == nil {
		a, _ := r.resolve(ctx, name, qtype)
		return a
	}
	key := dns.TypeToString[qtype] + " " + strings.ToLower(name)
	now := time.Now()
	c.mu.Lock()
	if e, ok := c.entries[key]; ok {
		if now.Before(e.expires) {
			c.mu.Unlock()
			return e.ans
		}
		delete(c.entries, key)
	}
	if f, ok := c.flight[key]; ok {
		c.mu.Unlock()
		select {
		case <-f.done:
			if f.ans.err == nil || expired(ctx) {
				return f.ans
			}
			// The first asker gave up (its own time limit); ask anew.
			a, _ := r.resolve(ctx, name, qtype)
			return a
		case <-ctx.Done():
			return answer{err: ctx.Err()}
		}
	}
	f := &flightCall{done: make(chan struct{})}
	c.flight[key] = f
	c.mu.Unlock()

	a, ttl := r.resolve(ctx, name, qtype)
	f.ans = a
	c.mu.Lock()
	delete(c.flight, key)
	if a.err == nil && ttl > 0 {
		if len(c.entries) >= c.size {
			for k := range c.entries { // evict an arbitrary tenth
				delete(c.entries, k)
				if len(c.entries) < c.size*9/10 {
					break
				}
			}
		}
		c.entries[key] = cacheEntry{ans: a, expires: now.Add(min(ttl, maxCacheTTL))}
	}
	c.mu.Unlock()
	close(f.done)
	return a
}

// replyTTL is how long a reply may be kept: the smallest TTL of its
// answer records, or for a negative answer the SOA's negative TTL
// (RFC 2308 §5); zero when it says nothing.
func replyTTL(m *dns.Msg) time.Duration {
	ttl := uint32(0)
	first := true
	take := func(t uint32) {
		if first || t < ttl {
			ttl, first = t, false
		}
	}
	for _, rr := range m.Answer {
		take(rr.Header().Ttl)
	}
	if len(m.Answer) == 0 || m.Rcode == dns.RcodeNameError {
		for _, rr := range m.Ns {
			if soa, ok := rr.(*dns.SOA); ok {
				take(min(soa.Hdr.Ttl, soa.Minttl))
			}
		}
	}
	return time.Duration(ttl) * time.Second
}
