package mx

import (
	"fmt"
	"net/netip"
)

// Status is the outcome of a lookup, as a mail client acts on it.
type Status int

const (
	// OK: at least one exchanger (or the implicit MX) was found with an
	// address, or with NoAddrs, at least one exchanger was found.
	OK Status = iota
	// NullMX: the domain publishes "MX 0 ." and accepts no mail
	// (RFC 7505 §3); a client fails the message at once (§4.1).
	NullMX
	// NXDomain: the domain does not exist (RFC 5321 §5.1: reported as
	// an error).
	NXDomain
	// NoData: the domain exists but has neither MX nor address records,
	// so there is no implicit MX either (RFC 5321 §5.1).
	NoData
	// NoAddress: MX records exist but none of the exchangers has an
	// address (RFC 5321 §5.1: "none of them are usable").
	NoAddress
	// TempFail: SERVFAIL, REFUSED, a timeout or a network error; the
	// answer may come later, so a client queues and retries.
	TempFail
	// Invalid: the input is not a domain name that can have MX records.
	Invalid
)

var statusNames = [...]string{"ok", "nullmx", "nxdomain", "nodata", "noaddress", "tempfail", "invalid"}

// String returns the status word used in mxlookup's output.
func (s Status) String() string {
	if s >= 0 && int(s) < len(statusNames) {
		return statusNames[s]
	}
	return fmt.Sprintf("status%d", int(s))
}

// MarshalText writes the status word in JSON.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// NoService reports whether the status says, permanently, that the
// domain has no mail service: a client bounces rather than retries.
func (s Status) NoService() bool {
	return s == NullMX || s == NXDomain || s == NoData || s == NoAddress
}

// Result is the answer for one domain.
type Result struct {
	// Input is the domain as given; Domain its A-label form that was
	// looked up (lower case, no final dot), empty when Invalid.
	Input  string `json:"input,omitempty"`
	Domain string `json:"domain"`
	Status Status `json:"status"`
	// Hosts are the exchangers in the order to try them: by preference,
	// equal preferences shuffled (RFC 5321 §5.1).
	Hosts []Host `json:"hosts,omitempty"`
	// Secure is true when every answer the MX (or implicit MX) decision
	// rests on came with the AD bit set by the resolver (RFC 4035 §3.2.3).
	// It is only as trustworthy as the path to the resolver.
	Secure bool `json:"secure"`
	// Problems are deviations from the standards seen on the way (null
	// MX mixed with other MX records, an aliased domain, ...).
	Problems []string `json:"problems,omitempty"`
	// Err says why the status is not OK; nil when OK.
	Err error `json:"-"`
}

// Host is one mail exchanger.
type Host struct {
	Name string `json:"name"`
	Pref uint16 `json:"pref"`
	// Implicit marks the implicit MX: the domain itself at preference 0,
	// used because it has no MX records (RFC 5321 §5.1).
	Implicit bool         `json:"implicit,omitempty"`
	Addrs    []netip.Addr `json:"addrs,omitempty"`
	// Secure is true when the address answers carried the AD bit.
	Secure bool `json:"secure"`
	// Temporary is true when an address lookup failed temporarily, so
	// the host may have addresses that are missing here.
	Temporary bool `json:"temporary,omitempty"`
	// Problems describe what is wrong with this exchanger, each citing
	// the rule it breaks, e.g. "MX target is a CNAME (RFC 2181 §10.3)".
	Problems []string `json:"problems,omitempty"`
	// TLSA are the DANE records _25._tcp.Name (Options.TLSA only).
	TLSA []TLSA `json:"tlsa,omitempty"`
	// TLSASecure is true when the TLSA answer carried the AD bit; RFC
	// 7672 §2.2 lets a client use TLSA records only then.
	TLSASecure bool `json:"tlsa_secure,omitempty"`
}

// TLSA is one DANE TLSA record (RFC 6698 §2.1).
type TLSA struct {
	Usage        uint8  `json:"usage"`
	Selector     uint8  `json:"selector"`
	MatchingType uint8  `json:"matching_type"`
	Data         string `json:"data"` // hex
}
