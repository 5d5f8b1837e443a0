package imapd

import (
	"bufio"
	"fmt"
	"net"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"mailtk/internal/testutil"
	"mailtk/maildir"
)

// binClient runs the imapd binary on a socketpair and logs in.
func binClient(t *testing.T, u *userEnv) *client {
	t.Helper()
	srv, cli := testutil.SocketPairFiles(t)
	cmd := imapdCmd(t, "--users", u.users)
	cmd.Stdin, cmd.Stdout = srv, srv
	cmd.Stderr = testLogOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	nc, err := net.FileConn(cli)
	cli.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close(); cmd.Wait() })
	c := &client{t: t, c: nc, r: bufio.NewReader(nc)}
	nc.SetDeadline(time.Now().Add(2 * time.Minute))
	c.line()
	c.ok("LOGIN mrc secret")
	return c
}

// smtpSession is the project's smtpd on stdin/stdout, delivering into a
// Maildir as another process would while imapd sessions work on it.
type smtpSession struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func smtpdSession(t *testing.T, md string) *smtpSession {
	t.Helper()
	srv, cli := testutil.SocketPairFiles(t)
	cmd := exec.Command(testutil.Binary(t, "smtpd"), "--maildir", md, "--hostname", "mx.example.org")
	testutil.Unprivileged(cmd)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = srv, srv, testLogOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	nc, err := net.FileConn(cli)
	cli.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close(); cmd.Wait() })
	nc.SetDeadline(time.Now().Add(2 * time.Minute))
	s := &smtpSession{t: t, c: nc, r: bufio.NewReader(nc)}
	if _, err := s.reply("220"); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(nc, "EHLO client.example.org\r\n")
	if _, err := s.reply("250"); err != nil {
		t.Fatal(err)
	}
	return s
}

// reply reads a (multi-line) reply and checks its code.
func (s *smtpSession) reply(code string) (string, error) {
	for {
		l, err := s.r.ReadString('\n')
		if err != nil {
			return l, err
		}
		if len(l) < 4 || l[:3] != code {
			return l, fmt.Errorf("smtpd: %q, want %s", l, code)
		}
		if l[3] == ' ' {
			return l, nil
		}
	}
}

func (s *smtpSession) send(msg string) error {
	fmt.Fprintf(s.c, "MAIL FROM:<a@example.org>\r\n")
	if _, err := s.reply("250"); err != nil {
		return err
	}
	fmt.Fprintf(s.c, "RCPT TO:<mrc@localhost>\r\n")
	if _, err := s.reply("250"); err != nil {
		return err
	}
	fmt.Fprintf(s.c, "DATA\r\n")
	if _, err := s.reply("354"); err != nil {
		return err
	}
	fmt.Fprintf(s.c, "%s.\r\n", msg)
	_, err := s.reply("250")
	return err
}

func (s *smtpSession) quit() {
	fmt.Fprintf(s.c, "QUIT\r\n")
	s.reply("221")
}

var subjectRE = regexp.MustCompile(`Subject: (\S+)`)

