package imapd

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"mailtk/internal/testutil"
	"mailtk/maildir"
)

// TestMbsync synchronises a local Maildir with imapd both ways with
// isync's mbsync, which runs imapd as its tunnel (as over ssh): new
// messages, flag changes and deletions travel in both directions.
func TestMbsync(t *testing.T) {
	mbsync := testutil.Peer(t, "mbsync")
	u := newUserEnv(t)
	remote, _ := maildir.Open(u.maildir)
	for i := 1; i <= 3; i++ {
		if _, err := remote.Deliver(strings.NewReader(fmt.Sprintf("Subject: remote %d\n\nbody %d\n", i, i))); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := remote.CreateFolder("Lists.go"); err != nil {
		t.Fatal(err)
	}
	local := filepath.Join(u.root, "local")
	conf := filepath.Join(u.root, "mbsyncrc")
	rc := fmt.Sprintf(`IMAPAccount test
Tunnel "%s --users %s"
User mrc
Pass secret
AuthMechs LOGIN

IMAPStore remote
Account test

MaildirStore local
Path %s/
Inbox %s/INBOX
SubFolders Verbatim

Channel test
Far :remote:
Near :local:
Patterns *
Create Both
Expunge Both
SyncState *
`, testutil.Binary(t, "imapd"), u.users, local, local)
	if err := os.WriteFile(conf, []byte(rc), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(local, 0o700); err != nil {
		t.Fatal(err)
	}
	u.chown(t)
	sync := func() {
		t.Helper()
		cmd := exec.Command(mbsync, "-c", conf, "-a")
		cmd.Env = append(os.Environ(), "HOME="+u.root)
		testutil.Unprivileged(cmd)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("mbsync: %v\n%s", err, out)
		}
	}
	scan := func(path string) []maildir.Message {
		t.Helper()
		d, err := maildir.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		msgs, err := d.Scan()
		if err != nil {
			t.Fatal(err)
		}
		return msgs
	}
	sync()
	lin := scan(filepath.Join(local, "INBOX"))
	if len(lin) != 3 {
		t.Fatalf("local INBOX has %d messages after the first sync, want 3", len(lin))
	}
	if _, err := os.Stat(filepath.Join(local, "Lists", "go")); err != nil {
		out, _ := exec.Command("find", local).Output()
		t.Errorf("folder Lists.go not synchronised: %v\n%s", err, out)
	}

	// Local changes: flag one \Flagged and \Seen, delete one, add one.
	ld, _ := maildir.Open(filepath.Join(local, "INBOX"))
	if _, err := ld.SetFlags(lin[0], "FS"); err != nil {
		t.Fatal(err)
	}
	if err := ld.Remove(lin[1]); err != nil {
		t.Fatal(err)
	}
	if _, err := ld.Deliver(strings.NewReader("Subject: from local\n\nnew\n")); err != nil {
		t.Fatal(err)
	}
	u.chown(t)
	sync()
	rm := scan(u.maildir)
	if len(rm) != 3 {
		t.Fatalf("remote has %d messages after pushing, want 3 (one deleted, one added): %+v", len(rm), rm)
	}
	flagged, added := 0, 0
	for _, m := range rm {
		if m.Flags == "FS" {
			flagged++
		}
		b := readFile(t, remote.MessagePath(m))
		if strings.Contains(b, "Subject: from local") {
			added++
		}
		if strings.Contains(b, "Subject: remote 2") {
			t.Errorf("message deleted locally still on the server")
		}
	}
	if flagged != 1 || added != 1 {
		t.Errorf("remote after push: %d flagged (want 1), %d added (want 1): %+v", flagged, added, rm)
	}

	// Remote changes (another client through imapd's Maildir): mark one
	// answered, delete one.
	for _, m := range rm {
		b := readFile(t, remote.MessagePath(m))
		switch {
		case strings.Contains(b, "Subject: remote 3"):
			if _, err := remote.SetFlags(m, "RS"); err != nil {
				t.Fatal(err)
			}
		case strings.Contains(b, "Subject: from local"):
			if err := remote.Remove(m); err != nil {
				t.Fatal(err)
			}
		}
	}
	u.chown(t)
	sync()
	lin = scan(filepath.Join(local, "INBOX"))
	if len(lin) != 2 {
		t.Fatalf("local has %d messages after pulling, want 2", len(lin))
	}
	answered := 0
	for _, m := range lin {
		if maildir.HasFlag(m.Flags, 'R') {
			answered++
		}
	}
	if answered != 1 {
		t.Errorf("remote \\Answered not pulled: %+v", lin)
	}
}
