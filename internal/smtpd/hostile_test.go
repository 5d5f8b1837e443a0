package smtpd

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"os/exec"
	"syscall"

	"crypto/x509"
	"mailtk/internal/testutil"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSmugglingBinary sends every known SMTP smuggling end-of-data
// variant to the real binary and proves from the Maildirs that no second
// message is ever delivered: the hidden transaction would deliver to
// brown, who must stay empty.
func TestSmugglingBinary(t *testing.T) {
	w := newWorld(t)
	addr, _ := w.listen(w.args("--max-per-ip", "-1")...)
	ends := []string{
		"\n.\n", "\n.\r\n", "\r.\r", "\r.\r\n", "\r\n.\r", "\r\n.\n", "\n.\r", "\r\n\x00.\r\n", "\r\n.\x00\r\n",
		"\n..\n", "\r\r\n.\r\r\n", "\r\n.\n\r\n", "\n.\n\r\n", "\r\n.\r\r\n", "\r\n\r.\r\n",
	}
	for _, end := range ends {
		c := dial(t, addr)
		c.expect("220 ")
		c.send("EHLO attacker.example\r\n")
		c.expect("250-")
		c.send("MAIL FROM:<a@attacker.example>\r\nRCPT TO:<jones@foo.com>\r\nDATA\r\n")
		c.expect("250 ")
		c.expect("250 ")
		c.expect("354 ")
		c.send("Subject: first\r\n\r\nhello" + end +
			"MAIL FROM:<admin@foo.com>\r\nRCPT TO:<brown@foo.com>\r\nDATA\r\nSubject: smuggled\r\n\r\nevil\r\n.\r\nQUIT\r\n")
		rest := ""
		for {
			r := c.reply()
			rest += r
			if r == "" || strings.HasPrefix(r, "221") {
				break
			}
		}
		if strings.Count(rest, "354") > 0 {
			t.Errorf("end %q: a second DATA was accepted:\n%s", end, rest)
		}
	}
	if n := len(w.messages("brown")); n != 0 {
		t.Fatalf("smuggled messages delivered to brown: %d", n)
	}
	for _, m := range w.messages("jones") {
		if !strings.Contains(m, "Subject: first") {
			t.Errorf("jones got a message that is not the first one:\n%s", m)
		}
	}
}

// TestStartTLSInjectionBinary: a command pipelined in plaintext after
// STARTTLS must not be executed inside the TLS session.
func TestStartTLSInjectionBinary(t *testing.T) {
	w := newWorld(t)
	cert, key := w.cert()
	addr, _ := w.listen(w.args("--tls-cert", cert, "--tls-key", key)...)
	c := dial(t, addr)
	c.expect("220 ")
	c.send("EHLO x\r\n")
	c.expect("250-")
	c.send("STARTTLS\r\nMAIL FROM:<injected@evil.example>\r\n")
	c.expect("220 2.0.0")
	pem, _ := os.ReadFile(cert)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	tc := tls.Client(c.c, &tls.Config{RootCAs: pool, ServerName: "localhost"})
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	s := newClient(t, tc)
	// Had the injected MAIL run, this would be "503 Nested MAIL"; it
	// is "503 Send EHLO" because the session was reset and nothing ran.
	s.send("MAIL FROM:<a@b.example>\r\n")
	s.expect("503 5.5.1 Send EHLO")
	s.send("EHLO x\r\n")
	r := s.expect("250-")
	if strings.Contains(r, "STARTTLS") {
		t.Error("STARTTLS offered again inside TLS")
	}
	s.send("QUIT\r\n")
	s.expect("221 ")
}

// TestOversizeDrained: a message over --max-size is read to its end and
// refused with 552; the session stays usable and nothing is stored.
func TestOversizeDrained(t *testing.T) {
	w := newWorld(t)
	addr, _ := w.listen(w.args("--max-size", "10000")...)
	c := dial(t, addr)
	c.expect("220 ")
	c.send("EHLO x\r\n")
	r := c.expect("250-")
	if !strings.Contains(r, "SIZE 10000") {
		t.Errorf("SIZE not advertised:\n%s", r)
	}
	c.send("MAIL FROM:<a@b.example> SIZE=20000\r\n")
	c.expect("552 5.3.4")
	c.send("MAIL FROM:<a@b.example>\r\nRCPT TO:<jones@foo.com>\r\nDATA\r\n")
	c.expect("250 ")
	c.expect("250 ")
	c.expect("354 ")
	line := strings.Repeat("x", 998) + "\r\n"
	for range 200 { // 200 KB, twenty times the limit
		c.send(line)
	}
	c.send(".\r\nNOOP\r\n")
	c.expect("552 5.3.4")
	c.expect("250 2.0.0 OK")
	if n := len(w.messages("jones")); n != 0 {
		t.Fatalf("%d messages stored", n)
	}
	es, _ := os.ReadDir(w.maildir("jones") + "/tmp")
	if len(es) != 0 {
		t.Fatalf("%d files left in tmp/", len(es))
	}
}

// TestTimeouts: a silent client is dropped with 421 4.4.2 after the
// greeting timeout; a client that stops in DATA after the data timeout.
func TestTimeouts(t *testing.T) {
	w := newWorld(t)
	addr, _ := w.listen(w.args("--greeting-timeout", "300ms", "--timeout", "400ms", "--data-timeout", "400ms")...)
	c := dial(t, addr)
	c.expect("220 ")
	c.expect("421 4.4.2")
	// The DATA timeout runs on an inetd-style session, so that the test
	// can wait for the process to exit before looking at the Maildir:
	// nothing may be stored, not even late.
	conn, cmd, _ := w.stdio(w.args("--timeout", "400ms", "--data-timeout", "400ms"))
	c = newClient(t, conn)
	c.expect("220 ")
	c.send("EHLO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<jones@foo.com>\r\nDATA\r\n")
	c.expect("250-")
	c.expect("250 ")
	c.expect("250 ")
	c.expect("354 ")
	c.send("Subject: never finished\r\n")
	c.expect("421 4.4.2")
	waitExit(t, cmd)
	if n := len(w.messages("jones")); n != 0 {
		t.Fatalf("%d messages stored", n)
	}
}

