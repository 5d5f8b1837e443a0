package smtpd

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"mailtk/internal/aliases"
	"mailtk/internal/netio"
	"mailtk/internal/smtp"
)

// memQueue stands in for the outgoing queue.
type memQueue struct {
	mu    sync.Mutex
	env   []*smtp.Envelope
	rcpts [][]string
	msgs  []string
}

func (q *memQueue) Enqueue(ctx context.Context, env *smtp.Envelope, rcpts []string, msg io.Reader) (string, error) {
	b, err := io.ReadAll(msg)
	if err != nil {
		return "", err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.env = append(q.env, env)
	q.rcpts = append(q.rcpts, rcpts)
	q.msgs = append(q.msgs, string(b))
	return "Q1", nil
}

// TestQueueHook: with a Queue plugged in, permitted relay recipients and
// aliases forwarding to remote addresses go to it, with the DSN
// parameters in the envelope and Delivered-To for the local alias.
func TestQueueHook(t *testing.T) {
	al, err := aliases.Parse(strings.NewReader("far: someone@remote.example\n"), "aliases")
	if err != nil {
		t.Fatal(err)
	}
	q := &memQueue{}
	b := &Backend{
		res: &resolver{aliases: al, queue: q, domains: map[string]bool{"foo.com": true}, primary: "foo.com",
			maildir: t.TempDir() + "/Maildir"},
		penalty:  netio.NewPenalty(netio.PenaltyOptions{}),
		log:      slog.New(slog.DiscardHandler),
		spoolDir: t.TempDir(),
	}
	in := "EHLO x\r\nMAIL FROM:<a@b.example> RET=HDRS ENVID=E1\r\nRCPT TO:<x@remote.example> NOTIFY=FAILURE\r\n" +
		"RCPT TO:<far@foo.com>\r\nRCPT TO:<me@foo.com>\r\nDATA\r\nSubject: q\r\n\r\nbody\r\n.\r\nQUIT\r\n"
	var out bytes.Buffer
	smtp.Serve(context.Background(), smtp.Config{Hostname: "foo.com"}, b, smtp.Peer{Addr: "192.0.2.1", RelayClient: true},
		smtp.Conn{R: strings.NewReader(in), W: &out})
	if !strings.Contains(out.String(), "250 2.0.0 OK id=") {
		t.Fatalf("not accepted:\n%s", out.String())
	}
	if len(q.msgs) != 1 {
		t.Fatalf("%d queued", len(q.msgs))
	}
	if got := strings.Join(q.rcpts[0], " "); got != "x@remote.example someone@remote.example" {
		t.Errorf("queued for %q", got)
	}
	env := q.env[0]
	if env.MailParams.Ret != "HDRS" || env.MailParams.EnvID != "E1" || env.Rcpts[0].Params.Notify != "FAILURE" {
		t.Errorf("DSN parameters lost: %+v %+v", env.MailParams, env.Rcpts[0].Params)
	}
	if !strings.HasPrefix(q.msgs[0], "Delivered-To: far@foo.com\nReceived: from x") || !strings.HasSuffix(q.msgs[0], "Subject: q\n\nbody\n") {
		t.Errorf("queued message:\n%s", q.msgs[0])
	}
	if n := len(readNew(t, b.res.maildir)); n != 1 {
		t.Errorf("local copy: %d", n)
	}
}
