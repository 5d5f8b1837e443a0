package relay

import (
	"context"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"mailtk/internal/queue"
	"mailtk/internal/testutil"
)

const msg = "From: a@example.org\nTo: b@example.net\nSubject: t\n\nline one\n.leading dot\nbare\rcr\n"

func deliver(t *testing.T, tr *Transport, rcpts ...string) []queue.Result {
	t.Helper()
	env := &queue.Envelope{From: "a@example.org", Size: int64(len(msg))}
	var rs []*queue.Recipient
	for _, r := range rcpts {
		rs = append(rs, &queue.Recipient{Addr: r, State: queue.Pending})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return tr.Deliver(ctx, env, rs, strings.NewReader(msg), int64(len(msg)))
}

func TestSmarthostAccepts(t *testing.T) {
	addr, dump := testutil.StartSMTPSink(t)
	res := deliver(t, &Transport{Smarthost: addr, Insecure: true, Hostname: "client.example.org"}, "b@example.net", "c@example.net")
	for i, r := range res {
		if !r.OK {
			t.Fatalf("recipient %d: %+v", i, r)
		}
	}
	files := testutil.WaitFiles(t, dump, 1, 10*time.Second)
	if len(files) != 1 {
		t.Fatalf("dumped %d transactions", len(files))
	}
	b, _ := os.ReadFile(files[0])
	got := string(b)
	// The sink writes the message as received, un-dot-stuffed, with LF
	// line ends: the dot line survived and the bare CR became a line end.
	if !strings.Contains(got, "\nline one\n.leading dot\nbare\ncr\n") || strings.Contains(got, "\r") {
		t.Errorf("message on the wire:\n%q", got)
	}
}

func TestSmarthostRefusals(t *testing.T) {
	tests := []struct {
		opt  string
		temp bool
	}{
		{"-r", true},  // 4xx on RCPT
		{"-f", false}, // 5xx on RCPT
	}
	for _, tt := range tests {
		addr, _ := testutil.StartSMTPSink(t, tt.opt, "RCPT")
		res := deliver(t, &Transport{Smarthost: addr, Insecure: true, Hostname: "c"}, "b@example.net")
		if res[0].OK || res[0].Temporary != tt.temp || res[0].Text == "" {
			t.Errorf("%s RCPT: %+v", tt.opt, res[0])
		}
	}
	addr, _ := testutil.StartSMTPSink(t, "-Q", "MAIL")
	if res := deliver(t, &Transport{Smarthost: addr, Insecure: true, Hostname: "c"}, "b@example.net"); !res[0].Temporary {
		t.Errorf("421 on MAIL: %+v", res[0])
	}
}

func TestSmarthostRequiresTLS(t *testing.T) {
	addr, dump := testutil.StartSMTPSink(t)
	res := deliver(t, &Transport{Smarthost: addr, Hostname: "c"}, "b@example.net")
	if res[0].OK || !res[0].Temporary || !strings.Contains(res[0].Text, "STARTTLS") {
		t.Errorf("plaintext smarthost: %+v", res[0])
	}
	if files, _ := filepath.Glob(filepath.Join(dump, "*")); len(files) != 0 {
		t.Error("message sent in plaintext")
	}
}

type fixedMX map[string][]Hop

func (f fixedMX) Hosts(_ context.Context, d string) ([]Hop, error) {
	if h, ok := f[d]; ok {
		return h, nil
	}
	return nil, &PermanentError{Err: os.ErrNotExist}
}

// The primary MX is down: the message goes to the backup.
func TestMXFallback(t *testing.T) {
	addr, _ := testutil.StartSMTPSink(t)
	_, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	dead := testutil.FreePort(t) // nothing listens here
	lo := netip.MustParseAddr("127.0.0.1")
	tr := &Transport{Hostname: "c", Port: p, MX: fixedMX{"example.net": {{Name: "mx1", Addrs: []netip.Addr{lo}}}}}
	// Two hops on different ports are not expressible with one Port, so
	// point the primary at a dead port through Dial.
	tr.MX = fixedMX{"example.net": {{Name: "primary", Addrs: []netip.Addr{netip.MustParseAddr("127.0.0.2")}}, {Name: "backup", Addrs: []netip.Addr{lo}}}}
	tr.Dial = func(ctx context.Context, network, a string) (net.Conn, error) {
		if strings.HasPrefix(a, "127.0.0.2:") {
			a = "127.0.0.1:" + strconv.Itoa(dead)
		}
		return (&net.Dialer{}).DialContext(ctx, network, a)
	}
	res := deliver(t, tr, "b@example.net", "x@nosuch.example")
	if !res[0].OK || res[0].RemoteMTA != "backup" {
		t.Errorf("example.net: %+v", res[0])
	}
	if res[1].OK || res[1].Temporary {
		t.Errorf("nonexistent domain: %+v", res[1])
	}
}

// The queue runner with this transport, end to end against smtp-sink.
func TestQueueRunToSink(t *testing.T) {
	addr, _ := testutil.StartSMTPSink(t, "-f", "RCPT")
	q, err := queue.Open(t.TempDir(), queue.Options{})
	if err != nil {
		t.Fatal(err)
	}
	q.Enqueue(queue.Envelope{From: "a@example.org", Recipients: []queue.Recipient{{Addr: "b@example.net"}}}, strings.NewReader(msg))
	r := &queue.Runner{Queue: q, Transport: &Transport{Smarthost: addr, Insecure: true, Hostname: "c"}}
	st, err := r.RunOnce(context.Background(), true)
	if err != nil || st.Failed != 1 || st.Bounces != 1 {
		t.Fatalf("%+v %v", st, err)
	}
	list, _ := q.List()
	if len(list) != 1 || list[0].From != "" || list[0].Recipients[0].Addr != "a@example.org" {
		t.Errorf("want only the bounce queued: %+v", list)
	}
}
