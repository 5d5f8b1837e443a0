package smtpd

import (
	"bufio"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailtk/internal/mx/mxtest"
	"mailtk/internal/testutil"
)

// listenOn starts smtpd on addr (host:0) and returns the address it got.
func (w *world) listenOn(addr string, args ...string) string {
	w.t.Helper()
	cmd := exec.Command(w.bin, append(args, "--listen", addr)...)
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	testutil.Unprivileged(cmd)
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait(); pw.Close() })
	got := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			for _, f := range strings.Fields(sc.Text()) {
				if a, ok := strings.CutPrefix(f, "addr="); ok && strings.Contains(sc.Text(), "msg=listening") {
					got <- a
				}
			}
		}
	}()
	select {
	case a := <-got:
		return a
	case <-time.After(30 * time.Second):
		w.t.Fatal("smtpd did not start listening")
	}
	return ""
}

// Direct MX delivery (RFC 5321 §5.1) through a loopback DNS server to
// smtpd instances acting as MX hosts: example.test has MX 10 mx1
// (127.0.0.1, ::1) and MX 20 mx2 (127.0.0.2). With the primary down the
// message reaches the backup; with both up, the primary.
func TestSendmailDirectMXToSmtpd(t *testing.T) {
	dns := mxtest.Start(t)
	sm := testutil.Binary(t, "sendmail")
	send := func(port, subject string) string {
		t.Helper()
		q := filepath.Join(t.TempDir(), "q")
		cmd := exec.Command(sm, "-C", "/dev/null", "--queue", q, "-f", "a@client.example", "jones@example.test")
		cmd.Stdin = strings.NewReader("Subject: " + subject + "\n\nx\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		cmd = exec.Command(sm, "-C", "/dev/null", "--queue", q, "-q", "-v", "--dns-server", dns.Addr, "--mx-port", port, "--timeout", "20s")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		return string(out)
	}
	args := func(w *world) []string { return w.args("--local-domain", "example.test") }

	// Primary down: only the backup listens.
	backup := newWorld(t)
	addr := backup.listenOn("127.0.0.2:0", args(backup)...)
	_, port, _ := net.SplitHostPort(addr)
	out := send(port, "to the backup")
	if !strings.Contains(out, "relay=mx2.example.test") {
		t.Errorf("not delivered by the backup MX:\n%s", out)
	}
	if got := backup.messages("jones"); len(got) != 1 || !strings.Contains(got[0], "Subject: to the backup") {
		t.Fatalf("backup MX got %q\n%s", got, out)
	}

	// Both up: the primary takes it.
	primary := newWorld(t)
	primary.listenOn("127.0.0.1:"+port, args(primary)...)
	out = send(port, "to the primary")
	if got := primary.messages("jones"); len(got) != 1 || !strings.Contains(got[0], "Subject: to the primary") {
		t.Fatalf("primary MX got %q\n%s", got, out)
	}
}
