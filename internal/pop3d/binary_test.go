package pop3d

import (
	"crypto/tls"
	"encoding/base64"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"mailtk/internal/testutil"
	"mailtk/maildir"
)

// line returns a one-line message whose CRLF size is n.
func line(n int) string { return strings.Repeat("a", n-2) + "\n" }

func TestSeedTranscriptBinary(t *testing.T) {
	e := newEnv(t)
	e.deliver(t, line(3000), line(7124), line(14749-7124-3000))
	c, _, wait := stdio(t, nil, true, "--users", e.users)
	testutil.RunTranscriptFile(t, "testdata/seed.txt", c, c)
	if err := wait(); err != nil {
		t.Fatalf("exit: %v", err)
	}
	if n := len(e.scan(t)); n != 3 {
		t.Fatalf("%d messages left", n)
	}
}

func TestListenSession(t *testing.T) {
	e := newEnv(t)
	msgs := e.deliver(t, "Subject: one\n\nbody 1\n", "Subject: two\n\n.dot\nx\n", "Subject: three\n\nbody 3\n")
	s := startServer(t, "--users", e.users)
	c := dial(t, s.addr)
	c.login("cousin", "secret")
	c.cmd("STAT", "+OK 3 *")
	c.cmd("UIDL", "+OK *")
	uidl := c.multi()
	for i, m := range msgs {
		if want := strings.Join([]string{string(rune('1' + i)), m.Key}, " "); uidl[i] != want {
			t.Errorf("UIDL line %q, want %q (the Maildir key, as qmail-pop3d)", uidl[i], want)
		}
	}
	c.cmd("LIST", "+OK 3 messages *")
	list := c.multi()
	for i, m := range msgs {
		if want := string(rune('1'+i)) + " " + itoa(m.CRLFSize); list[i] != want {
			t.Errorf("LIST line %q, want %q (the W= size)", list[i], want)
		}
	}
	c.cmd("RETR 2", "+OK * octets")
	if got := strings.Join(c.multi(), "\n"); got != "Subject: two\n\n.dot\nx" {
		t.Errorf("RETR 2 = %q", got)
	}
	c.cmd("TOP 3 0", "+OK *")
	if got := strings.Join(c.multi(), "\n"); got != "Subject: three\n" {
		t.Errorf("TOP 3 0 = %q", got)
	}
	c.cmd("DELE 1", "+OK *")
	c.cmd("LAST", "+OK 2")
	c.cmd("QUIT", "+OK pop.test POP3 server signing off (2 messages left)")
	after := e.scan(t)
	if len(after) != 2 || after[0].Key != msgs[1].Key || after[0].Subdir != maildir.SubCur || after[0].Flags != "S" ||
		after[1].Key != msgs[2].Key || after[1].Subdir != maildir.SubNew {
		t.Fatalf("after QUIT: %+v", after)
	}
	// The next session sees message 2 as seen: LAST starts there.
	c = dial(t, s.addr)
	c.login("cousin", "secret")
	c.cmd("LAST", "+OK 1")
	c.cmd("QUIT", "+OK *")
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestNoQuitDeletesNothing(t *testing.T) {
	e := newEnv(t)
	e.deliver(t, "a\n", "b\n")
	s := startServer(t, "--users", e.users)
	c := dial(t, s.addr)
	c.login("cousin", "secret")
	c.cmd("DELE 1", "+OK *")
	c.cmd("RETR 2", "+OK *")
	c.multi()
	c.c.Close()
	// The lock is released when the server sees the connection end; a new
	// login (retried until then) shows both messages, still unseen.
	for i := 0; ; i++ {
		c = dial(t, s.addr)
		c.cmd("USER cousin", "+OK*")
		if l := c.cmd("PASS secret", "*"); strings.HasPrefix(l, "+OK") {
			break
		} else if !strings.Contains(l, "[IN-USE]") || i == 100 {
			t.Fatalf("login: %s", l)
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.cmd("STAT", "+OK 2 *")
	c.cmd("LAST", "+OK 0")
	c.cmd("QUIT", "+OK *")
}

func TestInUse(t *testing.T) {
	e := newEnv(t)
	e.deliver(t, "a\n")
	s := startServer(t, "--users", e.users)
	first := dial(t, s.addr)
	first.login("cousin", "secret")
	second := dial(t, s.addr)
	second.cmd("USER cousin", "+OK *")
	second.cmd("PASS secret", "-ERR [IN-USE] *")
	first.cmd("QUIT", "+OK *")
	second.cmd("USER cousin", "+OK *")
	second.cmd("PASS secret", "+OK Logged in, 1 messages*")
	// Another user's maildrop is independent.
	third := dial(t, s.addr)
	third.login("other", "pw")
	third.cmd("STAT", "+OK 0 0")
}

func TestAuthFailures(t *testing.T) {
	e := newEnv(t)
	s := startServer(t, "--users", e.users)
	c := dial(t, s.addr)
	c.cmd("USER cousin", "+OK *")
	c.cmd("PASS wrong", "-ERR [AUTH] Authentication failed")
	c.cmd("USER nobody-here", "+OK *")
	c.cmd("PASS x", "-ERR [AUTH] Authentication failed")
	c.cmd("AUTH PLAIN "+base64.StdEncoding.EncodeToString([]byte("\x00cousin\x00nope")), "-ERR [AUTH] Authentication failed; too many failures, closing connection")
	if _, err := c.br.ReadByte(); err != io.EOF {
		t.Fatalf("connection not closed: %v", err)
	}
	if !strings.Contains(s.log(), "login failed") {
		t.Errorf("failed logins not logged: %s", s.log())
	}
}

func TestAuthPlain(t *testing.T) {
	e := newEnv(t)
	e.deliver(t, "a\n")
	s := startServer(t, "--users", e.users)
	c := dial(t, s.addr)
	c.cmd("AUTH PLAIN", "+ ")
	c.send(base64.StdEncoding.EncodeToString([]byte("\x00cousin\x00secret")))
	c.expect("+OK Logged in, 1 messages*")
	c.cmd("QUIT", "+OK *")
}

func TestRootUser(t *testing.T) {
	e := newEnv(t)
	s := startServer(t, "--users", e.users)
	c := dial(t, s.addr)
	c.cmd("USER toor", "+OK *")
	c.cmd("PASS pw", "-ERR [SYS/PERM] *")
}

// TestStartedAsRoot runs pop3d as root in stdin/stdout mode, the
// tcpserver/inetd way: it must become the user's uid/gid before touching
// the Maildir, and refuse a user whose uid is 0.
func TestStartedAsRoot(t *testing.T) {
	testutil.Root(t)
	e := newEnv(t)
	e.deliver(t, "a\n")
	c, _, wait := stdio(t, nil, false, "--users", e.users)
	cl := newClient(t, c)
	cl.expect("+OK *")
	cl.login("cousin", "secret")
	cl.cmd("RETR 1", "+OK *")
	cl.multi()
	cl.cmd("QUIT", "+OK *")
	wait()
	// The lock file and the renamed message belong to the user, not root.
	assertOwner(t, filepath.Join(e.maildir, LockName), testutil.Nobody)
	for _, m := range e.scan(t) {
		assertOwner(t, e.md.MessagePath(m), testutil.Nobody)
	}

	c, _, wait = stdio(t, nil, false, "--users", e.users)
	cl = newClient(t, c)
	cl.expect("+OK *")
	cl.cmd("USER toor", "+OK *")
	cl.cmd("PASS pw", "-ERR [SYS/PERM] Mailbox unavailable")
	if _, err := os.Stat(filepath.Join(e.dir, "Root")); err == nil {
		t.Fatal("a Maildir was created for the uid 0 user")
	}
	cl.cmd("QUIT", "+OK *")
	wait()
}

func TestRefusesRootModes(t *testing.T) {
	testutil.Root(t)
	e := newEnv(t)
	bin := testutil.Binary(t, "pop3d")
	for _, args := range [][]string{
		{"--listen", "127.0.0.1:0", "--users", e.users},
		{"--preauth", "--maildir", e.maildir},
	} {
		out, err := exec.Command(bin, args...).CombinedOutput()
		if testutil.ExitCode(err) != 78 {
			t.Errorf("%v: %v, %s", args, err, out)
		}
	}
}

func TestUsage(t *testing.T) {
	bin := testutil.Binary(t, "pop3d")
	for _, args := range [][]string{
		{},
		{"--preauth"},
		{"--users", "x", "--preauth", "--maildir", "y"},
		{"--users", "x", "--maildir", "y"},
		{"extra-arg", "--users", "x"},
		{"--bogus"},
	} {
		out, err := exec.Command(bin, args...).CombinedOutput()
		if testutil.ExitCode(err) != 64 {
			t.Errorf("%v: %v, %s", args, err, out)
		}
	}
	out, err := exec.Command(bin, "--users", "/nonexistent/users").CombinedOutput()
	if testutil.ExitCode(err) != 78 {
		t.Errorf("missing users file: %v, %s", err, out)
	}
	out, err = exec.Command(bin, "--help").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--checkpassword") || !strings.Contains(string(out), "Exit status") {
		t.Errorf("--help: %v, %s", err, out)
	}
}

// TestPlaintextRefusedRemote: a client that is not on loopback and not
// using TLS cannot send a password; CAPA does not offer USER or SASL.
func TestPlaintextRefusedRemote(t *testing.T) {
	e := newEnv(t)
	c, _, _ := stdio(t, []string{"TCPREMOTEIP=192.0.2.7", "TCPREMOTEPORT=4000", "TCPLOCALIP=192.0.2.1", "TCPLOCALPORT=110"}, true, "--users", e.users)
	cl := newClient(t, c)
	cl.expect("+OK *")
	cl.cmd("CAPA", "+OK *")
	capa := strings.Join(cl.multi(), ",")
	if strings.Contains(capa, "USER") || strings.Contains(capa, "SASL") || strings.Contains(capa, "STLS") {
		t.Errorf("CAPA offers login without TLS: %s", capa)
	}
	cl.cmd("USER cousin", "-ERR [AUTH] Plaintext authentication disallowed*")
	cl.cmd("AUTH PLAIN AGNvdXNpbgBzZWNyZXQ=", "-ERR [AUTH] Plaintext authentication disallowed*")
	cl.cmd("QUIT", "+OK *")
}

func TestPreauth(t *testing.T) {
	e := newEnv(t)
	e.deliver(t, "x\n", "yy\n")
	c, _, wait := stdio(t, nil, true, "--preauth", "--maildir", e.maildir)
	cl := newClient(t, c)
	cl.expect("+OK pop.test POP3 server ready")
	cl.cmd("STAT", "+OK 2 7")
	cl.cmd("DELE 2", "+OK *")
	cl.cmd("QUIT", "+OK *")
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	if n := len(e.scan(t)); n != 1 {
		t.Fatalf("%d messages", n)
	}
}

func TestLimits(t *testing.T) {
	e := newEnv(t)
	e.deliver(t, "x\n")
	s := startServer(t, "--users", e.users)
	c := dial(t, s.addr)
	c.cmd(strings.Repeat("A", 300), "-ERR Line too long")
	c.cmd("CAPA", "+OK *") // still in sync
	c.multi()
	c.login("cousin", "secret")
	c.cmd("RETR 0", "-ERR No such message")
	c.cmd("RETR 2", "-ERR No such message")
	c.cmd("RETR 4294967297", "-ERR No such message")
	c.cmd("RETR -1", "-ERR Invalid message number")
	c.cmd("RETR one", "-ERR Invalid message number; too many errors, closing connection")
	if _, err := c.br.ReadByte(); err != io.EOF {
		t.Fatalf("connection not closed: %v", err)
	}
}

func TestLoginTimeout(t *testing.T) {
	e := newEnv(t)
	s := startServer(t, "--users", e.users, "--login-timeout", "1s")
	c := dial(t, s.addr)
	c.expect("-ERR Autologout*")
}

func TestSTLS(t *testing.T) {
	e := newEnv(t)
	e.deliver(t, "a\n")
	cert, key := testutil.TLSCert(t, e.dir)
	s := startServer(t, "--users", e.users, "--tls-cert", cert, "--tls-key", key)
	c := dial(t, s.addr)
	c.cmd("CAPA", "+OK *")
	if !strings.Contains(strings.Join(c.multi(), ","), "STLS") {
		t.Fatal("STLS not offered")
	}
	// Plaintext injection (CVE-2021-38084 class): QUIT pipelined after
	// STLS must be discarded, not run inside the TLS session.
	io.WriteString(c.c, "STLS\r\nQUIT\r\n")
	c.expect("+OK Begin TLS negotiation")
	tc := tls.Client(c.c, &tls.Config{InsecureSkipVerify: true})
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	c = newClient(t, tc)
	c.cmd("CAPA", "+OK Capability list follows")
	capa := strings.Join(c.multi(), ",")
	if strings.Contains(capa, "STLS") || !strings.Contains(capa, "USER") {
		t.Fatalf("CAPA after TLS: %s", capa)
	}
	c.cmd("STLS", "-ERR *")
	c.login("cousin", "secret")
	c.cmd("QUIT", "+OK *")
	if !strings.Contains(s.log(), "discarded plaintext sent after STLS") {
		t.Errorf("injection not logged: %s", s.log())
	}
}

func TestImplicitTLS(t *testing.T) {
	e := newEnv(t)
	cert, key := testutil.TLSCert(t, e.dir)
	s := startServer(t, "--users", e.users, "--tls-cert", cert, "--tls-key", key, "--tls-implicit")
	tc, err := tls.Dial("tcp", s.addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	c := newClient(t, tc)
	c.expect("+OK *")
	c.cmd("CAPA", "+OK *")
	if strings.Contains(strings.Join(c.multi(), ","), "STLS") {
		t.Fatal("STLS offered on implicit TLS")
	}
	c.login("cousin", "secret")
	c.cmd("QUIT", "+OK *")
}

func TestCheckpassword(t *testing.T) {
	py := testutil.Python(t)
	e := newEnv(t)
	e.deliver(t, "Subject: cp\n\nvia checkpassword\n")
	// The program runs as pop3d's user: give it a copy it can read, and
	// the system interpreter rather than one under root's home.
	if _, err := os.Stat("/usr/bin/python3"); err == nil {
		py = "/usr/bin/python3"
	}
	script := filepath.Join(e.dir, "checkpassword.py")
	if err := os.WriteFile(script, []byte(mustRead(t, "testdata/checkpassword.py")), 0o755); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "--checkpassword", py+" "+script+" "+e.dir)
	c := dial(t, s.addr)
	c.cmd("USER cousin", "+OK *")
	c.cmd("PASS wrong", "-ERR [AUTH] Authentication failed")
	c.cmd("USER tempfail", "+OK *")
	c.cmd("PASS x", "-ERR [SYS/TEMP] *")
	c.login("cousin", "secret")
	c.cmd("RETR 1", "+OK *")
	if body := strings.Join(c.multi(), "\n"); !strings.Contains(body, "via checkpassword") {
		t.Fatalf("RETR: %q", body)
	}
	c.cmd("QUIT", "+OK *")
}

// TestInetdStderr runs pop3d as inetd runs a "nowait" service, with fd
// 0, 1 and 2 all the client's socket: the log must not reach the client,
// which sees POP3 lines only, and the connection must end (EOF) after
// QUIT although fd 2 was the socket too.
func TestInetdStderr(t *testing.T) {
	e := newEnv(t)
	e.deliver(t, "Subject: one\n\nbody\n")
	cmd := exec.Command(testutil.Binary(t, "pop3d"), "--hostname", "pop.test", "--auth-penalty", "1ms", "--users", e.users, "--debug")
	testutil.Unprivileged(cmd)
	// A failed login, a good one, a message and QUIT: each is logged.
	lines := testutil.InetdSession(t, cmd, "USER cousin\r\nPASS wrong\r\nUSER cousin\r\nPASS secret\r\nSTAT\r\nQUIT\r\n")
	want := []string{"+OK ", "+OK", "-ERR", "+OK", "+OK", "+OK 1 ", "+OK"}
	if len(lines) != len(want) {
		t.Fatalf("got %q, want %d lines", lines, len(want))
	}
	for i, l := range lines {
		if !strings.HasPrefix(l, want[i]) || !strings.HasSuffix(l, "\r\n") {
			t.Errorf("line %d = %q, want %q…CRLF", i+1, l, want[i])
		}
	}
}
