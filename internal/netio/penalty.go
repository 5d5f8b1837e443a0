package netio

import (
	"container/list"
	"context"
	"net/netip"
	"sync"
	"time"
)

// Defaults for the zero values of PenaltyOptions.
const (
	DefaultPenaltyBase   = time.Second
	DefaultPenaltyMax    = 16 * time.Second
	DefaultPenaltyForget = 10 * time.Minute
	DefaultPenaltySize   = 4096
)

// PenaltyOptions configures a Penalty.
type PenaltyOptions struct {
	Base   time.Duration    // delay after the first failure (default 1s)
	Max    time.Duration    // the delay never grows past this (default 16s)
	Forget time.Duration    // an address is forgotten this long after its last failure (default 10m)
	Size   int              // at most this many addresses are remembered (default 4096)
	Now    func() time.Time // the clock (default time.Now); tests inject one
}

// Penalty slows down password guessing: each failed login from an
// address doubles the delay before the server answers it (Base, 2·Base,
// 4·Base, … up to Max), a success halves the count (see Success), and an address is forgotten
// Forget after its last failure. smtpd AUTH, pop3d and imapd share one
// per process. Memory is bounded: past Size addresses, the least recently
// failed one is forgotten. IPv6 addresses count per /64, like the
// connection limit. A Penalty is safe for concurrent use.
//
// In stdin/stdout mode (one process per connection) a Penalty only sees
// one client's session; it still slows that session's repeated guesses.
type Penalty struct {
	o PenaltyOptions

	mu  sync.Mutex
	lru *list.List // of *penaltyEntry, most recent failure first
	m   map[netip.Addr]*list.Element
}

type penaltyEntry struct {
	key   netip.Addr
	fails int
	last  time.Time
}

// NewPenalty returns a Penalty with o's settings, zero values defaulted.
func NewPenalty(o PenaltyOptions) *Penalty {
	if o.Base <= 0 {
		o.Base = DefaultPenaltyBase
	}
	if o.Max <= 0 {
		o.Max = DefaultPenaltyMax
	}
	if o.Max < o.Base {
		o.Max = o.Base
	}
	if o.Forget <= 0 {
		o.Forget = DefaultPenaltyForget
	}
	if o.Size <= 0 {
		o.Size = DefaultPenaltySize
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Penalty{o: o, lru: list.New(), m: map[netip.Addr]*list.Element{}}
}

// delayFor is Base·2^(fails-1), capped at Max.
func (p *Penalty) delayFor(fails int) time.Duration {
	if fails <= 0 {
		return 0
	}
	d := p.o.Base
	for i := 1; i < fails && d < p.o.Max; i++ {
		d *= 2
	}
	return min(d, p.o.Max)
}

// entry returns ip's live entry, dropping it if forgotten. Call with mu.
func (p *Penalty) entry(key netip.Addr, now time.Time) *list.Element {
	el, ok := p.m[key]
	if !ok {
		return nil
	}
	if now.Sub(el.Value.(*penaltyEntry).last) >= p.o.Forget {
		p.lru.Remove(el)
		delete(p.m, key)
		return nil
	}
	return el
}

// Fail records a failed login from ip and returns how long the server
// should wait before answering it.
func (p *Penalty) Fail(ip netip.Addr) time.Duration {
	if !ip.IsValid() {
		return p.o.Base
	}
	key := ipKey(ip.Unmap())
	now := p.o.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	el := p.entry(key, now)
	if el == nil {
		for p.lru.Len() >= p.o.Size {
			old := p.lru.Back()
			p.lru.Remove(old)
			delete(p.m, old.Value.(*penaltyEntry).key)
		}
		el = p.lru.PushFront(&penaltyEntry{key: key})
		p.m[key] = el
	} else {
		p.lru.MoveToFront(el)
	}
	e := el.Value.(*penaltyEntry)
	e.fails++
	e.last = now
	return p.delayFor(e.fails)
}

// Success halves ip's failure count (rounding down), forgetting the
// address when none are left. It does not clear the count: the address
// may be a NAT shared by many users, or one attacker with one valid
// account of their own, who could otherwise reset the penalty with a
// good login between guesses. Halving lets a user who mistyped a
// password recover within a few good logins, while an attacker who puts
// k guesses between good logins settles at k failures and their delay,
// instead of starting each round from none.
func (p *Penalty) Success(ip netip.Addr) {
	key := ipKey(ip.Unmap())
	p.mu.Lock()
	defer p.mu.Unlock()
	el, ok := p.m[key]
	if !ok {
		return
	}
	e := el.Value.(*penaltyEntry)
	e.fails /= 2
	if e.fails == 0 {
		p.lru.Remove(el)
		delete(p.m, key)
	}
}

// Delay returns the delay ip has earned so far (what its last failure
// was answered with), zero when it has none. A server may wait this long
// before its greeting or before checking the next password.
func (p *Penalty) Delay(ip netip.Addr) time.Duration {
	key := ipKey(ip.Unmap())
	p.mu.Lock()
	defer p.mu.Unlock()
	el := p.entry(key, p.o.Now())
	if el == nil {
		return 0
	}
	return p.delayFor(el.Value.(*penaltyEntry).fails)
}

// Len returns how many addresses are remembered.
func (p *Penalty) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lru.Len()
}

// Sleep waits for d or until ctx ends, whichever is first, and returns
// ctx's error in the second case. Servers use it to apply a Penalty
// without delaying shutdown.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
