package mx

import (
	"errors"
	"strings"

	"github.com/miekg/dns"
)

// maxChain bounds how many CNAME records are followed for one name, in one
// reply and across re-queries together. Resolvers use similar limits
// (BIND 16, Unbound 11); 8 is plenty for mail and keeps a hostile zone from
// making us loop.
const maxChain = 8

var (
	errCNAMELoop  = errors.New("CNAME loop")
	errCNAMEChain = errors.New("CNAME chain too long")
)

// Reasons a datagram is not accepted as the reply to a query. They are
// counted and reported only when no acceptable reply arrives in time.
var (
	errNotResponse   = errors.New("reply without the QR bit")
	errWrongID       = errors.New("reply with the wrong ID")
	errWrongQuestion = errors.New("reply to a different question")
)

// matchReply reports whether m is a reply to q: same ID, QR set, same
// question (RFC 5452 §9.1: an answer is accepted only if ID, question and
// addresses match; the addresses are checked by the connected socket).
func matchReply(q, m *dns.Msg) error {
	if !m.Response {
		return errNotResponse
	}
	if m.Id != q.Id {
		return errWrongID
	}
	if len(m.Question) == 0 {
		// QUIRK: some servers send REFUSED, FORMERR or NOTIMP with an empty
		// question section. Accepting that only makes us try the next
		// server, so it cannot be used to forge data.
		if m.Rcode != dns.RcodeSuccess && m.Rcode != dns.RcodeNameError {
			return nil
		}
		return errWrongQuestion
	}
	if len(m.Question) != 1 {
		return errWrongQuestion
	}
	a, b := q.Question[0], m.Question[0]
	if a.Qtype != b.Qtype || a.Qclass != b.Qclass || !strings.EqualFold(a.Name, b.Name) {
		return errWrongQuestion
	}
	return nil
}

// chase follows the CNAME chain that starts at qname through rrs (the
// answer section) and returns the name it ends at, the aliases passed and
// the records of type qtype owned by that name. A chain of more than
// budget links or a loop is an error.
func chase(qname string, qtype uint16, rrs []dns.RR, budget int) (final string, aliases []string, out []dns.RR, err error) {
	final = qname
	seen := map[string]bool{strings.ToLower(qname): true}
	for {
		next := ""
		for _, rr := range rrs {
			h := rr.Header()
			if h.Class != dns.ClassINET || h.Rrtype != dns.TypeCNAME || qtype == dns.TypeCNAME {
				continue
			}
			if strings.EqualFold(h.Name, final) {
				next = rr.(*dns.CNAME).Target
				break
			}
		}
		if next == "" {
			break
		}
		if len(aliases) >= budget {
			return final, aliases, nil, errCNAMEChain
		}
		if seen[strings.ToLower(next)] {
			return final, aliases, nil, errCNAMELoop
		}
		seen[strings.ToLower(next)] = true
		aliases = append(aliases, final)
		final = next
	}
	for _, rr := range rrs {
		h := rr.Header()
		if h.Class == dns.ClassINET && h.Rrtype == qtype && strings.EqualFold(h.Name, final) {
			out = append(out, rr)
		}
	}
	return final, aliases, out, nil
}
