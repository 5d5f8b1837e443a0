package mx

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// answer is what a query (with its CNAME chain) came to.
type answer struct {
	final   string   // the name the records belong to, FQDN
	aliases []string // names passed through CNAME records
	rrs     []dns.RR // records of the asked type at final
	nx      bool     // NXDOMAIN
	secure  bool     // every reply had AD set
	err     error    // no usable answer: a temporary failure
}

// resolve asks name/qtype and follows CNAME records, asking again for a
// chain's target when the reply stops short of it (an authoritative
// server does not follow aliases out of its zones), for at most maxChain
// aliases in all. It also returns how long the answer may be cached.
func (r *Resolver) resolve(ctx context.Context, name string, qtype uint16) (answer, time.Duration) {
	a := answer{final: dns.Fqdn(name), secure: true}
	budget := maxChain
	ttl := time.Duration(-1)
	for {
		m, err := r.query(ctx, a.final, qtype)
		if err != nil {
			a.err, a.secure = err, false
			return a, 0
		}
		if t := replyTTL(m); ttl < 0 || t < ttl {
			ttl = t
		}
		a.secure = a.secure && m.AuthenticatedData
		final, aliases, rrs, err := chase(a.final, qtype, m.Answer, budget)
		a.aliases = append(a.aliases, aliases...)
		budget -= len(aliases)
		a.final = final
		if err != nil {
			a.err = fmt.Errorf("%w at %s", err, trimDot(final))
			return a, 0
		}
		if m.Rcode == dns.RcodeNameError {
			a.nx = true
			return a, ttl
		}
		if len(rrs) > 0 || len(aliases) == 0 {
			a.rrs = rrs
			return a, ttl
		}
		if budget <= 0 {
			a.err = errCNAMEChain
			return a, 0
		}
	}
}

// Lookup finds the mail exchangers of domain (RFC 5321 §5.1). It never
// returns an error of its own: every outcome is a Status in the Result,
// with Err saying why when it is not OK.
func (r *Resolver) Lookup(ctx context.Context, domain string) Result {
	res := Result{Input: domain}
	name, err := Normalize(domain)
	if err != nil {
		res.Status, res.Err = Invalid, err
		return res
	}
	res.Domain = name
	ctx, cancel := context.WithTimeout(ctx, r.maxTime)
	defer cancel()

	mx := r.lookup(ctx, name, dns.TypeMX)
	res.Secure = mx.secure
	switch {
	case mx.err != nil:
		res.Status, res.Err = TempFail, fmt.Errorf("MX lookup: %w", lookupErr(ctx, mx.err, r))
		return res
	case mx.nx:
		res.Status, res.Err = NXDomain, errors.New("domain does not exist (NXDOMAIN)")
		if len(mx.aliases) > 0 {
			res.Err = fmt.Errorf("domain is an alias of %s, which does not exist (NXDOMAIN)", trimDot(mx.final))
		}
		return res
	case len(mx.rrs) == 0:
		// RFC 5321 §5.1: no MX records, so the domain itself is the
		// implicit MX at preference 0 if it has addresses. An alias is
		// "processed as if it were the initial name".
		r.implicit(ctx, &res, mx.final)
		return res
	}
	hosts, null := r.hosts(mx.rrs, &res)
	if len(hosts) == 0 && null {
		res.Status, res.Err = NullMX, errors.New("domain accepts no mail (null MX, RFC 7505)")
		return res
	}
	r.resolveHosts(ctx, hosts)
	res.Hosts = hosts
	res.Status = OK
	if r.noAddrs {
		return res
	}
	for _, h := range hosts {
		if len(h.Addrs) > 0 {
			return res
		}
	}
	for _, h := range hosts {
		if h.Temporary {
			res.Status = TempFail
			res.Err = fmt.Errorf("no exchanger address yet: %s: %s", h.Name, h.Problems[len(h.Problems)-1])
			if expired(ctx) {
				res.Err = fmt.Errorf("no exchanger address within %v", r.maxTime)
			}
			return res
		}
	}
	res.Status = NoAddress
	res.Err = fmt.Errorf("none of the %d exchangers has an address (RFC 5321 §5.1)", len(hosts))
	return res
}

// lookupErr names the per-domain time limit when that is what ended the
// lookup.
func lookupErr(ctx context.Context, err error, r *Resolver) error {
	if expired(ctx) {
		return fmt.Errorf("no answer within %v", r.maxTime)
	}
	return err
}

