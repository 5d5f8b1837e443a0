package imapd

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/fsnotify/fsnotify"

	"mailtk/internal/testutil"
)

// TestNotifierShared: sessions watching the same directory share one
// inotify watch, each is woken by a change, and the watch goes when the
// last session releases it.
func TestNotifierShared(t *testing.T) {
	dir := t.TempDir()
	n := NewNotifier()
	defer n.Close()
	a, err := n.watch(dir)
	testutil.Require(t, fmt.Sprintf("inotify (watch: %v)", err), err == nil)
	b, err := n.watch(dir + "/")
	if err != nil {
		t.Fatal(err)
	}
	if len(n.dirs) != 1 || len(n.dirs[dir]) != 2 {
		t.Fatalf("watched dirs %v, want %s with two watches", n.dirs, dir)
	}
	if err := os.WriteFile(filepath.Join(dir, "m"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	<-a.wake
	<-b.wake
	n.release(a)
	if len(n.dirs[dir]) != 1 {
		t.Fatalf("after one release: %v", n.dirs)
	}
	n.release(b)
	if len(n.dirs) != 0 {
		t.Fatalf("after both releases: %v", n.dirs)
	}
}

// TestNotifierOverflow: when the kernel's event queue overflows, every
// watch is told events were lost (and IDLE falls back to polling often)
// instead of waiting for events that will not come.
func TestNotifierOverflow(t *testing.T) {
	n := NewNotifier()
	defer n.Close()
	a, err := n.watch(t.TempDir())
	testutil.Require(t, fmt.Sprintf("inotify (watch: %v)", err), err == nil)
	n.w.Errors <- fsnotify.ErrEventOverflow
	<-a.lost
	// Still delivering events afterwards.
	dir := a.dirs[0]
	if err := os.WriteFile(filepath.Join(dir, "m"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	<-a.wake
}
