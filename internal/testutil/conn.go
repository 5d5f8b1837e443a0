package testutil

import (
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// SocketPair returns two connected Unix stream sockets as net.Conns: a
// server side and a client side, closed when the test ends. A socketpair
// is what inetd hands a server on fd 0, so it exercises the same code.
func SocketPair(t testing.TB) (server, client net.Conn) {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	conv := func(fd int, name string) net.Conn {
		f := os.NewFile(uintptr(fd), name)
		c, err := net.FileConn(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	return conv(fds[0], "server"), conv(fds[1], "client")
}

// SocketPairFiles returns the two ends of a socketpair as *os.File, for
// handing one end to a child process as its stdin/stdout. Both are
// close-on-exec, so a child gets only the end given to it: a client end
// leaked into another server would keep its session from seeing EOF.
func SocketPairFiles(t testing.TB) (server, client *os.File) {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	s, c := os.NewFile(uintptr(fds[0]), "server"), os.NewFile(uintptr(fds[1]), "client")
	t.Cleanup(func() { s.Close(); c.Close() })
	return s, c
}

// TempMaildir creates an empty Maildir (tmp, new, cur; mode 0700) under
// the test's temporary directory and returns its path.
func TempMaildir(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "Maildir")
	for _, sub := range []string{"tmp", "new", "cur"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
