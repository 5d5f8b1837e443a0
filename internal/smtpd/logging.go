package smtpd

import (
	"io"
	"log/syslog"
	"os"
	"syscall"
)

// logWriter returns where the log goes: stderr, unless stderr is the
// client's connection itself, as inetd and xinetd arrange for "nowait"
// services (fd 0, 1 and 2 are all the socket). Writing the log there
// would talk to the client in the middle of the SMTP dialogue, so the log
// goes to syslog (facility mail) instead, or nowhere when there is none.
func logWriter(stderr io.Writer) io.Writer {
	if stderr != io.Writer(os.Stderr) || !sameFile(0, 2) {
		return stderr
	}
	if w, err := syslog.New(syslog.LOG_MAIL|syslog.LOG_INFO, "smtpd"); err == nil {
		return w
	}
	return io.Discard
}

// sameFile reports whether two descriptors are the same open socket or file.
func sameFile(a, b int) bool {
	var sa, sb syscall.Stat_t
	if syscall.Fstat(a, &sa) != nil || syscall.Fstat(b, &sb) != nil {
		return false
	}
	return sa.Dev == sb.Dev && sa.Ino == sb.Ino && sa.Mode&syscall.S_IFMT == syscall.S_IFSOCK
}
