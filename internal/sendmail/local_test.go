package sendmail_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailtk/internal/testutil"
)

// install is a host with a users file, an aliases file, Maildirs owned by
// the unprivileged test user, and a queue.
type install struct {
	root, users, aliases, queue string
}

func newInstall(t *testing.T) *install {
	t.Helper()
	in := &install{root: testutil.UnprivDir(t)}
	var users strings.Builder
	for _, u := range []string{"alice", "bob"} {
		fmt.Fprintf(&users, "%s:{PLAIN}x:%d:%d:%s Example:%s::userdb_mail=maildir:%s\n",
			u, testutil.Nobody, testutil.Nobody, strings.ToUpper(u[:1])+u[1:], filepath.Join(in.root, u), in.maildir(u))
	}
	in.users = filepath.Join(in.root, "users")
	in.aliases = filepath.Join(in.root, "aliases")
	in.queue = filepath.Join(in.root, "queue")
	os.WriteFile(in.users, []byte(users.String()), 0o644)
	os.WriteFile(in.aliases, []byte("team: alice, bob\nfar: someone@remote.example\nroot: alice\n"), 0o644)
	testutil.ChownTree(t, in.root)
	return in
}

func (in *install) maildir(u string) string { return filepath.Join(in.root, u, "Maildir") }

func (in *install) args(extra ...string) []string {
	return append([]string{"-C", "/dev/null", "--hostname", "host.example", "--users", in.users, "--aliases", in.aliases, "--queue", in.queue}, extra...)
}

func newFiles(t *testing.T, dir string) []string {
	t.Helper()
	es, _ := os.ReadDir(filepath.Join(dir, "new"))
	var out []string
	for _, e := range es {
		b, err := os.ReadFile(filepath.Join(dir, "new", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}

// Local recipients are in their Maildirs when sendmail exits; remote
// ones (here through an alias) are queued. As root, the Maildirs are
// still written by their owner, never by uid 0.
func TestLocalDelivery(t *testing.T) {
	in := newInstall(t)
	r := sendmail(t, "Subject: local\n\nhi\n", in.args("-f", "cron@host.example", "team", "far@host.example")...)
	if r.code != 0 {
		t.Fatalf("%+v", r)
	}
	for _, u := range []string{"alice", "bob"} {
		got := newFiles(t, in.maildir(u))
		if len(got) != 1 || !strings.HasPrefix(got[0], "Return-Path: <cron@host.example>\n") ||
			!strings.Contains(got[0], "(mailtk sendmail)") || !strings.Contains(got[0], "Subject: local") {
			t.Fatalf("%s: %q", u, got)
		}
		if os.Getuid() == 0 {
			es, _ := os.ReadDir(filepath.Join(in.maildir(u), "new"))
			fi, _ := os.Stat(filepath.Join(in.maildir(u), "new", es[0].Name()))
			if uid := fileUID(fi); uid != testutil.Nobody {
				t.Errorf("%s's message owned by uid %d", u, uid)
			}
		}
	}
	list := queued(t, in.queue)
	if len(list) != 1 || list[0].Recipients[0].Addr != "someone@remote.example" {
		t.Fatalf("queue: %+v", list)
	}
}

// An unknown local user is exit 67 and nothing is delivered or queued.
func TestUnknownLocalUser(t *testing.T) {
	in := newInstall(t)
	r := sendmail(t, "x\n", in.args("alice", "nosuch", "x@remote.example")...)
	if r.code != 67 || !strings.Contains(r.stderr, "nosuch@host.example: 550 5.1.1") {
		t.Fatalf("%+v", r)
	}
	if got := newFiles(t, in.maildir("alice")); len(got) != 0 {
		t.Errorf("delivered despite the unknown user: %q", got)
	}
	if list := queued(t, in.queue); len(list) != 0 {
		t.Errorf("queued despite the unknown user: %+v", list)
	}
}

// sendmail -bs speaks SMTP on stdin/stdout as a trusted local client:
// VRFY answers, relaying is allowed (into the queue).
func TestSMTPOnStdin(t *testing.T) {
	in := newInstall(t)
	cmd := exec.Command(testutil.Binary(t, "sendmail"), in.args("-bs")...)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	testutil.RunTranscript(t, testutil.ParseTranscript(`
S: 220 host.example *
C: EHLO localhost
S: 250-host.example *
S: 250-*
S: 250-*
S: 250-*
S: 250-*
S: 250-*
S: 250-*
S: 250-*
S: 250 *
C: VRFY alice
S: 250 2.1.5 Alice Example <alice@host.example>
C: MAIL FROM:<me@host.example>
S: 250 *
C: RCPT TO:<bob@host.example>
S: 250 *
C: RCPT TO:<x@remote.example>
S: 250 *
C: DATA
S: 354 *
C: Subject: bs
C:
C: via -bs
C: .
S: 250 *
C: QUIT
S: 221 *
`), stdout, stdin, 10*time.Second)
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if got := newFiles(t, in.maildir("bob")); len(got) != 1 || !strings.Contains(got[0], "via -bs") {
		t.Errorf("bob: %q", got)
	}
	if list := queued(t, in.queue); len(list) != 1 || list[0].Recipients[0].Addr != "x@remote.example" {
		t.Errorf("queue: %+v", list)
	}
}

func TestVerifyMode(t *testing.T) {
	in := newInstall(t)
	r := sendmail(t, "", in.args("-bv", "alice", "root")...)
	if r.code != 0 || strings.Count(r.stdout, "deliverable") != 2 {
		t.Errorf("%+v", r)
	}
	r = sendmail(t, "", in.args("-bv", "alice", "nosuch@host.example")...)
	if r.code != 67 || !strings.Contains(r.stdout, "nosuch@host.example... undeliverable") {
		t.Errorf("%+v", r)
	}
}
