package imapd

import (
	"strings"
	"testing"

	"mailtk/internal/testutil"
)

// TestBinaryInetdStderr runs imapd as inetd runs a "nowait" service, with
// fd 0, 1 and 2 all the client's socket: the log must not reach the
// client, which sees protocol lines only.
func TestBinaryInetdStderr(t *testing.T) {
	u := newUserEnv(t)
	u.chown(t)
	cmd := imapdCmd(t, "--users", u.users, "--debug")
	// A failed login, a good one, a mailbox and a logout: each is logged.
	lines := testutil.InetdSession(t, cmd, "a LOGIN mrc wrong\r\nb LOGIN mrc secret\r\nc SELECT INBOX\r\nd LOGOUT\r\n")
	if len(lines) == 0 || !strings.HasPrefix(lines[len(lines)-1], "d OK") {
		t.Errorf("session did not end with d OK: %q", lines)
	}
	for _, l := range lines {
		if !strings.HasSuffix(l, "\r\n") || !(strings.HasPrefix(l, "* ") || strings.HasPrefix(l, "+") ||
			len(l) > 2 && strings.Contains("abcd", l[:1]) && l[1] == ' ') {
			t.Errorf("not an IMAP response line: %q", l)
		}
	}
}
