package maildir

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestValidateFolder(t *testing.T) {
	good := []string{"Sent", "Lists.go", "a.b.c", "Entwürfe", "&AMQ-rger", "with space", "~tilde", "INBOX"}
	bad := []string{"", ".", "..", ".Sent", "Sent.", "a..b", "a/b", "../etc", "a\x00b", "a\nb", "a\tb", "a\x7fb",
		"\xff\xfe", strings.Repeat("x", MaxFolderName+1)}
	for _, n := range good {
		if err := ValidateFolder(n); err != nil {
			t.Errorf("ValidateFolder(%q) = %v, want ok", n, err)
		}
	}
	for _, n := range bad {
		if err := ValidateFolder(n); !errors.Is(err, ErrBadFolder) {
			t.Errorf("ValidateFolder(%q) = %v, want ErrBadFolder", n, err)
		}
	}
}

func TestFolders(t *testing.T) {
	d := newDir(t)
	for _, n := range []string{"Sent", "Lists", "Lists.go", "Lists.go.nuts"} {
		f, err := d.CreateFolder(n)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(f.Path(), MaildirFolderMarker)); err != nil {
			t.Errorf("%s: no maildirfolder marker: %v", n, err)
		}
	}
	if _, err := d.CreateFolder("Sent"); !errors.Is(err, fs.ErrExist) {
		t.Errorf("CreateFolder(existing) = %v", err)
	}
	if _, err := d.CreateFolder("../evil"); !errors.Is(err, ErrBadFolder) {
		t.Errorf("CreateFolder(../evil) = %v", err)
	}
	// Things that are not folders are not listed.
	os.WriteFile(filepath.Join(d.Path(), ".notadir"), nil, 0o600)
	os.Mkdir(filepath.Join(d.Path(), "..weird"), 0o700)
	os.Symlink(d.Path(), filepath.Join(d.Path(), ".link"))
	list := func() []string {
		t.Helper()
		l, err := d.Folders()
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	if got := list(); !slices.Equal(got, []string{"Lists", "Lists.go", "Lists.go.nuts", "Sent"}) {
		t.Errorf("Folders = %q", got)
	}
	// Deliver into a folder, rename the hierarchy, the message follows.
	lg, err := d.Folder("Lists.go")
	if err != nil {
		t.Fatal(err)
	}
	m := deliver(t, lg, "in lists.go\n")
	if err := d.RenameFolder("Lists", "Archive.Lists"); err != nil {
		t.Fatal(err)
	}
	if got := list(); !slices.Equal(got, []string{"Archive.Lists", "Archive.Lists.go", "Archive.Lists.go.nuts", "Sent"}) {
		t.Errorf("after rename: %q", got)
	}
	moved, err := d.Folder("Archive.Lists.go")
	if err != nil {
		t.Fatal(err)
	}
	if got := readMsg(t, moved, m); got != "in lists.go\n" {
		t.Errorf("message after rename: %q", got)
	}
	if err := d.RenameFolder("Sent", "Archive.Lists"); !errors.Is(err, fs.ErrExist) {
		t.Errorf("rename onto existing = %v", err)
	}
	if err := d.RenameFolder("Nope", "Other"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("rename missing = %v", err)
	}
	if err := d.RenameFolder("Sent", "Sent.sub"); !errors.Is(err, ErrBadFolder) {
		t.Errorf("rename into itself = %v", err)
	}
	// Delete keeps the children, which are separate folders in Maildir++.
	if err := d.DeleteFolder("Archive.Lists"); err != nil {
		t.Fatal(err)
	}
	if got := list(); !slices.Equal(got, []string{"Archive.Lists.go", "Archive.Lists.go.nuts", "Sent"}) {
		t.Errorf("after delete: %q", got)
	}
	if err := d.DeleteFolder("Archive.Lists"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("delete missing = %v", err)
	}
	if _, err := d.Folder("Archive.Lists"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Folder(deleted) = %v", err)
	}
	// Nothing is left over in the root but the folders and the Maildir.
	var root []string
	for _, n := range listDir(t, d.Path()) {
		if !strings.HasPrefix(n, ".") || n == ".notadir" || n == "..weird" || n == ".link" {
			root = append(root, n)
		}
	}
	if !slices.Equal(root, []string{"..weird", ".link", ".notadir", "cur", "new", "tmp"}) {
		t.Errorf("root = %q", root)
	}
	if names := listDir(t, d.Path()+"/tmp"); len(names) != 0 {
		t.Errorf("tmp/ = %q", names)
	}
}

