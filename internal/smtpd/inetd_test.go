package smtpd

import (
	"bufio"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"mailtk/internal/testutil"
)

// TestInetdStderr runs smtpd as inetd runs a "nowait" service, with fd
// 0, 1 and 2 all the client's socket: the log must not reach the client,
// which sees SMTP replies only, and the connection must end (EOF) after
// QUIT although fd 2 was the socket too.
func TestInetdStderr(t *testing.T) {
	w := newWorld(t)
	srv, cli := testutil.SocketPairFiles(t)
	cmd := exec.Command(w.bin, w.args()...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = srv, srv, srv
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	testutil.Unprivileged(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	srv.Close()
	nc, err := net.FileConn(cli)
	cli.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(time.Minute))
	// A session that logs: a message delivered, and the session's end.
	nc.Write([]byte("EHLO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<" + "jones" + "@foo.com>\r\nDATA\r\nSubject: hi\r\n\r\nbody\r\n.\r\nQUIT\r\n"))
	var lines []string
	r := bufio.NewReader(nc)
	var rerr error
	for rerr == nil {
		var l string
		l, rerr = r.ReadString('\n')
		if l != "" {
			lines = append(lines, l)
		}
	}
	if ne, ok := rerr.(net.Error); ok && ne.Timeout() {
		t.Fatalf("no EOF after QUIT; read %q", lines)
	}
	if n := len(w.messages("jones")); n != 1 {
		t.Errorf("%d messages delivered, want 1", n)
	}
	if len(lines) == 0 || !strings.HasPrefix(lines[len(lines)-1], "221 ") {
		t.Errorf("session did not end with 221: %q", lines)
	}
	for _, l := range lines {
		if len(l) < 6 || !strings.HasSuffix(l, "\r\n") || l[0] < '2' || l[0] > '5' || (l[3] != ' ' && l[3] != '-') {
			t.Errorf("not an SMTP reply line: %q", l)
		}
	}
}
