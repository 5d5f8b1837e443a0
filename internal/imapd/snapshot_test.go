package imapd

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"mailtk/maildir"
)

// TestSnapshotRoundTrip: a view loaded from imapd-snapshot is the view the
// full look produced, and a snapshot with messages in new/ is refused to a
// session that would have to move them.
func TestSnapshotRoundTrip(t *testing.T) {
	d, err := maildir.Create(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for i := range 300 { // UIDs above 127: numbers of more than one byte
		m, err := d.Deliver(strings.NewReader(fmt.Sprintf("Subject: %d\n\nbody %d\n", i, i)))
		if err != nil {
			t.Fatal(err)
		}
		if i%3 != 0 { // a third stays in new/
			if _, err := d.SetFlags(m, []string{"", "S", "FS"}[i%3]); err != nil {
				t.Fatal(err)
			}
		}
	}
	// A minute later the folder has been quiet: its stamps are trusted.
	later := func() time.Time { return time.Now().Add(time.Minute) }
	// The first look numbers the messages; the second, of a folder it
	// finds unchanged, saves the snapshot.
	var full *mailbox
	for range 2 {
		if full, err = openMailbox("INBOX", d, true, later); err != nil {
			t.Fatal(err)
		}
	}
	st, sure := folderStamps(d.Path(), later())
	if !sure {
		t.Fatal("stamps not trusted")
	}
	snap := &mailbox{dir: d, readOnly: true, now: later}
	if !loadSnapshot(snap, st) {
		t.Fatal("snapshot not saved or not loaded")
	}
	if snap.validity != full.validity || snap.next != full.next || len(snap.list) != len(full.list) || len(full.list) != 300 {
		t.Fatalf("snapshot %d/%d/%d messages, full look %d/%d/%d", snap.validity, snap.next, len(snap.list), full.validity, full.next, len(full.list))
	}
	for i, e := range full.list {
		g := snap.list[i]
		if g.uid != e.uid || g.recent != e.recent || g.msg.Key != e.msg.Key || g.msg.Subdir != e.msg.Subdir ||
			g.msg.Name != e.msg.Name || g.msg.Flags != e.msg.Flags || g.msg.Size != e.msg.Size ||
			g.msg.CRLFSize != e.msg.CRLFSize || !g.msg.Time.Equal(e.msg.Time) {
			t.Fatalf("message %d: snapshot %+v, full look %+v", i+1, *g, *e)
		}
	}
	if rw := (&mailbox{dir: d, now: later}); loadSnapshot(rw, st) {
		t.Error("snapshot with messages in new/ loaded by a read-write session")
	}
}
