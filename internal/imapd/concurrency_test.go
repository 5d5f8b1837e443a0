package imapd

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"mailtk/internal/testutil"
	"mailtk/maildir"
)

// binClient runs the imapd binary on a socketpair and logs in.
func binClient(t *testing.T, u *userEnv) *client {
	t.Helper()
	srv, cli := socketPairCloexec(t)
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

// socketPairCloexec is testutil.SocketPairFiles with close-on-exec set,
// so that a client end is not inherited by the other servers the test
// starts (which would keep the session open after the client closes).
func socketPairCloexec(t *testing.T) (server, client *os.File) {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	return os.NewFile(uintptr(fds[0]), "server"), os.NewFile(uintptr(fds[1]), "client")
}

var subjectRE = regexp.MustCompile(`Subject: (\S+)`)

// TestConcurrentSessions: three imapd processes STORE, APPEND, MOVE and
// EXPUNGE on one mailbox while another process delivers into it.
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
	go func() {
		defer wg.Done()
		for i := 0; i < deliveries; i++ {
			s := fmt.Sprintf("d%d", i)
			m, err := root.Deliver(strings.NewReader("Subject: " + s + "\n\nx\n"))
			if err != nil {
				t.Error(err)
				return
			}
			os.Lchown(root.MessagePath(m), testutil.Nobody, testutil.Nobody)
			mu.Lock()
			want[s] = true
			mu.Unlock()
			time.Sleep(5 * time.Millisecond)
		}
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