func TestParseUIDList(t *testing.T) {
	// As Dovecot 2.3 wrote it in the interop test run.
	const dovecot = "3 V1795643511 N3 G4bfa3e037858076b8c2e000083ecc375\n" +
		"1 :1795643511.M917824P11916.vm,S=18,W=21\n" +
		"2 :1795643513.M124086P11916.vm,S=20,W=23\n"
	u, err := ParseUIDList([]byte(dovecot))
	if err != nil {
		t.Fatal(err)
	}
	if u.Validity != 1795643511 || u.Next != 3 || u.GUID != "4bfa3e037858076b8c2e000083ecc375" || u.Len() != 2 {
		t.Errorf("parsed %+v", u)
	}
	if uid, ok := u.UID("1795643513.M124086P11916.vm,S=20,W=23"); !ok || uid != 2 {
		t.Errorf("UID = %d %v", uid, ok)
	}
	if k, ok := u.Key(1); !ok || k != "1795643511.M917824P11916.vm,S=18,W=21" {
		t.Errorf("Key(1) = %q %v", k, ok)
	}
	if _, ok := u.Key(3); ok {
		t.Error("Key(3) found")
	}
	if got := string(u.Format()); got != dovecot {
		t.Errorf("Format:\n%s\nwant\n%s", got, dovecot)
	}

	tests := []struct {
		in      string
		ok      bool
		formats string // "" = same as in
	}{
		// Extension fields, other header fields, info in a name, spaces.
		{"3 V5 N10 G00000000000000000000000000000000 Xfoo\n3 W120 P:uidl :k1\n7 :k2:2,S\n", true,
			"3 V5 N10 G00000000000000000000000000000000 Xfoo\n3 W120 P:uidl :k1\n7 :k2\n"},
		// Next below the highest UID is raised, as Dovecot does.
		{"3 V5 N2\n9 :k\n", true, "3 V5 N10\n9 :k\n"},
		// A key listed twice keeps the later UID.
		{"3 V5 N9\n1 :a\n4 :b\n6 :a\n", true, "3 V5 N9\n4 :b\n6 :a\n"},
		// Version 1 (Courier compatible) is read, version 3 written.
		{"1 42 5\n1 a\n3 b:2,S\n", true, "3 V42 N5\n1 :a\n3 :b\n"},
		{"3 V5 N1\n", true, ""},
		// Broken.
		{"", false, ""},
		{"2 V5 N1\n", false, ""},
		{"3 N1\n", false, ""},
		{"3 V0 N1\n", false, ""},
		{"3 V5 N1 Gxyz\n", false, ""},
		{"3 V5 N9\n2 :a\n1 :b\n", false, ""},
		{"3 V5 N9\n2 :a\n2 :b\n", false, ""},
		{"3 V5 N9\n0 :a\n", false, ""},
		{"3 V5 N9\n1 a\n", false, ""},
		{"3 V5 N9\n1 w12 :a\n", false, ""},
		{"3 V5 N9\n1 :a/b\n", false, ""},
		{"3 V5 N9\n1 :\n", false, ""},
		{"3 V5 N9\n4294967295 :a\n", false, ""},
		{"3 V5 N9\n\n", false, ""},
	}
	for _, tt := range tests {
		u, err := ParseUIDList([]byte(tt.in))
		if (err == nil) != tt.ok {
			t.Errorf("ParseUIDList(%q) err = %v, want ok %v", tt.in, err, tt.ok)
			continue
		}
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("ParseUIDList(%q) err = %v, not ErrCorrupt", tt.in, err)
			}
			continue
		}
		want := tt.formats
		if want == "" {
			want = tt.in
		}
		if got := string(u.Format()); got != want {
			t.Errorf("Format(ParseUIDList(%q)) = %q, want %q", tt.in, got, want)
		}
	}
}

