package imapd

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailtk/internal/testutil"
	"mailtk/maildir"
)

// Tests of the built imapd program, run as an unprivileged user (tests
// run as root in CI) on stdin/stdout, as inetd or tcpserver would run it.

// userEnv is a users file with user "mrc", password "secret", whose
// Maildir is returned, everything owned by the user binaries run as.
type userEnv struct {
	root, users, maildir string
}

func newUserEnv(t *testing.T) *userEnv {
	t.Helper()
	root := testutil.UnprivDir(t)
	md := filepath.Join(root, "mrc", "Maildir")
	if _, err := maildir.Create(md); err != nil {
		t.Fatal(err)
	}
	users := filepath.Join(root, "users")
	line := fmt.Sprintf("mrc:{PLAIN}secret:%d:%d::%s::userdb_mail=maildir:%s\n", testutil.Nobody, testutil.Nobody, filepath.Join(root, "mrc"), md)
	if err := os.WriteFile(users, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	return &userEnv{root: root, users: users, maildir: md}
}

func (u *userEnv) chown(t *testing.T) { testutil.ChownTree(t, u.root) }

// imapdCmd returns the imapd command serving stdin/stdout.
func imapdCmd(t *testing.T, args ...string) *exec.Cmd {
	cmd := exec.Command(testutil.Binary(t, "imapd"), args...)
	testutil.Unprivileged(cmd)
	return cmd
}

// seedMaildir fills md as the seed course's mailbox: 18 messages, 1-16
// seen in cur/, 17-18 new, message 12 the seed's.
func seedMaildir(t *testing.T, md string) {
	t.Helper()
	d, err := maildir.Open(md)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(1996, 7, 17, 9, 44, 25, 0, time.UTC) // 02:44:25 -0700
	for i := 1; i <= 18; i++ {
		body := fmt.Sprintf("Subject: message %d\n\nbody %d\n", i, i)
		if i == 12 {
			body = seedMessage(t)
		}
		o := maildir.DeliverOptions{Time: t0.Add(time.Duration(i-12) * time.Minute)}
		if i <= 16 {
			o.Cur, o.Flags = true, "S"
		}
		if _, err := d.DeliverWith(strings.NewReader(body), o); err != nil {
			t.Fatal(err)
		}
	}
}

func TestBinarySeedTranscript(t *testing.T) {
	u := newUserEnv(t)
	seedMaildir(t, u.maildir)
	u.chown(t)
	srv, cli := testutil.SocketPairFiles(t)
	cmd := imapdCmd(t, "--users", u.users)
	cmd.Stdin, cmd.Stdout = srv, srv
	cmd.Env = append(os.Environ(), "TZ=America/Los_Angeles")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	testutil.RunTranscriptFile(t, filepath.Join("testdata", "seed.transcript"), cli, cli)
	cli.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("imapd: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "login") {
		t.Errorf("no login logged:\n%s", stderr.String())
	}
}

// python3 runs as the unprivileged user, so it must not be a shim under
// /root (pyenv); prefer the system interpreter.
func python(t *testing.T) string {
	if _, err := os.Stat("/usr/bin/python3"); err == nil {
		return "/usr/bin/python3"
	}
	return testutil.Python(t)
}

func TestBinaryImaplib(t *testing.T) {
	testutil.Peer(t, "python3")
	u := newUserEnv(t)
	u.chown(t)
	script, _ := filepath.Abs(filepath.Join("testdata", "imaplib_session.py"))
	bin := testutil.Binary(t, "imapd")
	cmd := exec.Command(python(t), script, bin+" --users "+u.users)
	testutil.Unprivileged(cmd)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	buf := make([]byte, 4096)
	var got string
	for !strings.Contains(got, "IDLING") {
		n, err := out.Read(buf)
		got += string(buf[:n])
		if err != nil {
			t.Fatalf("imaplib: %v\n%s\n%s", err, got, stderr.String())
		}
	}
	// Another process delivers while the client idles.
	m := deliver(t, u.maildir, "Subject: while idling\n\nhello\n")
	os.Lchown(filepath.Join(u.maildir, "new", m.Name), testutil.Nobody, testutil.Nobody)
	rest, _ := readAll(out)
	got += rest
	if err := cmd.Wait(); err != nil || !strings.HasSuffix(strings.TrimSpace(got), "ok") {
		t.Fatalf("imaplib session failed: %v\n%s\n%s", err, got, stderr.String())
	}
	t.Log(strings.TrimSpace(got))
}

// TestBinaryCheckpassword logs in through a qmail checkpassword program.
func TestBinaryCheckpassword(t *testing.T) {
	testutil.Peer(t, "python3")
	u := newUserEnv(t)
	deliver(t, u.maildir, "Subject: hello\n\nx\n")
	u.chown(t)
	cp, _ := filepath.Abs(filepath.Join("testdata", "checkpassword.py"))
	for _, tt := range []struct{ pass, want string }{{"wrong", "NO"}, {"secret", "OK"}} {
		srv, cli := testutil.SocketPairFiles(t)
		cmd := imapdCmd(t, "--checkpassword", cp+" "+filepath.Dir(u.maildir))
		cmd.Stdin, cmd.Stdout, cmd.Stderr = srv, srv, testLogOut
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		srv.Close()
		nc, err := net.FileConn(cli) // pollable, so Close ends a pending read
		cli.Close()
		if err != nil {
			t.Fatal(err)
		}
		steps := testutil.ParseTranscript("S: * OK *\nC: a LOGIN mrc " + tt.pass + "\nS: a " + tt.want + " *\n")
		if tt.want == "OK" {
			steps = append(steps, testutil.ParseTranscript("C: b SELECT INBOX\nS: * 1 EXISTS\n")...)
		}
		testutil.RunTranscript(t, steps, nc, nc, 20*time.Second)
		nc.Close()
		cmd.Wait()
	}
}
