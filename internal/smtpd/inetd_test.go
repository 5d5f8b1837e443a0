package smtpd

import (
	"os/exec"
	"strings"
	"testing"

	"mailtk/internal/testutil"
)

// TestInetdStderr runs smtpd as inetd runs a "nowait" service, with fd
// 0, 1 and 2 all the client's socket: the log must not reach the client,
// which sees SMTP replies only, and the connection must end (EOF) after
// QUIT although fd 2 was the socket too.
func TestInetdStderr(t *testing.T) {
	w := newWorld(t)
	cmd := exec.Command(w.bin, w.args()...)
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	testutil.Unprivileged(cmd)
	// A session that logs: a message delivered, and the session's end.
	lines := testutil.InetdSession(t, cmd, "EHLO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<jones@foo.com>\r\nDATA\r\nSubject: hi\r\n\r\nbody\r\n.\r\nQUIT\r\n")
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
