package relay

import (
	"context"
	"errors"

	"mailtk/internal/mx"
)

// MXHosts adapts an mx.Resolver to the MXResolver the transport needs:
// the exchangers in the order to try them, a permanent error for a
// domain without mail service (NXDOMAIN, null MX, RFC 7505 §4.1), a
// temporary one otherwise.
func MXHosts(r *mx.Resolver) MXResolver { return mxHosts{r} }

type mxHosts struct{ r *mx.Resolver }

func (m mxHosts) Hosts(ctx context.Context, domain string) ([]Hop, error) {
	res := m.r.Lookup(ctx, domain)
	err := res.Err
	if err == nil && res.Status != mx.OK {
		err = errors.New(res.Status.String())
	}
	if res.Status == mx.NullMX {
		// RFC 7505 §4.2: a null MX fails the message with 5.1.10.
		return nil, &PermanentError{Err: err, Status: "5.1.10"}
	}
	if res.Status.NoService() || res.Status == mx.Invalid {
		return nil, &PermanentError{Err: err}
	}
	if res.Status != mx.OK {
		return nil, err
	}
	hops := make([]Hop, 0, len(res.Hosts))
	for _, h := range res.Hosts {
		if len(h.Addrs) == 0 {
			continue // no address to try; RFC 5321 §5.1: skip it
		}
		hops = append(hops, Hop{Name: h.Name, Addrs: h.Addrs})
	}
	if len(hops) == 0 {
		return nil, errors.New("no exchanger has an address yet")
	}
	return hops, nil
}
