package smtpd

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"mailtk/internal/testutil"
)

// pythonClient is a Python smtplib script: pipelining (smtplib sends
// MAIL, RCPTs and DATA of sendmail() one by one but our server must also
// take them pipelined; the raw socket part of the script pipelines them),
// STARTTLS against the test certificate, AUTH PLAIN and LOGIN.
const pythonClient = `
import smtplib, ssl, socket, sys
host, port, cafile = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ctx = ssl.create_default_context(cafile=cafile)

# 1. STARTTLS, then AUTH LOGIN, then a relay recipient (authenticated:
# allowed, but no queue yet -> 451 4.3.2) and local ones.
s = smtplib.SMTP(host, port, local_hostname="client.example")
s.ehlo()
assert s.has_extn("starttls"), s.esmtp_features
# 127.0.0.1 is a local client: AUTH is offered even in the clear there
assert s.has_extn("auth"), s.esmtp_features
s.starttls(context=ctx)
s.ehlo()
assert s.has_extn("auth"), s.esmtp_features
s.login("jones", "secret")   # smtplib picks the best of CRAM-MD5/PLAIN/LOGIN offered
code, msg = s.mail("jones@foo.com")
assert code == 250, (code, msg)
code, msg = s.rcpt("someone@remote.example")
assert code == 451 and b"4.3.2" in msg, (code, msg)
code, msg = s.rcpt("brown@foo.com")
assert code == 250, (code, msg)
code, msg = s.data(b"Subject: over TLS\r\n\r\nsent with STARTTLS and AUTH\r\n")
assert code == 250, (code, msg)
s.quit()

# 2. AUTH LOGIN explicitly, and a wrong password.
s = smtplib.SMTP(host, port)
s.starttls(context=ctx)
s.ehlo()
code, _ = s.docmd("AUTH", "LOGIN")
assert code == 334
import base64
code, _ = s.docmd(base64.b64encode(b"jones").decode())
assert code == 334
code, msg = s.docmd(base64.b64encode(b"wrong").decode())
assert code == 535 and b"5.7.8" in msg, (code, msg)
s.user, s.password = "jones", "secret"
code, msg = s.auth("PLAIN", s.auth_plain)
assert code == 235, (code, msg)
s.quit()

# 3. sendmail() to several recipients, one unknown.
s = smtplib.SMTP(host, port)
refused = s.sendmail("a@client.example", ["jones@foo.com", "ghost@foo.com", "brown@foo.com"],
                     b"Subject: three\r\n\r\n.leading dot\r\nbody\r\n")
assert list(refused) == ["ghost@foo.com"], refused
s.quit()

# 4. Raw pipelining: everything in one write, replies read afterwards.
c = socket.create_connection((host, port))
f = c.makefile("rb")
assert f.readline().startswith(b"220 ")
c.sendall(b"EHLO pipe.example\r\nMAIL FROM:<p@pipe.example>\r\nRCPT TO:<jones@foo.com>\r\n"
          b"RCPT TO:<nobody@foo.com>\r\nDATA\r\n")
lines = []
while True:
    l = f.readline()
    lines.append(l)
    if l.startswith(b"354"):
        break
assert any(l.startswith(b"550 5.1.1") for l in lines), lines
c.sendall(b"Subject: pipelined\r\n\r\nhi\r\n.\r\nQUIT\r\n")
assert f.readline().startswith(b"250 2.0.0"), "data"
assert f.readline().startswith(b"221 "), "quit"
print("ok")
`

func TestPythonSmtplib(t *testing.T) {
	py := testutil.Python(t)
	w := newWorld(t)
	cert, key := w.cert()
	addr, _ := w.listen(w.args("--tls-cert", cert, "--tls-key", key)...)
	host, port, _ := strings.Cut(addr, ":")
	script := w.write("client.py", pythonClient)
	out, err := exec.Command(py, script, host, port, cert).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ok") {
		t.Fatalf("python: %v\n%s", err, out)
	}
	jones, brown := w.messages("jones"), w.messages("brown")
	if len(jones) != 2 || len(brown) != 2 {
		t.Fatalf("jones has %d, brown %d messages; want 2 and 2", len(jones), len(brown))
	}
	all := strings.Join(brown, "\n")
	for _, want := range []string{"with ESMTPSA id", "(TLS 1.", "Subject: over TLS", "Subject: three\n\n.leading dot\nbody\n"} {
		if !strings.Contains(all, want) {
			t.Errorf("brown's mail lacks %q:\n%s", want, all)
		}
	}
	if !strings.Contains(strings.Join(jones, ""), "Subject: pipelined") {
		t.Error("pipelined message missing")
	}
}

