package testutil

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
)

var (
	buildMu   sync.Mutex
	buildDone = map[string]string{}
)

// Binary builds cmd/NAME of this module once per test process and returns
// the path of the executable, so tests exec the real program.
//
// The executables go to os.TempDir()/mailtk-bin-UID/HASH, HASH naming the
// module root, and are rebuilt (from go build's cache) by each test
// process, so repeated runs reuse one directory instead of leaving one
// behind each. The directories are readable and executable by the
// unprivileged user tests run servers as (see Unprivileged).
func Binary(t testing.TB, name string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := buildDone[name]; ok {
		return p
	}
	root := ModuleRoot(t)
	dir := binDir(t, root)
	// Build under a unique name and rename, so that concurrent test
	// processes (go test ./... runs packages in parallel) never exec a
	// half-written file.
	tmp, err := os.CreateTemp(dir, name+".tmp-")
	if err != nil {
		t.Fatal(err)
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	cmd := exec.Command("go", "build", "-o", tmp.Name(), "./cmd/"+name)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/%s: %v\n%s", name, err, b)
	}
	if err := os.Chmod(tmp.Name(), 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, name)
	if err := os.Rename(tmp.Name(), out); err != nil {
		t.Fatal(err)
	}
	buildDone[name] = out
	return out
}

// binDir returns, creating it, the directory Binary builds into for the
// module at root.
func binDir(t testing.TB, root string) string {
	t.Helper()
	sum := sha256.Sum256([]byte(root))
	parent := filepath.Join(os.TempDir(), fmt.Sprintf("mailtk-bin-%d", os.Getuid()))
	dir := filepath.Join(parent, hex.EncodeToString(sum[:8]))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// The directory may be older, or made under another umask: it must be
	// ours, and traversable by Nobody.
	for _, d := range []string{parent, dir} {
		fi, err := os.Lstat(d)
		if err != nil {
			t.Fatal(err)
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !fi.IsDir() || !ok || int(st.Uid) != os.Getuid() {
			t.Fatalf("%s is not a directory owned by uid %d", d, os.Getuid())
		}
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// ModuleRoot returns the directory that holds go.mod.
func ModuleRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate testutil source")
	}
	return filepath.Dir(filepath.Dir(filepath.Dir(file)))
}
