// Package mxtest runs DNS servers on loopback for the tests of package mx
// and of mxlookup: an in-process authoritative server for the zone in
// testdata/example.test.zone whose names can misbehave on purpose, and a
// real nsd serving the same file.
//
// Names whose first label is one of these get a behaviour from the
// in-process server (nsd answers them as plain data):
//
//	servfail   SERVFAIL for every type
//	refused    REFUSED for every type
//	blackhole  no answer at all
//	lossy      the first UDP query for each question is dropped
//	spoof      before the real answer: a reply with the wrong ID, one for
//	           another question, one without the QR bit and garbage
//	tc         every UDP answer is truncated (TC), so TCP must be used
//	formerr    FORMERR to queries with EDNS (RFC 6891 §7)
//	ad         the AD bit is set
//
// Answers bigger than the client's UDP size are truncated, as real
// servers do.
package mxtest

import (
	_ "embed"
	"encoding/binary"
	"io"
	"net"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// Origin is the zone the servers are authoritative for.
const Origin = "example.test."

//go:embed testdata/example.test.zone
var zoneText string

// ZoneFile returns the path of the zone file, for real servers.
func ZoneFile(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate mxtest source")
	}
	return filepath.Join(filepath.Dir(file), "testdata", "example.test.zone")
}

// Zone is an authoritative zone held in memory.
type Zone struct {
	origin string
	rrs    map[string][]dns.RR // lower-case owner name -> records
}

// LoadZone parses the test zone.
func LoadZone(t testing.TB) *Zone {
	t.Helper()
	z := &Zone{origin: Origin, rrs: map[string][]dns.RR{}}
	zp := dns.NewZoneParser(strings.NewReader(zoneText), Origin, "example.test.zone")
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		n := strings.ToLower(rr.Header().Name)
		z.rrs[n] = append(z.rrs[n], rr)
	}
	if err := zp.Err(); err != nil {
		t.Fatal(err)
	}
	return z
}

// exists reports whether name owns records or is an empty non-terminal.
func (z *Zone) exists(name string) bool {
	if _, ok := z.rrs[name]; ok {
		return true
	}
	for n := range z.rrs {
		if strings.HasSuffix(n, "."+name) {
			return true
		}
	}
	return false
}

// Answer answers q as an authoritative server: records of the type,
// following CNAMEs inside the zone; REFUSED outside it.
func (z *Zone) Answer(q dns.Question) (rcode int, ans []dns.RR) {
	name := strings.ToLower(q.Name)
	if name != z.origin && !strings.HasSuffix(name, "."+z.origin) {
		return dns.RcodeRefused, nil
	}
	for range 10 {
		var cname dns.RR
		found := false
		for _, rr := range z.rrs[name] {
			switch {
			case rr.Header().Rrtype == q.Qtype:
				ans = append(ans, rr)
				found = true
			case rr.Header().Rrtype == dns.TypeCNAME:
				cname = rr
			}
		}
		if found || cname == nil {
			if !found && !z.exists(name) {
				return dns.RcodeNameError, ans
			}
			return dns.RcodeSuccess, ans
		}
		ans = append(ans, cname)
		name = strings.ToLower(cname.(*dns.CNAME).Target)
		if name != z.origin && !strings.HasSuffix(name, "."+z.origin) {
			return dns.RcodeSuccess, ans
		}
	}
	return dns.RcodeSuccess, ans
}

// Server is the in-process DNS server.
type Server struct {
	// Addr is "127.0.0.1:port", the same port for UDP and TCP.
	Addr string

	zone *Zone
	udp  net.PacketConn
	tcp  net.Listener
	wg   sync.WaitGroup

	mu        sync.Mutex
	seen      map[string]int // "proto name type" -> queries received
	dropped   map[string]bool
	refuseAll bool
}

// RefuseAll makes the server answer REFUSED to everything (or stop).
func (s *Server) RefuseAll(on bool) {
	s.mu.Lock()
	s.refuseAll = on
	s.mu.Unlock()
}

// Start runs a server on 127.0.0.1 (UDP and TCP on one free port) until
// the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{zone: LoadZone(t), seen: map[string]int{}, dropped: map[string]bool{}}
	for range 20 {
		u, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		l, err := net.Listen("tcp", u.LocalAddr().String())
		if err != nil {
			u.Close()
			continue
		}
		s.udp, s.tcp, s.Addr = u, l, u.LocalAddr().String()
		break
	}
	if s.udp == nil {
		t.Fatal("no free port for UDP and TCP")
	}
	s.wg.Go(s.serveUDP)
	s.wg.Go(s.serveTCP)
	t.Cleanup(func() {
		s.udp.Close()
		s.tcp.Close()
		s.wg.Wait()
	})
	return s
}