// TestSwaks drives the server with swaks: --pipeline, --tls, --auth.
func TestSwaks(t *testing.T) {
	swaks := testutil.Peer(t, "swaks")
	w := newWorld(t)
	cert, key := w.cert()
	addr, _ := w.listen(w.args("--tls-cert", cert, "--tls-key", key)...)
	host, port, _ := strings.Cut(addr, ":")
	try := func(args ...string) (string, error) {
		base := []string{"--server", host, "--port", port, "--from", "a@client.example", "--helo", "client.example"}
		out, err := exec.Command(swaks, append(base, args...)...).CombinedOutput()
		return string(out), err
	}
	run := func(args ...string) string {
		t.Helper()
		out, err := try(args...)
		if err != nil {
			t.Fatalf("swaks %v: %v\n%s", args, err, out)
		}
		return out
	}
	out := run("--to", "jones@foo.com,brown@foo.com", "--pipeline", "--header", "Subject: swaks pipeline", "--body", "one")
	if !strings.Contains(out, "<~  250 2.0.0 OK") && !strings.Contains(out, "250 2.0.0 OK") {
		t.Errorf("pipeline:\n%s", out)
	}
	out = run("--to", "brown@foo.com", "--tls", "--header", "Subject: swaks tls", "--body", "two")
	if !strings.Contains(out, "TLS started") {
		t.Errorf("tls:\n%s", out)
	}
	out, _ = try("--to", "someone@remote.example", "--tls", "--auth", "LOGIN", "--auth-user", "jones", "--auth-password", "secret",
		"--quit-after", "RCPT")
	if !strings.Contains(out, "235 2.7.0") || !strings.Contains(out, "451 4.3.2") {
		t.Errorf("auth login + relay:\n%s", out)
	}
	out = run("--to", "jones@foo.com", "--tls", "--auth", "PLAIN", "--auth-user", "jones", "--auth-password", "secret",
		"--header", "Subject: swaks auth")
	if !strings.Contains(out, "235 2.7.0") {
		t.Errorf("auth plain:\n%s", out)
	}
	if n := len(w.messages("brown")); n != 2 {
		t.Errorf("brown has %d messages, want 2", n)
	}
	if n := len(w.messages("jones")); n != 2 {
		t.Errorf("jones has %d messages, want 2", n)
	}
}

// TestSmtpSource uses Postfix's smtp-source as a load client: 200
// messages over 5 sessions, each delivered once.
func TestSmtpSource(t *testing.T) {
	src := testutil.Peer(t, "smtp-source")
	w := newWorld(t)
	addr, _ := w.listen(w.args("--max-per-ip", "-1")...)
	out, err := exec.Command(src, "-s", "5", "-m", "200", "-l", "2048", "-f", "load@client.example", "-t", "jones@foo.com", addr).CombinedOutput()
	if err != nil {
		t.Logf("smtp-source: %v\n%s (its exit status is unreliable; counting deliveries)", err, out)
	}
	if n := len(w.messages("jones")); n != 200 {
		t.Fatalf("%d messages delivered, want 200", n)
	}
}

func init() { _ = fmt.Sprint; _ = os.Getpid }

// TestPythonLMTP: Python's smtplib.LMTP client over a Unix socket, as an
// MTA hands mail to its LMTP delivery agent; one status per recipient.
func TestPythonLMTP(t *testing.T) {
	py := testutil.Python(t)
	w := newWorld(t)
	sock := w.root + "/lmtp.sock"
	cmd := exec.Command(w.bin, append(w.args("--lmtp"), "--listen", "unix:"+sock)...)
	testutil.Unprivileged(cmd)
	var stderr syncBuf
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() })
	script := w.write("lmtp.py", `
import smtplib, sys, time, os
for _ in range(200):
    if os.path.exists(sys.argv[1]): break
    time.sleep(0.05)
s = smtplib.LMTP(sys.argv[1])
refused = s.sendmail("a@client.example", ["jones@foo.com", "ghost@foo.com", "staff@foo.com"], b"Subject: lmtp\r\n\r\nhi\r\n")
assert list(refused) == ["ghost@foo.com"], refused
s.quit()
print("ok")
`)
	out, err := exec.Command(py, script, sock).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ok") {
		t.Fatalf("python: %v\n%s\n%s", err, out, stderr.String())
	}
	// jones directly and through the staff list: one copy each place
	if n := len(w.messages("jones")); n != 1 {
		t.Errorf("jones has %d messages, want 1", n)
	}
	for _, u := range []string{"brown", "admin.mrc"} {
		if n := len(w.messages(u)); n != 1 {
			t.Errorf("%s has %d messages, want 1", u, n)
		}
	}
}
