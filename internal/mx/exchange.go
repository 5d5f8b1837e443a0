package mx

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"time"

	"github.com/miekg/dns"
)

// ednsSize is the UDP payload size we advertise: the DNS Flag Day 2020
// value, small enough to avoid IP fragmentation (RFC 9715 §3.2); larger
// answers come truncated and are fetched over TCP (RFC 7766 §5).
const ednsSize = 1232

// maxMsg is the largest DNS message (the TCP length prefix is 16 bits).
const maxMsg = 65535

// errTimeout marks a try that got no acceptable answer in time.
var errTimeout = errors.New("timeout")

// failure is the last error of a query that got no usable answer.
type failure struct {
	server string
	err    error
}

func (f *failure) Error() string { return f.err.Error() + " from " + f.server }
func (f *failure) Unwrap() error { return f.err }

// rcodeError is a reply whose RCODE is neither NOERROR nor NXDOMAIN.
type rcodeError int

func (e rcodeError) Error() string {
	if s, ok := dns.RcodeToString[int(e)]; ok {
		return s
	}
	return fmt.Sprintf("RCODE %d", int(e))
}

// query asks the configured servers name/qtype, trying each server in
// turn for up to Attempts rounds (resolv.conf(5) semantics). A server that
// answers SERVFAIL, REFUSED or another error RCODE is not asked again for
// this query. It returns the first reply with RCODE NOERROR or NXDOMAIN.
func (r *Resolver) query(ctx context.Context, name string, qtype uint16) (*dns.Msg, error) {
	select {
	case r.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-r.sem }()

	q := new(dns.Msg)
	q.SetQuestion(dns.Fqdn(name), qtype)
	q.AuthenticatedData = true // RFC 6840 §5.7: ask for the AD bit
	q.SetEdns0(ednsSize, false)

	servers := r.servers
	start := 0
	if r.rotate && len(servers) > 1 {
		start = rand.IntN(len(servers))
	}
	done := make([]bool, len(servers))
	var last error = errTimeout
	lastServer := servers[0]
	for round := 0; round < r.attempts; round++ {
		for k := range servers {
			i := (start + k) % len(servers)
			if done[i] {
				continue
			}
			srv := servers[i]
			m, err := r.try(ctx, srv, q)
			if err == nil && m.Rcode == dns.RcodeFormatError && q.IsEdns0() != nil {
				// RFC 6891 §7: a server that does not know EDNS answers
				// FORMERR; ask it again without the OPT record.
				plain := q.Copy()
				plain.Extra = nil
				m, err = r.try(ctx, srv, plain)
			}
			if expired(ctx) {
				return nil, &failure{srv, context.DeadlineExceeded}
			}
			if err != nil {
				last, lastServer = err, srv
				continue
			}
			if m.Rcode == dns.RcodeSuccess || m.Rcode == dns.RcodeNameError {
				return m, nil
			}
			done[i] = true
			last, lastServer = rcodeError(m.Rcode), srv
		}
	}
	return nil, &failure{lastServer, last}
}

// try sends q to one server over UDP, and again over TCP when the UDP
// reply is truncated.
func (r *Resolver) try(ctx context.Context, server string, q *dns.Msg) (*dns.Msg, error) {
	q.Id = dns.Id()
	wire, err := q.Pack()
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(r.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	var m *dns.Msg
	if r.mux != nil {
		m, err = r.mux.exchange(ctx, server, q, deadline)
		if err == nil && m.Truncated {
			wire, err = q.Pack() // the ID was chosen by the mux
		}
	} else {
		m, err = r.tryUDP(ctx, server, q, wire, deadline)
	}
	if err != nil || !m.Truncated {
		return m, err
	}
	// RFC 7766 §5 and RFC 1035 §4.2.1: a truncated answer is asked again
	// over TCP, with its own time budget.
	return r.tryTCP(ctx, server, q, wire, time.Now().Add(r.timeout))
}

// tryUDP sends wire over a fresh connected UDP socket (so the kernel drops
// datagrams from other addresses and the source port is random for every
// query) and waits for an acceptable reply, ignoring datagrams that do not
// match (RFC 5452 §9.1) until the deadline.
func (r *Resolver) tryUDP(ctx context.Context, server string, q *dns.Msg, wire []byte, deadline time.Time) (*dns.Msg, error) {
	c, err := r.dial(ctx, "udp", server)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	c.SetDeadline(deadline)
	if _, err := c.Write(wire); err != nil {
		return nil, err
	}
	bp := r.bufs.Get().(*[]byte)
	defer r.bufs.Put(bp)
	buf := *bp
	var ignored error
	for {
		n, err := c.Read(buf)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				if ignored != nil {
					return nil, fmt.Errorf("%w (ignored a %v)", errTimeout, ignored)
				}
				return nil, errTimeout
			}
			return nil, err
		}
		m, err := parseReply(q, buf[:n])
		if err != nil {
			ignored = err
			continue
		}
		return m, nil
	}
}

// tryTCP asks over a new TCP connection (RFC 7766 §6.2.1 framing: a
// two-octet length before each message).
func (r *Resolver) tryTCP(ctx context.Context, server string, q *dns.Msg, wire []byte, deadline time.Time) (*dns.Msg, error) {
	c, err := r.dial(ctx, "tcp", server)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	c.SetDeadline(deadline)
	out := make([]byte, 2+len(wire))
	binary.BigEndian.PutUint16(out, uint16(len(wire)))
	copy(out[2:], wire)
	if _, err := c.Write(out); err != nil {
		return nil, tcpErr(err)
	}
	var hdr [2]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		return nil, tcpErr(err)
	}
	buf := make([]byte, binary.BigEndian.Uint16(hdr[:]))
	if _, err := io.ReadFull(c, buf); err != nil {
		return nil, tcpErr(err)
	}
	m, err := parseReply(q, buf)
	if err != nil {
		return nil, fmt.Errorf("over TCP: %w", err)
	}
	if m.Truncated {
		// QUIRK: TC over TCP is meaningless (RFC 7766 §6.2.1 says clients
		// should take the answer as is); keep what came.
		m.Truncated = false
	}
	return m, nil
}

func tcpErr(err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("%w over TCP", errTimeout)
	}
	return fmt.Errorf("TCP: %w", err)
}

// parseReply unpacks b and checks that it answers q. A truncated reply is
// accepted even when its sections do not parse, since only its header
// matters: the answer is asked again over TCP.
func parseReply(q *dns.Msg, b []byte) (*dns.Msg, error) {
	m := new(dns.Msg)
	uerr := m.Unpack(b)
	if uerr != nil && (len(b) < 12 || !m.Truncated || len(m.Question) == 0) {
		return nil, fmt.Errorf("malformed reply: %w", uerr)
	}
	if err := matchReply(q, m); err != nil {
		return nil, err
	}
	if uerr != nil {
		m.Answer, m.Ns, m.Extra = nil, nil, nil
	}
	return m, nil
}

// expired reports whether ctx is done or its deadline has passed (a
// socket deadline set from it may fire before its timer does).
func expired(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	d, ok := ctx.Deadline()
	return ok && !time.Now().Before(d)
}
