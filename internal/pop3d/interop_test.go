package pop3d

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"mailtk/internal/testutil"
	"mailtk/maildir"
)

// hostile is a message full of what a careless POP3 server gets wrong:
// lines that are or start with ".", bare CRs, NULs, 8-bit bytes.
const hostile = "Subject: dots\nFrom: a@example.org\n\n.\n..\n...\n. \n.leading dot\n" +
	"mid\rcr\n\rstart cr\nnul\x00byte\n\x00\n.\x00\n\xff\xfe 8-bit\n.\n\nlast\n"

func TestPoplib(t *testing.T) {
	py := testutil.Python(t)
	e := newEnv(t)
	msgs := e.deliver(t, hostile, "Subject: two\n\nsecond\n", strings.Repeat(".x\n", 5000))
	var stored []string
	for _, m := range msgs {
		b, err := os.ReadFile(e.md.MessagePath(m))
		if err != nil {
			t.Fatal(err)
		}
		stored = append(stored, string(b))
	}
	if stored[0] != hostile {
		t.Fatalf("stored message differs from the input: %q", stored[0])
	}
	cert, key := testutil.TLSCert(t, e.dir)
	s := startServer(t, "--users", e.users, "--tls-cert", cert, "--tls-key", key)
	host, port, _ := strings.Cut(s.addr, ":")
	out := t.TempDir()
	cmd := exec.Command(py, "testdata/poplib_client.py", host, port, "cousin", "secret", out)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("poplib: %v\n%s", err, stderr.String())
	}
	var r struct {
		CapaPlain, CapaTLS, SASL, List, UIDL, Top []string
		Auth, Dele, Quit                          string
		Stat                                      []int
		Octets                                    []int64
	}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	// On loopback, plaintext login is allowed, so USER is offered; STLS
	// only until TLS is on.
	if !slices.Contains(r.CapaPlain, "STLS") || slices.Contains(r.CapaTLS, "STLS") || !slices.Contains(r.SASL, "PLAIN") {
		t.Errorf("CAPA before %v, after %v, SASL %v", r.CapaPlain, r.CapaTLS, r.SASL)
	}
	if !strings.HasPrefix(r.Auth, "+OK") || r.Stat[0] != 3 {
		t.Fatalf("auth %q stat %v", r.Auth, r.Stat)
	}
	var total int64
	for i, m := range msgs {
		total += m.CRLFSize
		if want := fmt.Sprintf("%d %d", i+1, m.CRLFSize); r.List[i] != want {
			t.Errorf("LIST %q, want %q", r.List[i], want)
		}
		if want := fmt.Sprintf("%d %s", i+1, m.Key); r.UIDL[i] != want {
			t.Errorf("UIDL %q, want %q", r.UIDL[i], want)
		}
		// poplib counts the octets of the unstuffed CRLF text: the
		// exact size RFC 1939 asks LIST to give.
		if r.Octets[i] != m.CRLFSize {
			t.Errorf("message %d: poplib received %d octets, LIST said %d", i+1, r.Octets[i], m.CRLFSize)
		}
		got, err := os.ReadFile(filepath.Join(out, fmt.Sprint(i+1)))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != stored[i] {
			t.Errorf("message %d not byte-exact:\n got  %q\n want %q", i+1, got, stored[i])
		}
	}
	if int64(r.Stat[1]) != total {
		t.Errorf("STAT size %d, want %d", r.Stat[1], total)
	}
	if strings.Join(r.Top, "\n") != "Subject: dots\nFrom: a@example.org\n\n." {
		t.Errorf("TOP 1 1 = %q", r.Top)
	}
	if !strings.HasPrefix(r.Quit, "+OK") {
		t.Errorf("QUIT %q", r.Quit)
	}
	after := e.scan(t)
	if len(after) != 2 || after[0].Key != msgs[1].Key || after[0].Flags != "S" || after[1].Flags != "S" {
		t.Errorf("after QUIT: %+v", after)
	}
}