// hosts turns MX records into exchangers in the order a client tries
// them. null reports whether a null MX was among them.
func (r *Resolver) hosts(rrs []dns.RR, res *Result) (hosts []Host, null bool) {
	seen := map[string]int{}
	for _, rr := range rrs {
		m := rr.(*dns.MX)
		if m.Mx == "." {
			null = true
			continue
		}
		if _, ok := dns.IsDomainName(m.Mx); !ok || m.Mx == "" {
			res.Problems = append(res.Problems, "malformed MX record ignored")
			continue
		}
		n := strings.ToLower(trimDot(m.Mx))
		if i, ok := seen[n]; ok {
			hosts[i].Pref = min(hosts[i].Pref, m.Preference)
			continue
		}
		seen[n] = len(hosts)
		hosts = append(hosts, Host{Name: n, Pref: m.Preference})
	}
	if null && len(hosts) > 0 {
		// QUIRK: RFC 7505 §3 says a domain with a null MX "MUST NOT
		// advertise any other MX RR". When it does anyway we use the real
		// exchangers, as Postfix does, rather than refuse all mail.
		res.Problems = append(res.Problems, "null MX mixed with other MX records (RFC 7505 §3); the null MX is ignored")
	}
	slices.SortFunc(hosts, func(a, b Host) int {
		if a.Pref != b.Pref {
			return int(a.Pref) - int(b.Pref)
		}
		return strings.Compare(a.Name, b.Name)
	})
	if !r.sorted {
		// RFC 5321 §5.1: equal preferences MUST be randomized to spread
		// the load over an organization's exchangers.
		for i := 0; i < len(hosts); {
			j := i + 1
			for j < len(hosts) && hosts[j].Pref == hosts[i].Pref {
				j++
			}
			g := hosts[i:j]
			rand.Shuffle(len(g), func(a, b int) { g[a], g[b] = g[b], g[a] })
			i = j
		}
	}
	if len(hosts) > r.maxHosts {
		res.Problems = append(res.Problems, fmt.Sprintf("%d MX records; only the first %d are used", len(hosts), r.maxHosts))
		hosts = hosts[:r.maxHosts]
	}
	for i := range hosts {
		if isIPLiteral(hosts[i].Name) {
			hosts[i].Problems = append(hosts[i].Problems, "MX target is an IP address, not a host name (RFC 5321 §5.1, RFC 1035 §3.3.9)")
		}
	}
	return hosts, null
}

// literalAddr returns the address an MX target written as an IP address
// stands for.
//
// QUIRK: RFC 5321 §5.1 forbids such targets. Clients that resolve hosts
// with getaddrinfo (sendmail, most libraries) end up connecting to the
// address anyway, while Exim refuses unless allow_mx_to_ip is set. We
// report the violation and use the address, so the output shows where
// such mail would actually go.
func literalAddr(name string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(name, "["), "]"))
	return a.Unmap(), err == nil
}

// resolveHosts fetches the addresses (unless NoAddrs) and TLSA records
// (with TLSA) of all hosts at once.
func (r *Resolver) resolveHosts(ctx context.Context, hosts []Host) {
	if r.noAddrs && !r.tlsa {
		for i := range hosts {
			if a, ok := literalAddr(hosts[i].Name); ok {
				hosts[i].Addrs = []netip.Addr{a}
			}
		}
		return
	}
	var wg sync.WaitGroup
	for i := range hosts {
		h := &hosts[i]
		wg.Go(func() { r.resolveHost(ctx, h, true) })
	}
	wg.Wait()
}

// resolveHost fetches the addresses (unless NoAddrs; always for the
// implicit MX) and the TLSA records (with TLSA) of h in parallel, and
// reports whether both address lookups said NXDOMAIN.
func (r *Resolver) resolveHost(ctx context.Context, h *Host, target bool) (nx bool) {
	var wg sync.WaitGroup
	var t tlsaAnswer
	if r.tlsa {
		wg.Go(func() { t = r.fetchTLSA(ctx, h.Name) })
	}
	if a, ok := literalAddr(h.Name); ok && target {
		h.Addrs = []netip.Addr{a}
	} else if !r.noAddrs || !target {
		nx = r.addrs(ctx, h, target)
	}
	wg.Wait()
	h.TLSA, h.TLSASecure = t.recs, t.secure
	if t.problem != "" {
		h.Problems = append(h.Problems, t.problem)
	}
	return nx
}