// TestConcurrentSessions: three imapd processes STORE, APPEND, MOVE and
// EXPUNGE on one mailbox while smtpd delivers into it.
// Afterwards every session's view agrees with the Maildir, no UID was
// given twice, and nothing was lost.
func TestConcurrentSessions(t *testing.T) {
	u := newUserEnv(t)
	root, _ := maildir.Open(u.maildir)
	if _, err := root.CreateFolder("Other"); err != nil {
		t.Fatal(err)
	}
	u.chown(t)
	const clients, rounds, deliveries = 3, 15, 40

	var mu sync.Mutex
	want := map[string]bool{}    // subjects that must survive
	removed := map[string]bool{} // subjects a client expunged on purpose
	uidsSeen := map[string]string{}

	var wg sync.WaitGroup
	wg.Add(1)
	smtp := smtpdSession(t, u.maildir)
	go func() {
		defer wg.Done()
		for i := 0; i < deliveries; i++ {
			s := fmt.Sprintf("d%d", i)
			if err := smtp.send("Subject: " + s + "\r\n\r\nx\r\n"); err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			want[s] = true
			mu.Unlock()
		}
		smtp.quit()
	}()
	cs := make([]*client, clients)
	for i := range cs {
		cs[i] = binClient(t, u)
		cs[i].ok("SELECT INBOX")
	}
	for i, c := range cs {
		wg.Add(1)
		go func(i int, c *client) {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				s := fmt.Sprintf("c%dr%d", i, r)
				lines, st := c.cmd("APPEND INBOX {%d+}\r\nSubject: %s\r\n\r\nx\r\n", len("Subject: "+s+"\r\n\r\nx\r\n"), s)
				if !strings.HasPrefix(st, "OK [APPENDUID") {
					t.Errorf("APPEND: %s %q", st, lines)
					return
				}
				c.ok("NOOP")
				c.ok("STORE 1:* +FLAGS.SILENT (\\Seen)")
				// Find our message by subject and act on it.
				uid := ""
				for _, l := range c.ok(`UID SEARCH HEADER Subject "%s"`, s) {
					if f := strings.Fields(l); len(f) > 2 && f[1] == "SEARCH" {
						uid = f[2]
					}
				}
				if uid == "" {
					t.Errorf("client %d: own message %s not found", i, s)
					return
				}
				mu.Lock()
				if prev, dup := uidsSeen[uid]; dup && prev != s {
					t.Errorf("UID %s given to %s and %s", uid, prev, s)
				}
				uidsSeen[uid] = s
				mu.Unlock()
				switch r % 3 {
				case 0: // keep
					mu.Lock()
					want[s] = true
					mu.Unlock()
				case 1: // delete
					c.ok("UID STORE %s +FLAGS (\\Deleted)", uid)
					c.ok("UID EXPUNGE %s", uid)
					mu.Lock()
					removed[s] = true
					mu.Unlock()
				case 2: // move
					c.ok("UID MOVE %s Other", uid)
					mu.Lock()
					want[s] = true
					mu.Unlock()
				}
			}
		}(i, c)
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	// Every session's view must now agree with the disk.
	msgs, _ := root.Scan()
	ul, _ := root.SyncUIDs(msgs)
	u.chown(t) // the list was just rewritten by root
	var uids []int
	for _, m := range msgs {
		uid, ok := ul.UID(m.Key)
		if !ok {
			t.Fatalf("message %s has no UID", m.Key)
		}
		uids = append(uids, int(uid))
	}
	sort.Ints(uids)
	var disk []string
	for _, u := range uids {
		disk = append(disk, fmt.Sprint(u))
	}
	for i, c := range cs {
		c.ok("NOOP")
		var view []string
		for _, l := range c.ok("UID FETCH 1:* (UID)") {
			if m := regexp.MustCompile(`UID (\d+)`).FindStringSubmatch(l); m != nil && strings.Contains(l, "FETCH") {
				view = append(view, m[1])
			}
		}
		if strings.Join(view, ",") != strings.Join(disk, ",") {
			t.Errorf("client %d sees UIDs %v, the Maildir has %v", i, view, disk)
		}
	}
	// Nothing lost: every subject that must survive is in INBOX or Other.
	got := map[string]bool{}
	other, _ := root.Folder("Other")
	for _, d := range []*maildir.Dir{root, other} {
		ms, _ := d.Scan()
		for _, m := range ms {
			if sm := subjectRE.FindStringSubmatch(readFile(t, d.MessagePath(m))); sm != nil {
				if got[sm[1]] {
					t.Errorf("message %s stored twice", sm[1])
				}
				got[sm[1]] = true
			}
		}
	}
	for s := range want {
		if !got[s] {
			t.Errorf("message %s lost", s)
		}
	}
	for s := range removed {
		if got[s] {
			t.Errorf("expunged message %s still there", s)
		}
	}
}
