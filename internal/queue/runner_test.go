package queue

import (
	"context"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"mailtk/internal/testutil"
)

// scripted answers each recipient by its local part: ok, temp, perm.
type scripted struct{ calls atomic.Int32 }

func (s *scripted) Deliver(_ context.Context, _ *Envelope, rcpts []*Recipient, _ io.ReaderAt, _ int64) []Result {
	s.calls.Add(1)
	out := make([]Result, len(rcpts))
	for i, rc := range rcpts {
		switch {
		case strings.HasPrefix(rc.Addr, "ok"):
			out[i] = Result{OK: true, Text: "250 2.0.0 queued", RemoteMTA: "mx.example.net"}
		case strings.HasPrefix(rc.Addr, "temp"):
			out[i] = Result{Temporary: true, Status: "4.2.2", Text: "452 4.2.2 mailbox full", RemoteMTA: "mx.example.net"}
		default:
			out[i] = Result{Status: "5.1.1", Text: "550 5.1.1 no such user", RemoteMTA: "mx.example.net"}
		}
	}
	return out
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func setup(t *testing.T) (*Queue, *Runner, *clock, *scripted) {
	c := &clock{time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	q, err := Open(t.TempDir(), Options{Hostname: "mta.example.org", Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	tr := &scripted{}
	return q, &Runner{Queue: q, Transport: tr, Now: c.now, WarnAfter: 4 * time.Hour}, c, tr
}

const original = "From: a@example.org\nTo: ok@example.net\nSubject: report\n\nbody\n"

func TestRunnerMixedResults(t *testing.T) {
	q, r, c, tr := setup(t)
	id, _ := q.Enqueue(Envelope{From: "a@example.org", EnvID: "E1", Recipients: []Recipient{
		{Addr: "ok@example.net"}, {Addr: "temp@example.net"}, {Addr: "perm@example.net", ORCPT: "rfc822;perm@example.net"},
	}}, strings.NewReader(original))

	st, err := r.RunOnce(context.Background(), false)
	if err != nil || st.Delivered != 1 || st.Deferred != 1 || st.Failed != 1 || st.Bounces != 1 {
		t.Fatalf("stats %+v, %v", st, err)
	}
	list, _ := q.List()
	if len(list) != 2 {
		t.Fatalf("want the entry and its bounce, got %d entries", len(list))
	}
	var entry, bounce Envelope
	for _, e := range list {
		if e.ID == id {
			entry = e
		} else {
			bounce = e
		}
	}
	if !entry.NextTry.Equal(c.t.Add(time.Minute)) {
		t.Errorf("next try %v, want first retry within a minute", entry.NextTry)
	}
	if bounce.From != "" || bounce.Recipients[0].Addr != "a@example.org" {
		t.Errorf("bounce envelope %+v", bounce)
	}
	checkDSN(t, q, bounce.ID, "failed", "perm@example.net", "5.1.1")

	// Not due yet: nothing is tried.
	tr.calls.Store(0)
	r.Transport = tr
	if _, err := r.RunOnce(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	if tr.calls.Load() != 1 { // only the bounce (to a@example.org, fails: "a" is not ok/temp)
		t.Errorf("%d transport calls before the retry time", tr.calls.Load())
	}

	// After 4 hours: a delay warning once; after 5 days: expiry.
	c.t = c.t.Add(4*time.Hour + time.Second)
	r.RunOnce(context.Background(), true)
	e, err := q.Lock(id)
	if err != nil {
		t.Fatal(err)
	}
	if !e.Env.WarnSent {
		t.Error("no delay warning after 4h")
	}
	e.Close()
	c.t = c.t.Add(5 * 24 * time.Hour)
	r.RunOnce(context.Background(), true)
	if _, err := q.Lock(id); err != ErrGone {
		t.Errorf("entry not removed after expiry: %v", err)
	}
}

// A bounce that cannot be delivered goes to the postmaster once, and a
// failed double bounce is dropped: no loop.
func TestRunnerNeverBouncesABounce(t *testing.T) {
	q, r, _, _ := setup(t)
	q.Enqueue(Envelope{From: "", Recipients: []Recipient{{Addr: "perm@example.net"}}}, strings.NewReader(original))
	for i := 0; i < 5; i++ {
		r.RunOnce(context.Background(), true)
	}
	if list, _ := q.List(); len(list) != 0 {
		t.Errorf("queue not empty: %+v", list)
	}
}

func TestRunnerNotifyNever(t *testing.T) {
	q, r, _, _ := setup(t)
	q.Enqueue(Envelope{From: "a@example.org", Recipients: []Recipient{{Addr: "perm@example.net", Notify: "NEVER"}}}, strings.NewReader(original))
	st, _ := r.RunOnce(context.Background(), true)
	if st.Bounces != 0 {
		t.Errorf("bounced despite NOTIFY=NEVER")
	}
	if list, _ := q.List(); len(list) != 0 {
		t.Errorf("queue not empty: %+v", list)
	}
}

func checkDSN(t *testing.T, q *Queue, id, action, rcpt, status string) {
	t.Helper()
	e, err := q.Lock(id)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	r, _ := e.Message()
	raw, _ := io.ReadAll(r)
	m, err := mail.ReadMessage(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	mt, params, _ := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if mt != "multipart/report" || params["report-type"] != "delivery-status" || m.Header.Get("Auto-Submitted") != "auto-replied" {
		t.Fatalf("header %v", m.Header)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	var types []string
	var status822 string
	for {
		p, err := mr.NextPart()
		if err != nil {
			break
		}
		types = append(types, p.Header.Get("Content-Type"))
		b, _ := io.ReadAll(p)
		if strings.HasPrefix(p.Header.Get("Content-Type"), "message/delivery-status") {
			status822 = string(b)
		}
	}
	if len(types) != 3 || types[2] != "message/rfc822" {
		t.Errorf("parts %v", types)
	}
	for _, want := range []string{"Action: " + action, "Final-Recipient: rfc822; " + rcpt, "Status: " + status, "Reporting-MTA: dns; mta.example.org"} {
		if !strings.Contains(status822, want) {
			t.Errorf("delivery-status lacks %q:\n%s", want, status822)
		}
	}

	// Python's email package, an independent parser, sees the same.
	py := testutil.Python(t)
	cmd := exec.Command(py, "-c", `
import sys, email
m = email.message_from_bytes(sys.stdin.buffer.read())
assert m.get_content_type() == "multipart/report", m.get_content_type()
parts = m.get_payload()
ds = parts[1]
assert ds.get_content_type() == "message/delivery-status"
blocks = ds.get_payload()
print(blocks[1]["Action"], blocks[1]["Status"], parts[2].get_payload(0)["Subject"])
`)
	cmd.Stdin = strings.NewReader(string(raw))
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != action+" "+status+" report" {
		t.Errorf("python: %v: %s", err, out)
	}
}