func TestSyncUIDs(t *testing.T) {
	now := time.Unix(1800000000, 0)
	d, err := CreateWith(filepath.Join(t.TempDir(), "M"), Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	u, err := d.UIDs()
	if err != nil || u.Len() != 0 || u.Validity != 0 {
		t.Fatalf("UIDs of a fresh Maildir = %+v, %v", u, err)
	}
	var keys []string
	for i := range 3 {
		m := deliver(t, d, "msg "+strconv.Itoa(i)+"\n")
		keys = append(keys, m.Key)
	}
	msgs, _ := d.Scan()
	u, err = d.SyncUIDs(msgs)
	if err != nil {
		t.Fatal(err)
	}
	if u.Validity != 1800000000 || u.Next != 4 || !isGUID(u.GUID) {
		t.Errorf("after first sync: V%d N%d G%s", u.Validity, u.Next, u.GUID)
	}
	for i, k := range keys {
		if uid, ok := u.UID(k); !ok || uid != uint32(i+1) {
			t.Errorf("UID(%d) = %d %v", i, uid, ok)
		}
	}
	st1, _ := os.Stat(filepath.Join(d.Path(), UIDListName))
	// Nothing changed: the file is not rewritten.
	if _, err := d.SyncUIDs(msgs); err != nil {
		t.Fatal(err)
	}
	st2, _ := os.Stat(filepath.Join(d.Path(), UIDListName))
	if !os.SameFile(st1, st2) {
		t.Error("unchanged sync rewrote the file")
	}
	// Remove the first, flag the second, deliver a fourth.
	if err := d.Remove(msgs[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := d.SetFlags(msgs[1], "S"); err != nil {
		t.Fatal(err)
	}
	m4 := deliver(t, d, "msg 4\n")
	msgs, _ = d.Scan()
	u, err = d.SyncUIDs(msgs)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := u.UID(keys[0]); ok {
		t.Error("removed message kept its UID")
	}
	if uid, _ := u.UID(keys[1]); uid != 2 {
		t.Errorf("flagged message UID %d, want 2", uid)
	}
	if uid, _ := u.UID(m4.Key); uid != 4 || u.Next != 5 {
		t.Errorf("new message UID %d next %d, want 4 and 5", uid, u.Next)
	}
	// The snapshot reader agrees.
	snap, err := d.UIDs()
	if err != nil || string(snap.Format()) != string(u.Format()) {
		t.Errorf("UIDs() = %q, %v; want %q", snap.Format(), err, u.Format())
	}
	// A message missing from the caller's scan, but still on disk, keeps
	// its UID (a readdir race must not renumber it).
	u, err = d.SyncUIDs(msgs[1:])
	if err != nil {
		t.Fatal(err)
	}
	if uid, ok := u.UID(msgs[0].Key); !ok || uid != 2 {
		t.Errorf("message missing from the scan: UID %d %v, want 2", uid, ok)
	}
	// A corrupt file starts over with a higher UIDVALIDITY.
	if err := os.WriteFile(filepath.Join(d.Path(), UIDListName), []byte("3 V1800000000 N5\n3 :a\n2 :b\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := d.UIDs(); !errors.Is(err, ErrCorrupt) {
		t.Errorf("UIDs on corrupt file = %v", err)
	}
	u, err = d.SyncUIDs(msgs)
	if err != nil {
		t.Fatal(err)
	}
	if u.Validity != 1800000001 || u.Next != 4 {
		t.Errorf("after corrupt: V%d N%d", u.Validity, u.Next)
	}
	if _, err := os.Stat(filepath.Join(d.Path(), UIDListName+".lock")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("lock left behind: %v", err)
	}
}

func TestUIDLock(t *testing.T) {
	now := time.Now()
	var mu sync.Mutex
	ticks := 0
	clock := func() time.Time { // a second passes at every look at the clock
		mu.Lock()
		defer mu.Unlock()
		ticks++
		return now.Add(time.Duration(ticks) * time.Second)
	}
	d, err := CreateWith(filepath.Join(t.TempDir(), "M"), Options{Now: clock, LockTimeout: 3 * time.Second, LockStale: time.Hour, Hostname: "here"})
	if err != nil {
		t.Fatal(err)
	}
	lock := filepath.Join(d.Path(), UIDListName+".lock")
	// A fresh lock held by a live process on another host: we time out.
	if err := os.WriteFile(lock, []byte("1:elsewhere"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := d.SyncUIDs(nil); !errors.Is(err, ErrLockTimeout) {
		t.Errorf("SyncUIDs with a held lock = %v, want ErrLockTimeout", err)
	}
	// The same lock, older than the stale timeout: taken over.
	old := now.Add(-2 * time.Hour)
	if err := os.Chtimes(lock, old, old); err != nil {
		t.Fatal(err)
	}
	if _, err := d.SyncUIDs(nil); err != nil {
		t.Errorf("SyncUIDs with a stale lock = %v", err)
	}
	// A fresh lock of a dead process on this host: taken over at once.
	if err := os.WriteFile(lock, []byte("999999999:here"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := d.SyncUIDs(nil); err != nil {
		t.Errorf("SyncUIDs with a dead owner's lock = %v", err)
	}
}

func TestSyncUIDsConcurrent(t *testing.T) {
	d := newDir(t)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 5 {
				if _, err := d.Deliver(strings.NewReader(strconv.Itoa(i*10 + j))); err != nil {
					t.Error(err)
					return
				}
				msgs, err := d.Scan()
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := d.SyncUIDs(msgs); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	msgs, _ := d.Scan()
	u, err := d.SyncUIDs(msgs)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[uint32]bool{}
	for _, m := range msgs {
		uid, ok := u.UID(m.Key)
		if !ok || seen[uid] {
			t.Errorf("message %s: UID %d ok %v (dup %v)", m.Key, uid, ok, seen[uid])
		}
		seen[uid] = true
	}
	if u.Len() != 20 || u.Next != 21 {
		t.Errorf("%d records, next %d; want 20, 21", u.Len(), u.Next)
	}
}

func TestKeywords(t *testing.T) {
	d := newDir(t)
	if kw, err := d.Keywords(); err != nil || len(kw) != 0 {
		t.Fatalf("Keywords of a fresh Maildir = %q, %v", kw, err)
	}
	letters, err := d.KeywordLetters("$Label1", "foo")
	if err != nil || letters != "ab" {
		t.Fatalf("KeywordLetters = %q, %v", letters, err)
	}
	letters, err = d.KeywordLetters("bar", "foo")
	if err != nil || letters != "bc" {
		t.Fatalf("KeywordLetters(bar, foo) = %q, %v", letters, err)
	}
	b, _ := os.ReadFile(filepath.Join(d.Path(), KeywordsName))
	if string(b) != "0 $Label1\n1 foo\n2 bar\n" {
		t.Errorf("dovecot-keywords = %q", b)
	}
	kw, err := d.Keywords()
	if err != nil {
		t.Fatal(err)
	}
	if got := KeywordNames(kw, "RSac"); !slices.Equal(got, []string{"$Label1", "bar"}) {
		t.Errorf("KeywordNames = %q", got)
	}
	if _, err := d.KeywordLetters("bad word"); err == nil {
		t.Error("keyword with a space accepted")
	}
	for i := range 23 {
		if _, err := d.KeywordLetters("k" + strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := d.KeywordLetters("one-too-many"); !errors.Is(err, ErrTooManyKeywords) {
		t.Errorf("27th keyword: %v", err)
	}
	if _, err := os.Stat(filepath.Join(d.Path(), KeywordsName+".lock")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("lock left behind: %v", err)
	}
	// Dovecot's file with holes and an out-of-range index.
	kw, err = ParseKeywords([]byte("0 a\n3 d\n40 far\n"))
	if err != nil || !slices.Equal(kw, []string{"a", "", "", "d"}) {
		t.Errorf("ParseKeywords = %q, %v", kw, err)
	}
	if _, err := ParseKeywords([]byte("x y\n")); !errors.Is(err, ErrCorrupt) {
		t.Errorf("ParseKeywords(bad) = %v", err)
	}
}
