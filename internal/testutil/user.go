package testutil

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// Nobody is the uid and gid that tests run servers as when the test itself
// runs as root (CI does): the programs refuse to touch a Maildir as root.
const Nobody = 65534

// UnprivDir returns a fresh temporary directory that the user the test's
// binaries run as can use: when the test runs as root, the directory (and
// the path to it) is made reachable and owned by Nobody.
func UnprivDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	if os.Getuid() != 0 {
		return dir
	}
	// t.TempDir makes a 0700 parent; open the path for traversal only.
	for p := dir; p != os.TempDir() && p != "/" && p != "."; p = filepath.Dir(p) {
		if err := os.Chmod(p, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chown(dir, Nobody, Nobody); err != nil {
		t.Fatal(err)
	}
	return dir
}

// ChownTree gives every file under dir to Nobody when the test runs as
// root, so that a binary started with Unprivileged can use them.
func ChownTree(t testing.TB, dir string) {
	t.Helper()
	if os.Getuid() != 0 {
		return
	}
	err := filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, Nobody, Nobody)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Unprivileged makes cmd run as Nobody when the test runs as root, and
// leaves it alone otherwise.
func Unprivileged(cmd *exec.Cmd) {
	if os.Getuid() != 0 {
		return
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Credential = &syscall.Credential{Uid: Nobody, Gid: Nobody}
}
