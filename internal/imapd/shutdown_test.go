package imapd

import (
	"bufio"
	"bytes"
	"net"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"mailtk/internal/testutil"
)

// TestShutdownBye sends SIGTERM to imapd --listen while a client is in
// IDLE: the client gets an untagged BYE (RFC 3501 §7.1.5) and the server
// exits, long before the grace period (an hour) would have ended the
// session.
func TestShutdownBye(t *testing.T) {
	u := newUserEnv(t)
	u.chown(t)
	cmd := exec.Command(testutil.Binary(t, "imapd"), "--users", u.users, "--listen", "127.0.0.1:0", "--grace", "1h")
	testutil.Unprivileged(cmd)
	pr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var logBuf bytes.Buffer
	addrc := make(chan string, 1)
	logDone := make(chan struct{})
	go func() {
		defer close(logDone)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			l := sc.Text()
			mu.Lock()
			logBuf.WriteString(l + "\n")
			mu.Unlock()
			if strings.Contains(l, "msg=listening") {
				for _, f := range strings.Fields(l) {
					if a, ok := strings.CutPrefix(f, "addr="); ok {
						addrc <- a
					}
				}
			}
		}
	}()
	exited := make(chan error, 1)
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-logDone
		if t.Failed() {
			mu.Lock()
			t.Logf("imapd log:\n%s", logBuf.String())
			mu.Unlock()
		}
	})
	var addr string
	select {
	case addr = <-addrc:
	case <-logDone:
		t.Fatal("imapd exited before listening")
	}
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	c := &client{t: t, c: nc, r: bufio.NewReader(nc)}
	// Far below the grace period: a session left to the grace period
	// fails here.
	nc.SetDeadline(time.Now().Add(2 * time.Minute))
	c.line()
	c.ok("LOGIN mrc secret")
	c.ok("SELECT INBOX")
	c.tag++
	c.c.Write([]byte("t99 IDLE\r\n"))
	if l := c.line(); !strings.HasPrefix(l, "+") {
		t.Fatalf("IDLE: %q", l)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	go func() { <-logDone; exited <- cmd.Wait() }()
	var got []string
	for {
		l, err := c.r.ReadString('\n')
		if err != nil {
			break
		}
		got = append(got, strings.TrimRight(l, "\r\n"))
	}
	if len(got) == 0 || !strings.HasPrefix(got[len(got)-1], "* BYE") {
		t.Fatalf("after SIGTERM the client got %q, want a final * BYE", got)
	}
	if err := <-exited; err != nil {
		t.Errorf("imapd exit: %v", err)
	}
}
