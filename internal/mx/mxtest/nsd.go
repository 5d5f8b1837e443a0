package mxtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"mailtk/internal/testutil"
)

const nsdConf = `server:
  ip-address: 127.0.0.1@%[2]d
  port: %[2]d
  username: ""
  chroot: ""
  zonesdir: "%[1]s"
  database: ""
  pidfile: "%[1]s/nsd.pid"
  logfile: "%[1]s/nsd.log"
  xfrdfile: "%[1]s/xfrd.state"
  zonelistfile: "%[1]s/zone.list"
  xfrdir: "%[1]s"
  server-count: 1
  verbosity: 1
  # Response rate limiting would drop answers to a fast client on loopback.
  rrl-ratelimit: 0
  rrl-whitelist-ratelimit: 0
remote-control:
  control-enable: no
zone:
  name: example.test
  zonefile: example.test.zone
`

// StartNSD runs Debian's nsd on 127.0.0.1 with the test zone and returns
// its "127.0.0.1:port". The test is skipped (or fails under
// MAILTK_REQUIRE_PEERS) when nsd is not installed; nsd is stopped when
// the test ends.
func StartNSD(t testing.TB) string {
	t.Helper()
	nsd := testutil.Peer(t, "nsd")
	dir := t.TempDir()
	zone, err := os.ReadFile(ZoneFile(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "example.test.zone"), zone, 0o644); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		port := testutil.FreePort(t)
		conf := filepath.Join(dir, "nsd.conf")
		if err := os.WriteFile(conf, fmt.Appendf(nil, nsdConf, dir, port), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(nsd, "-d", "-c", conf)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		if waitReady(addr, done) {
			t.Cleanup(func() {
				cmd.Process.Signal(os.Interrupt)
				select {
				case <-done:
				case <-time.After(10 * time.Second):
					cmd.Process.Kill()
					<-done
				}
			})
			return addr
		}
		cmd.Process.Kill()
		<-done
		log, _ := os.ReadFile(filepath.Join(dir, "nsd.log"))
		t.Logf("nsd did not start on %s, trying another port:\n%s", addr, log)
	}
	t.Fatal("nsd did not start")
	return ""
}

// waitReady asks addr for the zone's SOA until it answers or the process
// exits; a start-up wait, not a timing assertion.
func waitReady(addr string, exited <-chan struct{}) bool {
	c := &dns.Client{Timeout: 200 * time.Millisecond}
	q := new(dns.Msg)
	q.SetQuestion(Origin, dns.TypeSOA)
	for range 150 {
		select {
		case <-exited:
			return false
		default:
		}
		if m, _, err := c.Exchange(q, addr); err == nil && m.Rcode == dns.RcodeSuccess {
			return true
		}
		time.Sleep(100 * time.Millisecond)
	}
	return false
}

// Dig runs dig against server for name/qtype and returns its "+short"
// lines, for comparing our answers with an independent client.
func Dig(t testing.TB, server, name, qtype string) (status string, lines []string) {
	t.Helper()
	dig := testutil.Peer(t, "dig")
	host, port, _ := net.SplitHostPort(server)
	out, err := exec.Command(dig, "@"+host, "-p", port, "+time=2", "+tries=2", "+norecurse",
		"+noall", "+comments", "+answer", name, qtype).CombinedOutput()
	if err != nil {
		t.Fatalf("dig %s %s: %v\n%s", name, qtype, err, out)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if i := strings.Index(l, "status: "); i >= 0 && status == "" {
			status = strings.TrimSuffix(strings.Fields(l[i+8:])[0], ",")
		}
		if l == "" || strings.HasPrefix(l, ";") {
			continue
		}
		lines = append(lines, l)
	}
	return status, lines
}