// TestFetchmail downloads with fetchmail, keeping the mail on the server:
// its UIDL bookkeeping must make the second run fetch nothing and the
// third only the message delivered in between.
func TestFetchmail(t *testing.T) {
	fm := testutil.Peer(t, "fetchmail")
	e := newEnv(t)
	e.deliver(t, "Subject: fm-1\n\nbody one\n", "Subject: fm-2\n\n.dotted\n", "Subject: fm-3\n\nthree\n")
	s := startServer(t, "--users", e.users)
	_, port, _ := strings.Cut(s.addr, ":")
	dir := t.TempDir()
	home := filepath.Join(dir, "fm")
	if err := os.Mkdir(home, 0o700); err != nil {
		t.Fatal(err)
	}
	mbox := filepath.Join(home, "mbox.out")
	rc := filepath.Join(dir, "fetchmailrc")
	conf := fmt.Sprintf(`set no syslog
poll 127.0.0.1 service %s protocol pop3 auth password uidl
  user "cousin" password "secret" is "root" here
  keep sslproto ""
  mda "/usr/bin/tee -a %s"
`, port, mbox)
	if err := os.WriteFile(rc, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func() (int, string) {
		cmd := exec.Command(fm, "-f", rc, "-v", "--nodetach")
		cmd.Env = append(os.Environ(), "FETCHMAILHOME="+home)
		out, err := cmd.CombinedOutput()
		code := testutil.ExitCode(err)
		if code < 0 {
			t.Fatalf("fetchmail: %v\n%s", err, out)
		}
		return code, string(out)
	}
	if code, out := run(); code != 0 {
		t.Fatalf("fetchmail exit %d:\n%s", code, out)
	}
	got, _ := os.ReadFile(mbox)
	for _, want := range []string{"Subject: fm-1", "body one", "Subject: fm-2", "\n.dotted\n", "Subject: fm-3"} {
		if !strings.Contains(string(got), want) {
			t.Errorf("fetched mail lacks %q:\n%s", want, got)
		}
	}
	// Exit 1 is fetchmail's "no mail".
	if code, out := run(); code != 1 {
		t.Fatalf("second run: exit %d (want 1, no new mail):\n%s", code, out)
	}
	e.deliver(t, "Subject: fm-4\n\nfour\n")
	if code, out := run(); code != 0 || !strings.Contains(out, "Subject: fm-4") || strings.Contains(out, "Subject: fm-1") {
		t.Fatalf("third run: exit %d:\n%s", code, out)
	}
	got, _ = os.ReadFile(mbox)
	if n := strings.Count(string(got), "Subject: fm-"); n != 4 {
		t.Errorf("%d messages fetched in all, want 4:\n%s", n, got)
	}
	if n := len(e.scan(t)); n != 4 {
		t.Errorf("keep: %d messages left on the server", n)
	}
}

// TestDeliveryDuringSession: smtpd delivers while a session is open; the
// session's snapshot does not change, the next login sees the message.
func TestDeliveryDuringSession(t *testing.T) {
	e := newEnv(t)
	e.deliver(t, "Subject: old\n\nold\n")
	s := startServer(t, "--users", e.users)
	c := dial(t, s.addr)
	c.login("cousin", "secret")
	c.cmd("STAT", "+OK 1 *")

	smtpd := exec.Command(testutil.Binary(t, "smtpd"), "--maildir", e.maildir, "--hostname", "localhost")
	smtpd.Stdin = strings.NewReader("HELO client.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<cousin@localhost>\r\n" +
		"DATA\r\nSubject: new\r\n\r\nnew mail\r\n.\r\nQUIT\r\n")
	testutil.Unprivileged(smtpd)
	out, err := smtpd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "250 2.0.0 OK") {
		t.Fatalf("smtpd: %v\n%s", err, out)
	}
	if n := len(e.scan(t)); n != 2 {
		t.Fatalf("smtpd delivered nothing: %d messages", n)
	}

	c.cmd("STAT", "+OK 1 *")
	c.cmd("LIST", "+OK 1 messages*")
	if l := c.multi(); len(l) != 1 {
		t.Fatalf("LIST %v", l)
	}
	c.cmd("RETR 2", "-ERR No such message")
	c.cmd("DELE 1", "+OK *")
	c.cmd("QUIT", "+OK * (0 messages left)")

	c = dial(t, s.addr)
	c.login("cousin", "secret")
	c.cmd("STAT", "+OK 1 *")
	c.cmd("RETR 1", "+OK *")
	if body := strings.Join(c.multi(), "\n"); !strings.Contains(body, "Subject: new") {
		t.Fatalf("RETR 1: %s", body)
	}
	c.cmd("QUIT", "+OK *")
}

// TestIMAPChangesDuringSession: imapd expunges a message the POP3 session
// listed, and marks another seen (moving it from new/ to cur/); RETR of
// the first is -ERR, of the second works, and QUIT commits the rest.
func TestIMAPChangesDuringSession(t *testing.T) {
	e := newEnv(t)
	msgs := e.deliver(t, "Subject: 1\n\none\n", "Subject: 2\n\ntwo\n", "Subject: 3\n\nthree\n", "Subject: 4\n\nfour\n")
	s := startServer(t, "--users", e.users)
	c := dial(t, s.addr)
	c.login("cousin", "secret")
	c.cmd("STAT", "+OK 4 *")

	imapd := exec.Command(testutil.Binary(t, "imapd"), "--preauth", "--maildir", e.maildir)
	imapd.Stdin = strings.NewReader("a SELECT INBOX\r\nb STORE 2 +FLAGS (\\Deleted)\r\nc EXPUNGE\r\n" +
		"d STORE 2 +FLAGS (\\Seen)\r\ne LOGOUT\r\n")
	testutil.Unprivileged(imapd)
	out, err := imapd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "c OK") || !strings.Contains(string(out), "d OK") {
		t.Fatalf("imapd: %v\n%s", err, out)
	}

	c.cmd("RETR 2", "-ERR Message 2 is gone*")
	c.cmd("RETR 3", "+OK *")
	if body := strings.Join(c.multi(), "\n"); !strings.Contains(body, "three") {
		t.Fatalf("RETR 3 after imapd moved it: %q", body)
	}
	c.cmd("DELE 2", "+OK *") // deleting a gone message is harmless at QUIT
	c.cmd("DELE 4", "+OK *")
	c.cmd("QUIT", "+OK *")
	after := e.scan(t)
	if len(after) != 2 || after[0].Key != msgs[0].Key || after[1].Key != msgs[2].Key || after[1].Flags != "S" {
		t.Fatalf("after QUIT: %+v", after)
	}
	if after[0].Flags != "" {
		t.Errorf("message 1 was not retrieved but got flags: %+v", after[0])
	}
}