// implicit applies the implicit MX rule to name (RFC 5321 §5.1).
func (r *Resolver) implicit(ctx context.Context, res *Result, name string) {
	h := Host{Name: trimDot(strings.ToLower(name)), Implicit: true}
	nx := r.resolveHost(ctx, &h, false)
	res.Secure = res.Secure && h.Secure
	switch {
	case len(h.Addrs) > 0:
		res.Status, res.Hosts = OK, []Host{h}
	case h.Temporary:
		res.Status = TempFail
		res.Err = fmt.Errorf("no MX records; address lookup: %s", h.Problems[len(h.Problems)-1])
		if expired(ctx) {
			res.Err = fmt.Errorf("no MX records, and no address answer within %v", r.maxTime)
		}
	case nx:
		res.Status, res.Err = NXDomain, errors.New("domain does not exist (NXDOMAIN for its addresses)")
	default:
		res.Status, res.Err = NoData, errors.New("domain has no MX and no address records (RFC 5321 §5.1)")
	}
}

// addrs looks up the A and AAAA records of h.Name and records what it
// finds in h. target says h came from an MX record, where an alias is a
// violation. It reports whether both lookups said NXDOMAIN.
func (r *Resolver) addrs(ctx context.Context, h *Host, target bool) (nx bool) {
	var ans [2]answer
	var wg sync.WaitGroup
	for i, t := range [2]uint16{dns.TypeA, dns.TypeAAAA} {
		wg.Go(func() { ans[i] = r.lookup(ctx, h.Name, t) })
	}
	wg.Wait()
	h.Secure = true
	aliased := ""
	for i, a := range ans {
		h.Secure = h.Secure && a.secure
		if a.err != nil {
			h.Temporary = true
			h.Problems = append(h.Problems, fmt.Sprintf("%s lookup failed temporarily: %v", dns.TypeToString[[2]uint16{dns.TypeA, dns.TypeAAAA}[i]], lookupErr(ctx, a.err, r)))
			continue
		}
		if len(a.aliases) > 0 {
			aliased = trimDot(a.final)
		}
		for _, rr := range a.rrs {
			var ip netip.Addr
			switch v := rr.(type) {
			case *dns.A:
				ip, _ = netip.AddrFromSlice(v.A.To4())
			case *dns.AAAA:
				ip, _ = netip.AddrFromSlice(v.AAAA.To16())
			}
			if ip.IsValid() && !slices.Contains(h.Addrs, ip) {
				h.Addrs = append(h.Addrs, ip)
			}
		}
	}
	if r.sorted {
		slices.SortFunc(h.Addrs, netip.Addr.Compare)
	}
	nx = ans[0].nx && ans[1].nx
	if !target {
		return nx
	}
	if aliased != "" {
		h.Problems = append(h.Problems, fmt.Sprintf("MX target is a CNAME for %s (RFC 2181 §10.3, RFC 5321 §5.1)", aliased))
	}
	if len(h.Addrs) == 0 && !h.Temporary {
		if nx {
			h.Problems = append(h.Problems, "MX target does not exist (NXDOMAIN)")
		} else {
			h.Problems = append(h.Problems, "MX target has no A or AAAA records")
		}
	}
	return nx
}

// fetchTLSA looks up the DANE records of h at port 25 (RFC 7672 §2.2:
// the TLSA base domain is the MX host name).
func (r *Resolver) fetchTLSA(ctx context.Context, host string) (t tlsaAnswer) {
	a := r.lookup(ctx, "_25._tcp."+host, dns.TypeTLSA)
	if a.err != nil {
		t.problem = fmt.Sprintf("TLSA lookup failed temporarily: %v", lookupErr(ctx, a.err, r))
		return t
	}
	for _, rr := range a.rrs {
		v := rr.(*dns.TLSA)
		t.recs = append(t.recs, TLSA{Usage: v.Usage, Selector: v.Selector, MatchingType: v.MatchingType, Data: strings.ToLower(v.Certificate)})
	}
	t.secure = a.secure && len(t.recs) > 0
	return t
}

// tlsaAnswer is what fetchTLSA found for one host.
type tlsaAnswer struct {
	recs    []TLSA
	secure  bool
	problem string
}

func trimDot(s string) string {
	if len(s) > 1 {
		return strings.TrimSuffix(s, ".")
	}
	return s
}

func netipParseAddrPort(s string) (string, error) {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return "", err
	}
	return ap.String(), nil
}
