package smtpd

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"mailtk/internal/smtp"
	"mailtk/internal/testutil"
)

// TestRootDeliversThroughChild: started as root, smtpd writes each
// Maildir from a child process running as the recipient's uid/gid, and
// refuses recipients whose uid is 0 (or a --maildir owned by root).
func TestRootDeliversThroughChild(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root")
	}
	w := newWorld(t)
	users := w.write("users-root", strings.Replace(mustRead(t, w.users), "jsmith:{PLAIN}secret:65534:65534", "jsmith:{PLAIN}secret:0:0", 1))
	rootDir := filepath.Join(t.TempDir(), "rootbox")
	os.Mkdir(rootDir, 0o700)
	run := func(args []string, rcpts []string, want []string) {
		t.Helper()
		srv, cli := testutil.SocketPairFiles(t)
		cmd := exec.Command(w.bin, args...)
		cmd.Stdin, cmd.Stdout = srv, srv
		var stderr syncBuf
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil { // as root, on purpose
			t.Fatal(err)
		}
		srv.Close()
		nc, _ := net.FileConn(cli)
		cli.Close()
		c := newClient(t, nc)
		c.expect("220 ")
		c.send("HELO x\r\nMAIL FROM:<a@b.example>\r\n")
		c.expect("250 ")
		c.expect("250 ")
		for i, r := range rcpts {
			c.send("RCPT TO:<" + r + ">\r\n")
			c.expect(want[i])
		}
		c.send("DATA\r\n")
		if last := want[len(rcpts)]; strings.HasPrefix(last, "554") {
			c.expect(last)
			c.send("QUIT\r\n")
		} else {
			c.expect("354 ")
			c.send("Subject: as root\r\n\r\nx\r\n.\r\nQUIT\r\n")
			c.expect(last)
		}
		c.expect("221 ")
		nc.Close()
		cmd.Wait()
		if t.Failed() {
			t.Log(stderr.String())
		}
	}
	base := []string{"--hostname", "foo.com", "--users", users, "--aliases", w.aliases}
	run(base, []string{"jones@foo.com", "brown@foo.com"}, []string{"250 ", "250 ", "250 2.0.0"})
	for _, u := range []string{"jones", "brown"} {
		es, _ := os.ReadDir(filepath.Join(w.maildir(u), "new"))
		if len(es) < 1 {
			t.Fatalf("%s: %d messages", u, len(es))
		}
		fi, _ := os.Stat(filepath.Join(w.maildir(u), "new", es[0].Name()))
		if st := fi.Sys().(*syscall.Stat_t); st.Uid != testutil.Nobody || st.Gid != testutil.Nobody {
			t.Errorf("%s's message owned by %d:%d, want the user's %d", u, st.Uid, st.Gid, testutil.Nobody)
		}
	}
	// jsmith has uid 0 in the users file: never delivered as root.
	run(base, []string{"jsmith@foo.com", "jones@foo.com"}, []string{"451 4.3.5", "250 ", "250 2.0.0"})
	if n := len(w.messages("jsmith")); n != 0 {
		t.Errorf("delivered as root: %d", n)
	}
	// A --maildir owned by root is refused too.
	run([]string{"--hostname", "foo.com", "--maildir", filepath.Join(rootDir, "Maildir")}, []string{"me@foo.com"}, []string{"451 4.3.5", "554 5.5.1"})
	if _, err := os.Stat(filepath.Join(rootDir, "Maildir")); err == nil {
		t.Error("Maildir created as root")
	}
}

func mustRead(t *testing.T, p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestRootRefusedOwnerNotDelivered: a recipient whose Maildir would be
// written as root is refused at DATA too (the users file can change
// after RCPT), and its Maildir is not written as another recipient's
// uid along with theirs.
func TestRootRefusedOwnerNotDelivered(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root")
	}
	w := newWorld(t)
	users := w.write("users-root", strings.Replace(mustRead(t, w.users), "jsmith:{PLAIN}secret:65534:65534", "jsmith:{PLAIN}secret:0:0", 1))
	b, err := NewBackend(Settings{Hostname: "foo.com", Users: users, SpoolDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	b.self = testutil.Binary(t, "smtpd")
	var env smtp.Envelope
	for _, a := range []string{"jsmith@foo.com", "jones@foo.com"} {
		p, err := smtp.ParsePath(a)
		if err != nil {
			t.Fatal(err)
		}
		env.Rcpts = append(env.Rcpts, smtp.Rcpt{Path: p})
	}
	env.Received = "Received: from x\n"
	errs := b.Data(context.Background(), &smtp.State{}, &env, strings.NewReader("Subject: s\n\nx\n"))
	var se *smtp.Error
	if !errors.As(errs[0], &se) || se.Code != 451 || se.Enhanced != "4.3.5" {
		t.Errorf("uid-0 recipient: %v, want 451 4.3.5", errs[0])
	}
	if errs[1] != nil {
		t.Errorf("jones: %v", errs[1])
	}
	if n := len(w.messages("jones")); n != 1 {
		t.Errorf("jones has %d messages, want 1", n)
	}
	if _, err := os.Stat(w.maildir("jsmith")); !os.IsNotExist(err) {
		t.Errorf("jsmith's Maildir was written: %v", err)
	}
}