// TestAuthNotInClear: a remote client on a plaintext connection is not
// offered AUTH and cannot use it (RFC 4954 §4); with RELAYCLIENT unset
// it cannot relay either.
func TestAuthNotInClear(t *testing.T) {
	w := newWorld(t)
	c, _, _ := w.stdio(w.args(), "TCPREMOTEIP=192.0.2.77")
	s := newClient(t, c)
	s.expect("220 ")
	s.send("EHLO x\r\n")
	if r := s.expect("250-"); strings.Contains(r, "AUTH") {
		t.Errorf("AUTH offered in the clear:\n%s", r)
	}
	s.send("AUTH PLAIN AGpvbmVzAHNlY3JldA==\r\n")
	s.expect("538 5.7.11")
	s.send("QUIT\r\n")
	s.expect("221 ")
}

// TestCommandLimits: long lines get 500 and the session stays in sync;
// three errors end it; an HTTP request is cut off at once.
func TestCommandLimits(t *testing.T) {
	w := newWorld(t)
	addr, _ := w.listen(w.args()...)
	c := dial(t, addr)
	c.expect("220 ")
	c.send("NOOP " + strings.Repeat("a", 507) + "\r\n") // 512 octets: accepted
	c.expect("250 2.0.0")
	c.send("NOOP " + strings.Repeat("a", 100000) + "\r\nNOOP\r\n")
	c.expect("500 5.5.2 Line too long")
	c.expect("250 2.0.0")
	c.send("XYZZY\r\nPLUGH\r\n")
	c.expect("500 5.5.1")
	c.expect("500 5.5.1")
	c.expect("421 4.7.0")
	c = dial(t, addr)
	c.expect("220 ")
	c.send("POST / HTTP/1.1\r\nHost: x\r\n\r\nMAIL FROM:<a@b>\r\n")
	c.expect("421 4.7.0")
	if r := c.reply(); r != "" {
		t.Errorf("server kept talking after an HTTP request: %q", r)
	}
}

// TestGracefulShutdown: on SIGTERM an idle session gets 421 4.3.2 and the
// server exits 0.
func TestGracefulShutdown(t *testing.T) {
	w := newWorld(t)
	cmd := exec.Command(w.bin, append(w.args(), "--listen", "127.0.0.1:0")...)
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	testutil.Unprivileged(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(pr)
	addr := ""
	for addr == "" && sc.Scan() {
		for _, f := range strings.Fields(sc.Text()) {
			if a, ok := strings.CutPrefix(f, "addr="); ok {
				addr = a
			}
		}
	}
	go io.Copy(io.Discard, pr)
	c := dial(t, addr)
	c.expect("220 ")
	c.send("EHLO x\r\n")
	c.expect("250-")
	cmd.Process.Signal(syscall.SIGTERM)
	c.expect("421 4.3.2")
	if err := cmd.Wait(); err != nil {
		t.Errorf("exit after SIGTERM: %v", err)
	}
}

// TestDiskFull: a full file system gives 452 4.3.1 and leaves no partial
// file; the next, smaller message is delivered.
func TestDiskFull(t *testing.T) {
	testutil.Root(t) // to mount a small tmpfs
	w := newWorld(t)
	mnt := filepath.Join(w.root, "small")
	os.Mkdir(mnt, 0o755)
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=256k,uid=65534,gid=65534,mode=0755", "tmpfs", mnt).CombinedOutput(); err != nil {
		testutil.Require(t, fmt.Sprintf("mounting a tmpfs (%v %s)", err, out), false)
	}
	t.Cleanup(func() { exec.Command("umount", mnt).Run() })
	md := filepath.Join(mnt, "Maildir")
	c, _, _ := w.stdio([]string{"--hostname", "foo.com", "--maildir", md})
	s := newClient(t, c)
	s.expect("220 ")
	s.send("EHLO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<me@foo.com>\r\nDATA\r\n")
	for _, p := range []string{"250-", "250 ", "250 ", "354 "} {
		s.expect(p)
	}
	line := strings.Repeat("y", 998) + "\r\n"
	for range 1024 { // 1 MiB into 256 KiB
		s.send(line)
	}
	s.send(".\r\n")
	s.expect("452 4.3.1")
	for _, sub := range []string{"tmp", "new"} {
		if es, _ := os.ReadDir(filepath.Join(md, sub)); len(es) != 0 {
			t.Errorf("%d files left in %s/", len(es), sub)
		}
	}
	s.send("MAIL FROM:<a@b.example>\r\nRCPT TO:<me@foo.com>\r\nDATA\r\n")
	s.expect("250 ")
	s.expect("250 ")
	s.expect("354 ")
	s.send("Subject: small\r\n\r\nfits\r\n.\r\nQUIT\r\n")
	s.expect("250 2.0.0")
	s.expect("221 ")
	if n := len(readNew(t, md)); n != 1 {
		t.Errorf("%d messages after the small one, want 1", n)
	}
}

// waitExit waits for a server started by stdio to end its session and
// exit, failing the test if it is still running after a generous bound.
func waitExit(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatal("smtpd still running 20 s after its session ended")
	}
}
