package maildir

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"mailtk/internal/testutil"
)

func newDir(t testing.TB) *Dir {
	t.Helper()
	d, err := CreateWith(filepath.Join(t.TempDir(), "Maildir"), Options{Hostname: "test.example"})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func deliver(t testing.TB, d *Dir, body string) Message {
	t.Helper()
	m, err := d.Deliver(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func readMsg(t testing.TB, d *Dir, m Message) string {
	t.Helper()
	f, err := d.Open(m)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func listDir(t testing.TB, p string) []string {
	t.Helper()
	names, err := readNames(p)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	return names
}

func TestCreateOpen(t *testing.T) {
	root := filepath.Join(t.TempDir(), "a", "b", "Maildir")
	d, err := Create(root)
	if err != nil {
		t.Fatal(err)
	}
	if d.Path() != root {
		t.Errorf("Path() = %q", d.Path())
	}
	for _, p := range []string{root, filepath.Dir(root), root + "/tmp", root + "/new", root + "/cur"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o700 {
			t.Errorf("%s mode %v, want 0700", p, fi.Mode().Perm())
		}
	}
	// Idempotent.
	if _, err := Create(root); err != nil {
		t.Errorf("second Create: %v", err)
	}
	if _, err := Open(root); err != nil {
		t.Errorf("Open: %v", err)
	}
}

func TestOpenRefusesUnsafe(t *testing.T) {
	tests := []struct {
		name  string
		setup func(root string) error
	}{
		{"missing cur", func(root string) error { return os.Remove(root + "/cur") }},
		{"symlinked new", func(root string) error {
			if err := os.Remove(root + "/new"); err != nil {
				return err
			}
			return os.Symlink(os.TempDir(), root+"/new")
		}},
		{"tmp is a file", func(root string) error {
			if err := os.Remove(root + "/tmp"); err != nil {
				return err
			}
			return os.WriteFile(root+"/tmp", nil, 0o600)
		}},
		{"world-writable maildir", func(root string) error { return os.Chmod(root, 0o777) }},
		{"world-writable new", func(root string) error { return os.Chmod(root+"/new", 0o777) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "Maildir")
			if _, err := Create(root); err != nil {
				t.Fatal(err)
			}
			if err := tt.setup(root); err != nil {
				t.Fatal(err)
			}
			if _, err := Open(root); !errors.Is(err, ErrUnsafe) {
				t.Errorf("Open = %v, want ErrUnsafe", err)
			}
		})
	}
	// A symlink to the Maildir itself is fine (a home's Maildir often is).
	root := filepath.Join(t.TempDir(), "Maildir")
	if _, err := Create(root); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(root, link); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(link); err != nil {
		t.Errorf("Open via symlink: %v", err)
	}
	if _, err := Open(filepath.Join(t.TempDir(), "nope")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open missing = %v", err)
	}
}

func TestDeliver(t *testing.T) {
	now := time.Unix(1700000000, 123456789)
	d, err := CreateWith(filepath.Join(t.TempDir(), "M"), Options{Hostname: "mx/1:2", Pid: 77, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	m, err := d.Deliver(strings.NewReader("Subject: hi\r\n\r\nbody\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	const body = "Subject: hi\n\nbody\n"
	if m.Subdir != SubNew || m.Flags != "" || m.Size != int64(len(body)) || m.CRLFSize != int64(len(body)+3) {
		t.Errorf("message %+v", m)
	}
	if !m.Time.Equal(time.Unix(1700000000, 123456000)) {
		t.Errorf("Time = %v", m.Time)
	}
	wantPrefix := `1700000000.M123456P77Q1R`
	if !strings.HasPrefix(m.Key, wantPrefix) || !strings.HasSuffix(m.Key, `.mx\0571\0722,S=18,W=21`) {
		t.Errorf("Key = %q", m.Key)
	}
	if m.Name != m.Key {
		t.Errorf("Name %q != Key %q in new/", m.Name, m.Key)
	}
	if got := readMsg(t, d, m); got != body {
		t.Errorf("content %q", got)
	}
	if tmp := listDir(t, d.Path()+"/tmp"); len(tmp) != 0 {
		t.Errorf("tmp/ not empty: %v", tmp)
	}
	if fi, err := os.Stat(d.MessagePath(m)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("stat: %v %v", fi.Mode(), err)
	}
	// What we return is what a Scan sees.
	msgs, err := d.Scan()
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || msgs[0] != m {
		t.Errorf("Scan = %+v, want [%+v]", msgs, m)
	}
	// Unique names even at the same instant.
	m2 := deliver(t, d, "x")
	if m2.Key == m.Key {
		t.Error("two deliveries got the same key")
	}
}

type failReader struct{ n int }

func (r *failReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, errors.New("connection lost")
	}
	r.n--
	return copy(p, "data\r\n"), nil
}

func TestDeliverFailureLeavesNothing(t *testing.T) {
	d := newDir(t)
	if _, err := d.Deliver(&failReader{n: 3}); err == nil || !strings.Contains(err.Error(), "connection lost") {
		t.Errorf("err = %v", err)
	}
	if _, err := d.DeliverWith(strings.NewReader(strings.Repeat("x", 100)), DeliverOptions{MaxSize: 10}); !errors.Is(err, ErrTooBig) {
		t.Errorf("err = %v, want ErrTooBig", err)
	}
	for _, sub := range []string{"tmp", "new", "cur"} {
		if names := listDir(t, filepath.Join(d.Path(), sub)); len(names) != 0 {
			t.Errorf("%s/ has %v", sub, names)
		}
	}
}

func TestDeliverWithCurFlagsTime(t *testing.T) {
	d := newDir(t)
	when := time.Date(2020, 2, 29, 12, 0, 0, 0, time.UTC)
	m, err := d.DeliverWith(strings.NewReader("x\n"), DeliverOptions{Cur: true, Flags: "SF", Time: when})
	if err != nil {
		t.Fatal(err)
	}
	if m.Subdir != SubCur || m.Flags != "FS" || !strings.HasSuffix(m.Name, ":2,FS") || !m.Time.Equal(when) {
		t.Errorf("message %+v", m)
	}
	fi, err := os.Stat(d.MessagePath(m))
	if err != nil {
		t.Fatal(err)
	}
	if !fi.ModTime().Equal(when) {
		t.Errorf("mtime %v, want %v (Dovecot's INTERNALDATE)", fi.ModTime(), when)
	}
}

func TestDeliverMany(t *testing.T) {
	a, b, c := newDir(t), newDir(t), newDir(t)
	msgs, err := DeliverMany(strings.NewReader("To: all\r\n\r\nhi\r\n"), []*Dir{a, b, c})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 3 {
		t.Fatalf("%d messages", len(msgs))
	}
	for i, d := range []*Dir{a, b, c} {
		if got := readMsg(t, d, msgs[i]); got != "To: all\n\nhi\n" {
			t.Errorf("dir %d: %q", i, got)
		}
		if tmp := listDir(t, d.Path()+"/tmp"); len(tmp) != 0 {
			t.Errorf("dir %d tmp/: %v", i, tmp)
		}
	}
	// All or nothing: a broken destination removes the links already made.
	broken := newDir(t)
	if err := os.RemoveAll(broken.Path() + "/new"); err != nil {
		t.Fatal(err)
	}
	if _, err := DeliverMany(strings.NewReader("x"), []*Dir{a, broken}); err == nil {
		t.Fatal("DeliverMany into a broken Maildir succeeded")
	}
	if msgs, _ := a.Scan(); len(msgs) != 1 {
		t.Errorf("after a failed DeliverMany, a has %d messages, want 1", len(msgs))
	}
}

func TestScanOrderAndDedupe(t *testing.T) {
	d := newDir(t)
	write := func(sub, name string) {
		if err := os.WriteFile(filepath.Join(d.Path(), sub, name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("new", "300.M1P1.h,S=1,W=1")
	write("cur", "100.M5P1.h,S=1,W=1:2,S")
	write("cur", "100.M2P1.h:2,")
	write("new", "200.M1P1.h")
	write("new", ".hidden")
	write("cur", ".dot:2,S")
	// The same key in new/ and cur/ (a move seen half-way): cur/ wins.
	write("new", "250.M1P1.h")
	write("cur", "250.M1P1.h:2,R")
	msgs, err := d.Scan()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range msgs {
		got = append(got, m.Subdir+"/"+m.Name)
	}
	want := []string{
		"cur/100.M2P1.h:2,",
		"cur/100.M5P1.h,S=1,W=1:2,S",
		"new/200.M1P1.h",
		"cur/250.M1P1.h:2,R",
		"new/300.M1P1.h,S=1,W=1",
	}
	if !slices.Equal(got, want) {
		t.Errorf("Scan order\n got %q\nwant %q", got, want)
	}
}

func TestSetFlagsFollowsMessage(t *testing.T) {
	d := newDir(t)
	m := deliver(t, d, "hello\n")
	// new/ -> cur/ with no flags.
	m1, err := d.SetFlags(m, "")
	if err != nil {
		t.Fatal(err)
	}
	if m1.Subdir != SubCur || m1.Name != m.Key+":2," {
		t.Errorf("after SetFlags(\"\"): %+v", m1)
	}
	// Stale m (still says new/): SetFlags finds it in cur/.
	m2, err := d.SetFlags(m, "SR")
	if err != nil {
		t.Fatal(err)
	}
	if m2.Name != m.Key+":2,RS" || m2.Flags != "RS" {
		t.Errorf("after SetFlags(RS): %+v", m2)
	}
	// Open with stale information still reads it.
	if got := readMsg(t, d, m); got != "hello\n" {
		t.Errorf("Open(stale) = %q", got)
	}
	// AddFlags edits the current flags, even from a stale m.
	m3, err := d.AddFlags(m1, "T", "R")
	if err != nil {
		t.Fatal(err)
	}
	if m3.Flags != "ST" {
		t.Errorf("AddFlags(+T -R) from RS = %q, want ST", m3.Flags)
	}
	// Same flags again is a no-op.
	if m4, err := d.SetFlags(m3, "TS"); err != nil || m4 != m3 {
		t.Errorf("SetFlags(same) = %+v, %v", m4, err)
	}
	if names := listDir(t, d.Path()+"/cur"); len(names) != 1 || names[0] != m.Key+":2,ST" {
		t.Errorf("cur/ = %v", names)
	}
	// Remove with stale m, then everything says gone.
	if err := d.Remove(m); err != nil {
		t.Fatal(err)
	}
	if err := d.Remove(m3); !errors.Is(err, ErrGone) {
		t.Errorf("Remove again = %v, want ErrGone", err)
	}
	if _, err := d.SetFlags(m3, "S"); !errors.Is(err, ErrGone) {
		t.Errorf("SetFlags on gone = %v", err)
	}
	if _, err := d.Open(m3); !errors.Is(err, ErrGone) {
		t.Errorf("Open on gone = %v", err)
	}
	if _, err := d.Lookup(m3.Key); !errors.Is(err, ErrGone) {
		t.Errorf("Lookup on gone = %v", err)
	}
}

func TestCleanTmp(t *testing.T) {
	now := time.Now()
	d, err := CreateWith(filepath.Join(t.TempDir(), "M"), Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	old := filepath.Join(d.Path(), "tmp", "old")
	fresh := filepath.Join(d.Path(), "tmp", "fresh")
	for _, p := range []string{old, fresh} {
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(d.Path(), "tmp", "olddir"), 0o700); err != nil {
		t.Fatal(err)
	}
	past := now.Add(-37 * time.Hour)
	for _, p := range []string{old, filepath.Join(d.Path(), "tmp", "olddir")} {
		if err := os.Chtimes(p, past, past); err != nil {
			t.Fatal(err)
		}
	}
	probs, err := d.Check()
	if err != nil {
		t.Fatal(err)
	}
	if len(probs) != 1 || probs[0].Kind != ProblemOldTmp || probs[0].Path != old {
		t.Errorf("Check = %+v", probs)
	}
	n, err := d.CleanTmp(0)
	if err != nil || n != 1 {
		t.Errorf("CleanTmp = %d, %v", n, err)
	}
	if names := listDir(t, d.Path()+"/tmp"); !slices.Equal(names, []string{"fresh", "olddir"}) {
		t.Errorf("tmp/ = %v", names)
	}
}

func TestCheck(t *testing.T) {
	d := newDir(t)
	good := deliver(t, d, "line\r\nline\r\n")
	write := func(sub, name, content string) string {
		p := filepath.Join(d.Path(), sub, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	badS := write("cur", "1.M1P1.h,S=99,W=100:2,S", "abc\n")
	badW := write("cur", "2.M1P1.h,S=4,W=4:2,", "abc\n")
	crlfOK := write("cur", "3.M1P1.h,S=5,W=5:2,", "abc\r\n")
	dup := write("cur", good.Key+":2,S", "line\nline\n")
	if err := os.Mkdir(filepath.Join(d.Path(), "cur", "subdir"), 0o700); err != nil {
		t.Fatal(err)
	}
	_ = crlfOK
	probs, err := d.Check()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, p := range probs {
		got[p.Path] = p.Kind
	}
	want := map[string]string{
		badS: ProblemSize, badW: ProblemSize,
		filepath.Join(d.Path(), "cur", "subdir"): ProblemStray,
	}
	// Which of the two copies is called the duplicate depends on readdir order.
	if got[dup] == ProblemDuplicate {
		want[dup] = ProblemDuplicate
	} else {
		want[d.MessagePath(good)] = ProblemDuplicate
	}
	if len(got) != len(want) {
		t.Errorf("Check = %+v", probs)
	}
	for p, k := range want {
		if got[p] != k {
			t.Errorf("Check: %s: got %q, want %q (all: %+v)", p, got[p], k, probs)
		}
	}
}

// TestDeliverManyAcrossFileSystems: where a hard link would cross file
// systems (EXDEV), DeliverMany copies the message into the other Maildir.
func TestDeliverManyAcrossFileSystems(t *testing.T) {
	shm, err := os.MkdirTemp("/dev/shm", "maildir-test-")
	testutil.Require(t, fmt.Sprintf("a writable /dev/shm as a second file system (%v)", err), err == nil)
	t.Cleanup(func() { os.RemoveAll(shm) })
	other, err := Create(filepath.Join(shm, "Maildir"))
	if err != nil {
		t.Fatal(err)
	}
	local := newDir(t)
	// A hard link to a file (not a directory, which never links) tells
	// whether the two are really different file systems.
	probe := filepath.Join(filepath.Dir(local.Path()), "probe")
	if err := os.WriteFile(probe, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	err = os.Link(probe, filepath.Join(shm, "probe"))
	testutil.Require(t, "/dev/shm on another file system than the test's temp dir", errors.Is(err, syscall.EXDEV))
	when := time.Date(2021, 1, 2, 3, 4, 5, 0, time.UTC)
	msgs, err := DeliverManyWith(strings.NewReader("Subject: x\r\n\r\ny\r\n"), []*Dir{local, other}, DeliverOptions{Time: when})
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range []*Dir{local, other} {
		if got := readMsg(t, d, msgs[i]); got != "Subject: x\n\ny\n" {
			t.Errorf("dir %d: %q", i, got)
		}
		if fi, err := os.Stat(d.MessagePath(msgs[i])); err != nil || !fi.ModTime().Equal(when) {
			t.Errorf("dir %d: mtime %v, %v", i, fi.ModTime(), err)
		}
		if tmp := listDir(t, filepath.Join(d.Path(), "tmp")); len(tmp) != 0 {
			t.Errorf("dir %d tmp/: %v", i, tmp)
		}
	}
}
