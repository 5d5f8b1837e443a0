package imapd

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"mailtk/internal/testutil"
)

// runState runs testdata/imap_state.py against target with actions.
func runState(t *testing.T, unpriv bool, target string, actions ...string) string {
	t.Helper()
	script, _ := filepath.Abs(filepath.Join("testdata", "imap_state.py"))
	cmd := exec.Command(python(t), append([]string{script, target}, actions...)...)
	if unpriv {
		testutil.Unprivileged(cmd)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("imap_state.py %s %v: %v\n%s%s", target, actions, err, out, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// TestDovecotSameMaildir: Dovecot and imapd serve one Maildir in turn and
// agree on folders, UIDVALIDITY, UIDNEXT, UIDs, flags, keywords and sizes.
func TestDovecotSameMaildir(t *testing.T) {
	u := newUserEnv(t)
	u.chown(t)
	dv := testutil.StartDovecot(t, u.users, u.root)
	if dv.Maildir("mrc") != u.maildir {
		t.Fatalf("Dovecot's Maildir %s, ours %s", dv.Maildir("mrc"), u.maildir)
	}
	imapd := testutil.Binary(t, "imapd") + " --users " + u.users

	runState(t, false, dv.IMAP, "setup")
	fromDovecot := runState(t, false, dv.IMAP, "state")
	fromImapd := runState(t, true, imapd, "state")
	if fromDovecot != fromImapd {
		t.Fatalf("after Dovecot's changes:\n dovecot %s\n imapd   %s", fromDovecot, fromImapd)
	}
	afterImapd := runState(t, true, imapd, "change", "state")
	fromDovecot = runState(t, false, dv.IMAP, "state")
	if fromDovecot != afterImapd {
		t.Fatalf("after imapd's changes:\n dovecot %s\n imapd   %s\n%s", fromDovecot, afterImapd, dv.ReadLog())
	}
	for _, want := range []string{`"Archive"`, `"Old.Sent"`, `"$Label3"`, `"$Label2"`} {
		if !strings.Contains(afterImapd, want) {
			t.Errorf("state lacks %s: %s", want, afterImapd)
		}
	}
	t.Log(afterImapd)
}
