package netio

import (
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"

	"mailtk/internal/exitcode"
)

// The socket-activation protocol of sd_listen_fds(3): systemd (or
// systemd-socket-activate) passes LISTEN_FDS descriptors starting at 3,
// names them in LISTEN_FDNAMES, and sets LISTEN_PID to the pid they are
// meant for.
const (
	envListenFDs   = "LISTEN_FDS"
	envListenPID   = "LISTEN_PID"
	envListenNames = "LISTEN_FDNAMES"
	listenFDStart  = 3
	maxListenFDs   = 64 // far more than any mail server listens on
)

// activation is what systemd passed: listening sockets (Accept=no), or
// one connected socket (Accept=yes without StandardInput=socket).
type activation struct {
	listeners []namedListener
	conn      net.Conn
	name      string
}

// systemdSockets takes over the descriptors systemd passed. When the
// environment is the real one, the LISTEN_* variables are removed so that
// programs we start do not believe the sockets are theirs.
func systemdSockets(o *Options) (*activation, error) {
	e := o.env()
	fdsS, _ := e.get(envListenFDs)
	pidS, _ := e.get(envListenPID)
	pid, err := strconv.Atoi(pidS)
	if err != nil {
		return nil, exitcode.Errorf(exitcode.Config, "LISTEN_FDS is set but LISTEN_PID %q is not a process id", pidS)
	}
	if pid != os.Getpid() {
		return nil, exitcode.Errorf(exitcode.Config,
			"LISTEN_PID=%d is not this process (%d): the LISTEN_FDS sockets were passed to another program; unset LISTEN_FDS and LISTEN_PID, or start this program from the socket unit directly",
			pid, os.Getpid())
	}
	n, err := strconv.Atoi(fdsS)
	if err != nil || n < 1 || n > maxListenFDs {
		return nil, exitcode.Errorf(exitcode.Config, "LISTEN_FDS=%q: want a count from 1 to %d", fdsS, maxListenFDs)
	}
	var names []string
	if s, ok := e.get(envListenNames); ok {
		names = strings.Split(s, ":")
	}
	if o.realEnv {
		os.Unsetenv(envListenFDs)
		os.Unsetenv(envListenPID)
		os.Unsetenv(envListenNames)
	}
	a := &activation{}
	for i := range n {
		fd := listenFDStart + i
		name := "unknown" // systemd's name for an unnamed descriptor
		if len(names) == n && validHost(names[i]) {
			name = names[i]
		}
		syscall.CloseOnExec(fd)
		listening, err := syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_ACCEPTCONN)
		if err != nil {
			a.close()
			return nil, exitcode.Errorf(exitcode.Config, "LISTEN_FDS: descriptor %d (%s) is not a socket: %v", fd, name, err)
		}
		f := os.NewFile(uintptr(fd), name)
		if listening == 0 {
			// Accept=yes: one connection, on fd 3.
			if n != 1 {
				f.Close()
				a.close()
				return nil, exitcode.Errorf(exitcode.Config, "LISTEN_FDS: descriptor %d (%s) is a connection, not a listening socket", fd, name)
			}
			c, err := net.FileConn(f)
			f.Close()
			if err != nil {
				return nil, exitcode.Errorf(exitcode.Config, "LISTEN_FDS: descriptor %d (%s): %v", fd, name, err)
			}
			a.conn, a.name = c, name
			return a, nil
		}
		ln, err := net.FileListener(f)
		f.Close()
		if err != nil {
			a.close()
			return nil, exitcode.Errorf(exitcode.Config, "LISTEN_FDS: descriptor %d (%s) is not a stream listener: %v", fd, name, err)
		}
		a.listeners = append(a.listeners, namedListener{ln, name})
	}
	return a, nil
}

func (a *activation) close() {
	for _, l := range a.listeners {
		l.Close()
	}
}