// TestSameAsDovecot serves one Maildir with Dovecot's POP3 and with
// pop3d: the sizes (LIST, STAT) and the retrieved octets must agree.
func TestSameAsDovecot(t *testing.T) {
	root := testutil.UnprivDir(t)
	users := filepath.Join(root, "dovecot-users")
	if err := os.WriteFile(users, []byte("cousin:{PLAIN}secret\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mailRoot := filepath.Join(root, "mail")
	md, err := maildir.Create(filepath.Join(mailRoot, "cousin", "Maildir"))
	if err != nil {
		t.Fatal(err)
	}
	// The messages have headers: Dovecot 2.3 does not dot-stuff the first
	// line of a message that has none ("..y" goes out as "..y", which a
	// client reads as ".y"); pop3d does.
	for _, b := range []string{hostile, "Subject: two\n\nsecond\n", "Subject: y\n\n" + strings.Repeat("..y\n", 100)} {
		if _, err := md.Deliver(strings.NewReader(b)); err != nil {
			t.Fatal(err)
		}
	}
	testutil.ChownTree(t, root)
	dv := testutil.StartDovecot(t, users, mailRoot)

	ours := filepath.Join(root, "users")
	line := fmt.Sprintf("cousin:{PLAIN}secret:%d:%d::%s::userdb_mail=maildir:%s\n", testutil.Nobody, testutil.Nobody, root, md.Path())
	if err := os.WriteFile(ours, []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "--users", ours)

	session := func(addr string) []string {
		c := dial(t, addr)
		c.login("cousin", "secret")
		var out []string
		out = append(out, c.cmd("STAT", "+OK *"))
		c.cmd("LIST", "+OK *")
		out = append(out, c.multi()...)
		for i := 1; i <= 3; i++ {
			c.cmd(fmt.Sprintf("RETR %d", i), "+OK *")
			out = append(out, c.multi()...)
		}
		c.cmd("QUIT", "+OK *")
		return out
	}
	theirs := session(dv.POP3)
	mine := session(s.addr)
	if !slices.Equal(theirs, mine) {
		t.Fatalf("Dovecot and pop3d differ:\n dovecot %q\n pop3d   %q", theirs, mine)
	}
}

// TestFetchmailPreauthPlugin runs pop3d as fetchmail's plugin with
// "auth ssh" (no login): the way "ssh host pop3d --preauth --maildir
// Maildir" is used, without the ssh.
func TestFetchmailPreauthPlugin(t *testing.T) {
	fm := testutil.Peer(t, "fetchmail")
	e := newEnv(t)
	e.deliver(t, "Subject: tunnel-1\n\none\n", "Subject: tunnel-2\n\n..two\n")
	home := filepath.Join(e.dir, "fm")
	if err := os.Mkdir(home, 0o700); err != nil {
		t.Fatal(err)
	}
	mbox := filepath.Join(home, "mbox.out")
	rc := filepath.Join(home, "fetchmailrc")
	conf := fmt.Sprintf(`set no syslog
poll localhost protocol pop3 auth ssh plugin "%s --preauth --maildir %s --hostname pop.test"
  user "cousin" is "cousin" here sslproto ""
  mda "/usr/bin/tee -a %s"
`, testutil.Binary(t, "pop3d"), e.maildir, mbox)
	if err := os.WriteFile(rc, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	testutil.ChownTree(t, e.dir)
	cmd := exec.Command(fm, "-f", rc, "-v", "--nodetach")
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + home, "FETCHMAILHOME=" + home}
	testutil.Unprivileged(cmd)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("fetchmail: %v\n%s", err, out)
	}
	got, _ := os.ReadFile(mbox)
	if !strings.Contains(string(got), "Subject: tunnel-1") || !strings.Contains(string(got), "\n..two\n") {
		t.Fatalf("fetched:\n%s\nfetchmail:\n%s", got, out)
	}
	// Without "keep", fetchmail deleted what it fetched.
	if n := len(e.scan(t)); n != 0 {
		t.Errorf("%d messages left", n)
	}
}
