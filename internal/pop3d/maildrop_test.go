package pop3d

import (
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mailtk/internal/pop3"
	"mailtk/internal/testutil"
	"mailtk/maildir"
)

var quiet = slog.New(slog.DiscardHandler)

func TestMaildropSnapshot(t *testing.T) {
	path := testutil.TempMaildir(t)
	d, err := maildir.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := d.Deliver(strings.NewReader("a\nb\n"))
	b, _ := d.Deliver(strings.NewReader("Subject: x\n\nyy\n"))
	b, _ = d.SetFlags(b, "RS")
	// A message delivered by a program that writes no S=/W=, and an
	// older one: sizes are counted, order is by delivery time.
	if err := os.WriteFile(filepath.Join(path, "new", "1000000000.M1P1.old"), []byte("old\r\nmsg\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(path, "new", ".hidden"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	md, err := OpenMaildrop(path, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer md.Close()
	got := md.Messages()
	want := []pop3.MessageInfo{
		{UID: "1000000000.M1P1.old", Size: 10},
		{UID: a.Key, Size: 6},
		{UID: b.Key, Size: 18, Seen: true},
	}
	if len(got) != len(want) {
		t.Fatalf("%+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("message %d: %+v, want %+v", i+1, got[i], want[i])
		}
	}
	r, err := md.Open(0)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(r)
	r.Close()
	if string(body) != "old\r\nmsg\n" {
		t.Errorf("%q", body)
	}
}

func TestMaildropLock(t *testing.T) {
	path := testutil.TempMaildir(t)
	md, err := OpenMaildrop(path, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenMaildrop(path, quiet); !errors.Is(err, pop3.ErrInUse) {
		t.Fatalf("second open: %v", err)
	}
	md.Close()
	md.Close()
	md2, err := OpenMaildrop(path, quiet)
	if err != nil {
		t.Fatalf("after close: %v", err)
	}
	md2.Close()
	// The lock file is never followed through a symlink.
	p2 := testutil.TempMaildir(t)
	os.Symlink(filepath.Join(t.TempDir(), "elsewhere"), filepath.Join(p2, LockName))
	if _, err := OpenMaildrop(p2, quiet); err == nil {
		t.Fatal("symlinked lock file accepted")
	}
}

func TestMaildropCreatesMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new-user", "Maildir")
	md, err := OpenMaildrop(path, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer md.Close()
	if len(md.Messages()) != 0 {
		t.Fatal(md.Messages())
	}
	for _, sub := range []string{"tmp", "new", "cur"} {
		if fi, err := os.Stat(filepath.Join(path, sub)); err != nil || fi.Mode().Perm() != 0o700 {
			t.Fatalf("%s: %v %v", sub, fi, err)
		}
	}
}

func TestMaildropUnsafe(t *testing.T) {
	path := testutil.TempMaildir(t)
	os.Chmod(filepath.Join(path, "new"), 0o777)
	_, err := OpenMaildrop(path, quiet)
	var pe *pop3.Error
	if !errors.As(err, &pe) || pe.Code != pop3.CodeSysPerm {
		t.Fatalf("world-writable new/: %v", err)
	}
}

func TestMaildropCommitTolerates(t *testing.T) {
	path := testutil.TempMaildir(t)
	d, _ := maildir.Open(path)
	var keys []string
	for _, b := range []string{"1\n", "2\n", "3\n", "4\n", "5\n"} {
		m, err := d.Deliver(strings.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, m.Key)
	}
	md, err := OpenMaildrop(path, quiet)
	if err != nil {
		t.Fatal(err)
	}
	// Another process: removes message 1 and 3, moves message 2 and 4
	// to cur/ with flags.
	msgs, _ := d.Scan()
	d.Remove(msgs[0])
	d.Remove(msgs[2])
	d.SetFlags(msgs[1], "F")
	d.SetFlags(msgs[3], "R")
	if _, err := md.Open(0); !errors.Is(err, pop3.ErrGone) {
		t.Fatalf("open of a removed message: %v", err)
	}
	r, err := md.Open(1)
	if err != nil {
		t.Fatalf("open of a moved message: %v", err)
	}
	r.Close()
	// Delete 1 (gone), 2 (moved); retrieve 3 (gone), 4 (moved), 5.
	if err := md.Commit([]int{0, 1}, []int{2, 3, 4}); err != nil {
		t.Fatal(err)
	}
	md.Close()
	after, _ := d.Scan()
	if len(after) != 2 || after[0].Key != keys[3] || after[0].Flags != "RS" || after[1].Key != keys[4] || after[1].Flags != "S" || after[1].Subdir != "cur" {
		t.Fatalf("%+v", after)
	}
}

func TestMaildropCommitError(t *testing.T) {
	path := testutil.TempMaildir(t)
	d, _ := maildir.Open(path)
	d.Deliver(strings.NewReader("1\n"))
	// A "message" that cannot be unlinked, even by root: a non-empty
	// directory under a message name.
	bad := filepath.Join(path, "new", "1700000000.M1P1.host,S=2,W=3")
	if err := os.MkdirAll(filepath.Join(bad, "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	md, err := OpenMaildrop(path, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer md.Close()
	if len(md.Messages()) != 2 {
		t.Fatalf("%+v", md.Messages())
	}
	err = md.Commit([]int{0, 1}, nil)
	if err == nil || !strings.Contains(err.Error(), "1 deleted messages not removed") {
		t.Fatalf("commit: %v", err)
	}
	if msgs, _ := d.Scan(); len(msgs) != 1 {
		t.Fatalf("the removable message was not removed: %+v", msgs)
	}
}
