package smtpd

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailtk/internal/queue"
	"mailtk/internal/testutil"
)

// Relay mail goes into the durable queue with its DSN parameters, and
// "sendmail -q" carries it, parameters and all, to the next hop.
func TestRelayThroughQueue(t *testing.T) {
	w := newWorld(t)
	qdir := filepath.Join(w.root, "queue")
	c, _, _ := w.stdio(w.args("--queue", qdir), "RELAYCLIENT=", "TCPREMOTEIP=192.0.2.7")
	cl := newClient(t, c)
	cl.expect("220 ")
	cl.send("EHLO client.example\r\n")
	cl.expect("250")
	cl.send("MAIL FROM:<a@b.example> RET=HDRS ENVID=E+2B1\r\n")
	cl.expect("250")
	cl.send("RCPT TO:<x@remote.example> NOTIFY=FAILURE ORCPT=rfc822;x+2Bo@remote.example\r\n")
	cl.expect("250")
	cl.send("RCPT TO:<jones@foo.com>\r\n")
	cl.expect("250")
	cl.send("DATA\r\n")
	cl.expect("354 ")
	cl.send("Subject: relayed\r\n\r\nhello\r\n.\r\n")
	cl.expect("250")
	cl.send("QUIT\r\n")
	cl.expect("221 ")

	if got := w.messages("jones"); len(got) != 1 || !strings.Contains(got[0], "Subject: relayed") {
		t.Fatalf("local copy: %q", got)
	}
	q, err := queue.Open(qdir, queue.Options{})
	if err != nil {
		t.Fatal(err)
	}
	list, err := q.List()
	if err != nil || len(list) != 1 {
		t.Fatalf("queue: %+v, %v", list, err)
	}
	e := list[0]
	r := e.Recipients
	if e.From != "a@b.example" || e.RET != "HDRS" || e.EnvID != "E+1" || len(r) != 1 ||
		r[0].Addr != "x@remote.example" || r[0].Notify != "FAILURE" || r[0].ORCPT != "rfc822;x+o@remote.example" {
		t.Fatalf("queued envelope: %+v", e)
	}

	addr, dump := testutil.StartSMTPSink(t)
	cmd := exec.Command(testutil.Binary(t, "sendmail"), "-C", "/dev/null", "--queue", qdir, "-q", "--relay", addr, "--relay-insecure")
	testutil.Unprivileged(cmd)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sendmail -q: %v\n%s", err, out)
	}
	files := testutil.WaitFiles(t, dump, 1, 10*time.Second)
	if len(files) != 1 {
		t.Fatalf("sink got %d messages", len(files))
	}
	b, _ := os.ReadFile(files[0])
	got := string(b)
	for _, want := range []string{"X-Mail-Args: <a@b.example>", "RET=HDRS", "ENVID=E+2B1", "X-Rcpt-Args: <x@remote.example>", "NOTIFY=FAILURE", "ORCPT=RFC822;x+2Bo@remote.example", "Subject: relayed"} {
		if !strings.Contains(got, want) {
			t.Errorf("sink lacks %q:\n%s", want, got)
		}
	}
	if list, _ := q.List(); len(list) != 0 {
		t.Errorf("queue not empty: %+v", list)
	}
}

// sendmail's queue runner relays through smtpd as its smarthost: STARTTLS
// with a verified certificate, then AUTH, then the message.
func TestSendmailSmarthostTLSAuth(t *testing.T) {
	w := newWorld(t)
	certFile, keyFile := w.cert()
	addr, stderr := w.listen(w.args("--tls-cert", certFile, "--tls-key", keyFile)...)

	qdir := filepath.Join(t.TempDir(), "q")
	auth := filepath.Join(t.TempDir(), "relay-auth")
	os.WriteFile(auth, []byte("jones secret\n"), 0o600)
	sm := testutil.Binary(t, "sendmail")
	run := func(stdin string, args ...string) (string, error) {
		cmd := exec.Command(sm, append([]string{"-C", "/dev/null", "--queue", qdir}, args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		cmd.Env = append(os.Environ(), "SSL_CERT_FILE="+certFile)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := run("Subject: via smarthost\n\nhello\n", "-f", "me@client.example", "jones@foo.com"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	// jones@foo.com is local to the smarthost: no AUTH needed.
	out, err := run("", "-q", "-v", "--relay", addr)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if got := w.messages("jones"); len(got) != 1 || !strings.Contains(got[0], "Subject: via smarthost") {
		t.Fatalf("jones: %q\n%s", got, out)
	}
	// With AUTH, smtpd lets the runner relay to a remote address; smtpd
	// has no queue here, so it answers 451 and the message stays queued
	// with that reply: authentication worked, relaying was permitted.
	if out, err := run("Subject: relay\n\nx\n", "-f", "me@client.example", "x@remote.example"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	out, _ = run("", "-q", "-v", "--relay", addr, "--relay-auth", auth)
	if !strings.Contains(out, "451 4.3.2") {
		t.Errorf("authenticated relay: %s", out)
	}
	// A wrong password is a temporary failure (the postmaster can fix
	// it); the message waits.
	os.WriteFile(auth, []byte("jones wrong\n"), 0o600)
	out, _ = run("", "-q", "-v", "--relay", addr, "--relay-auth", auth)
	if !strings.Contains(out, "535") {
		t.Errorf("wrong password: %s", out)
	}
	// An untrusted certificate: no delivery at all.
	cmd := exec.Command(sm, "-C", "/dev/null", "--queue", qdir, "-q", "-v", "--relay", addr)
	cmd.Env = append(os.Environ(), "SSL_CERT_FILE=/dev/null")
	b, _ := cmd.CombinedOutput()
	if !strings.Contains(string(b), "certificate") {
		t.Errorf("untrusted certificate accepted: %s", b)
	}
	// smtpd logs a session when it ends; give the last ones a moment.
	for i := 0; i < 50 && !strings.Contains(stderr.String(), "tls=true user=jones"); i++ {
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(stderr.String(), "tls=true user=jones") {
		t.Errorf("no authenticated session in the smtpd log:\n%s", stderr.String())
	}
}

// The smarthost speaks TLS from the first byte (port 465 style).
func TestSendmailSmarthostImplicitTLS(t *testing.T) {
	w := newWorld(t)
	certFile, keyFile := w.cert()
	addr, _ := w.listen(w.args("--tls-cert", certFile, "--tls-key", keyFile, "--tls-implicit")...)
	qdir := filepath.Join(t.TempDir(), "q")
	sm := testutil.Binary(t, "sendmail")
	cmd := exec.Command(sm, "-C", "/dev/null", "--queue", qdir, "-f", "me@client.example", "jones@foo.com")
	cmd.Stdin = strings.NewReader("Subject: implicit\n\nx\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	cmd = exec.Command(sm, "-C", "/dev/null", "--queue", qdir, "-q", "-v", "--relay", addr, "--relay-tls")
	cmd.Env = append(os.Environ(), "SSL_CERT_FILE="+certFile)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if got := w.messages("jones"); len(got) != 1 || !strings.Contains(got[0], "Subject: implicit") {
		t.Fatalf("jones: %q\n%s", got, out)
	}
}
