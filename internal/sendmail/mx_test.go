package sendmail_test

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"mailtk/internal/testutil"
)

// startDNS serves a zone where example.net has a primary MX on 127.0.0.2
// (where nothing listens) and a backup on 127.0.0.1, and nullmx.example
// accepts no mail (RFC 7505).
func startDNS(t *testing.T) string {
	t.Helper()
	zone := map[string][]string{
		"example.net.":     {"example.net. 60 IN MX 10 mx1.example.net.", "example.net. 60 IN MX 20 mx2.example.net."},
		"mx1.example.net.": {"mx1.example.net. 60 IN A 127.0.0.2"},
		"mx2.example.net.": {"mx2.example.net. 60 IN A 127.0.0.1"},
		"nullmx.example.":  {"nullmx.example. 60 IN MX 0 ."},
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		m.Authoritative = true
		q := r.Question[0]
		rrs, ok := zone[strings.ToLower(q.Name)]
		if !ok {
			m.Rcode = dns.RcodeNameError
		}
		for _, s := range rrs {
			rr, err := dns.NewRR(s)
			if err != nil {
				t.Error(err)
				continue
			}
			if rr.Header().Rrtype == q.Qtype {
				m.Answer = append(m.Answer, rr)
			}
		}
		w.WriteMsg(m)
	})}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })
	return pc.LocalAddr().String()
}

// Direct delivery: the primary MX is down, the backup takes the message;
// a null-MX domain bounces at once.
func TestDirectMXDelivery(t *testing.T) {
	dnsAddr := startDNS(t)
	sinkAddr, dump := testutil.StartSMTPSink(t)
	_, port, _ := net.SplitHostPort(sinkAddr)
	q := filepath.Join(t.TempDir(), "q")
	if r := sendmail(t, "Subject: mx\n\nx\n", "-C", "/dev/null", "--queue", q, "-f", "a@example.org", "bob@example.net", "x@nullmx.example"); r.code != 0 {
		t.Fatalf("%+v", r)
	}
	r := sendmail(t, "", "-C", "/dev/null", "--queue", q, "-q", "-v", "--dns-server", dnsAddr, "--mx-port", port)
	if r.code != 0 {
		t.Fatalf("%+v", r)
	}
	if !strings.Contains(r.stderr, "relay=mx2.example.net") {
		t.Errorf("not delivered through the backup MX:\n%s", r.stderr)
	}
	files := testutil.WaitFiles(t, dump, 1, 10*time.Second)
	if len(files) != 1 {
		t.Fatalf("sink got %d messages", len(files))
	}
	b, _ := os.ReadFile(files[0])
	if !strings.Contains(string(b), "X-Rcpt-Args: <bob@example.net>") || strings.Contains(string(b), "nullmx") {
		t.Errorf("sink saw:\n%s", b)
	}
	// What remains is the bounce for the null-MX recipient, to the sender.
	list := queued(t, q)
	if len(list) != 1 || list[0].From != "" || list[0].Recipients[0].Addr != "a@example.org" {
		t.Fatalf("want the bounce only: %+v", list)
	}
	// RFC 7505 §4.2: the null MX is reported as 5.1.10.
	b, _ = os.ReadFile(filepath.Join(q, "msg", list[0].ID))
	if !strings.Contains(string(b), "Status: 5.1.10") {
		t.Errorf("bounce:\n%s", b)
	}
}
