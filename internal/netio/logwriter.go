package netio

import (
	"io"
	"log/slog"
	"log/syslog"
	"os"
	"path/filepath"
	"syscall"
)

// LogWriter returns where a server's log goes: stderr, unless stderr is
// the client's connection itself, as inetd and xinetd arrange for
// "nowait" services (fd 0, 1 and 2 are all the socket). Writing the log
// there would talk to the client in the middle of the protocol dialogue,
// so the log goes to syslog (facility mail, tagged with the program's
// name) instead, or nowhere when there is no syslog.
//
// In that case LogWriter also points fd 2 at /dev/null. Otherwise fd 2
// would keep the socket open after the session closes stdin and stdout
// (and in every child process, which inherits it), so the client would
// not see the connection end, and anything written to stderr (a child's
// complaint, a runtime panic) would reach the client.
//
// Only os.Stderr is examined: any other writer (a test's buffer) is
// returned as it is.
func LogWriter(stderr io.Writer) io.Writer {
	if stderr != io.Writer(os.Stderr) || !stderrIsClient() {
		return stderr
	}
	detachStderr()
	if w, err := syslog.New(syslog.LOG_MAIL|syslog.LOG_INFO, filepath.Base(os.Args[0])); err == nil {
		return w
	}
	return io.Discard
}

// stderrIsClient reports whether fd 2 is the socket on fd 0 or fd 1.
// A terminal shared by all three (an interactive run) is not a client.
func stderrIsClient() bool {
	return sameSocket(0, 2) || sameSocket(1, 2)
}

// detachStderr points fd 2 at /dev/null, leaving it open so that
// nothing else gets descriptor 2 by accident.
func detachStderr() {
	null, err := syscall.Open(os.DevNull, syscall.O_WRONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	// Dup3 rather than Dup2, which some Linux ports lack; the new fd 2
	// has no close-on-exec flag, so children get /dev/null too.
	syscall.Dup3(null, 2, 0)
	syscall.Close(null)
}

// sameSocket reports whether two descriptors are the same open socket.
func sameSocket(a, b int) bool {
	var sa, sb syscall.Stat_t
	if syscall.Fstat(a, &sa) != nil || syscall.Fstat(b, &sb) != nil {
		return false
	}
	return sa.Dev == sb.Dev && sa.Ino == sb.Ino && sa.Mode&syscall.S_IFMT == syscall.S_IFSOCK
}

// NewLogger returns a server's log: text lines on stderr (through
// LogWriter, so never into the client's socket under inetd), tagged with
// the program's name, at debug level when debug is set.
func NewLogger(stderr io.Writer, prog string, debug bool) *slog.Logger {
	level := slog.LevelInfo
	if debug {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(LogWriter(stderr), &slog.HandlerOptions{Level: level})).With("prog", prog)
}