// Count returns how many queries for name (FQDN) and type came over proto
// ("udp" or "tcp").
func (s *Server) Count(proto, name string, qtype uint16) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen[proto+" "+strings.ToLower(name)+" "+dns.TypeToString[qtype]]
}

func (s *Server) serveUDP() {
	for {
		buf := make([]byte, 65535)
		n, from, err := s.udp.ReadFrom(buf)
		if err != nil {
			return
		}
		s.wg.Go(func() {
			for _, out := range s.handle("udp", buf[:n]) {
				s.udp.WriteTo(out, from)
			}
		})
	}
}

func (s *Server) serveTCP() {
	for {
		c, err := s.tcp.Accept()
		if err != nil {
			return
		}
		s.wg.Go(func() {
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			for {
				var hdr [2]byte
				if _, err := io.ReadFull(c, hdr[:]); err != nil {
					return
				}
				buf := make([]byte, binary.BigEndian.Uint16(hdr[:]))
				if _, err := io.ReadFull(c, buf); err != nil {
					return
				}
				for _, out := range s.handle("tcp", buf) {
					b := binary.BigEndian.AppendUint16(nil, uint16(len(out)))
					c.Write(append(b, out...))
				}
			}
		})
	}
}

// handle returns the datagrams to send back for one query.
func (s *Server) handle(proto string, b []byte) [][]byte {
	q := new(dns.Msg)
	if err := q.Unpack(b); err != nil || len(q.Question) != 1 || q.Response {
		return nil
	}
	qq := q.Question[0]
	key := proto + " " + strings.ToLower(qq.Name) + " " + dns.TypeToString[qq.Qtype]
	s.mu.Lock()
	s.seen[key]++
	first := !s.dropped[key]
	s.dropped[key] = true
	refuse := s.refuseAll
	s.mu.Unlock()

	m := new(dns.Msg)
	m.SetReply(q)
	if refuse {
		m.Rcode = dns.RcodeRefused
		return pack(m)
	}
	m.Authoritative = true
	behaviour, _, _ := strings.Cut(strings.ToLower(qq.Name), ".")
	switch behaviour {
	case "blackhole":
		return nil
	case "lossy":
		if proto == "udp" && first {
			return nil
		}
	case "servfail":
		m.Rcode = dns.RcodeServerFailure
		return pack(m)
	case "refused":
		m.Rcode = dns.RcodeRefused
		return pack(m)
	case "formerr":
		if q.IsEdns0() != nil {
			f := new(dns.Msg)
			f.SetRcode(q, dns.RcodeFormatError)
			f.Question = nil
			return pack(f)
		}
	case "ad":
		m.AuthenticatedData = true
	}
	m.Rcode, m.Answer = s.zone.Answer(qq)
	size := 512
	if o := q.IsEdns0(); o != nil {
		size = max(512, int(o.UDPSize()))
		m.SetEdns0(o.UDPSize(), false)
	}
	out, err := m.Pack()
	if err != nil {
		return nil
	}
	if proto == "udp" && (len(out) > size || behaviour == "tc") {
		m.Truncated = true
		m.Answer = nil
		out, _ = m.Pack()
	}
	if behaviour == "spoof" && proto == "udp" {
		return append(spoofs(q, m), out)
	}
	return [][]byte{out}
}

// spoofs are the datagrams an off-path attacker or a confused server might
// send first; a client must ignore all of them (RFC 5452 §9.1).
func spoofs(q, m *dns.Msg) [][]byte {
	var out [][]byte
	bad := m.Copy()
	bad.Id = q.Id + 1
	bad.Answer = []dns.RR{mustRR("spoof.example.test. 300 IN MX 10 evil-id.example.")}
	out = append(out, pack(bad)...)
	bad = m.Copy()
	bad.Question[0].Name = "other.example.test."
	bad.Answer = []dns.RR{mustRR("other.example.test. 300 IN MX 10 evil-question.example.")}
	out = append(out, pack(bad)...)
	bad = m.Copy()
	bad.Response = false
	bad.Answer = []dns.RR{mustRR("spoof.example.test. 300 IN MX 10 evil-qr.example.")}
	out = append(out, pack(bad)...)
	garbage := make([]byte, 40)
	binary.BigEndian.PutUint16(garbage, q.Id)
	garbage[2] = 0x80
	garbage[5] = 1
	for i := 12; i < len(garbage); i++ {
		garbage[i] = 0xc0 // compression pointers all the way
	}
	return append(out, garbage)
}

func pack(m *dns.Msg) [][]byte {
	b, err := m.Pack()
	if err != nil {
		return nil
	}
	return [][]byte{b}
}

func mustRR(s string) dns.RR {
	rr, err := dns.NewRR(s)
	if err != nil {
		panic(err)
	}
	return rr
}
