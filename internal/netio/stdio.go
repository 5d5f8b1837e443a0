package netio

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"syscall"
	"time"
)

// fileStat returns f's stat without f.Fd(), which would switch a
// non-blocking descriptor back to blocking mode.
func fileStat(f *os.File) (syscall.Stat_t, error) {
	var st syscall.Stat_t
	rc, err := f.SyscallConn()
	if err != nil {
		return st, err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = syscall.Fstat(int(fd), &st) }); err != nil {
		return st, err
	}
	return st, serr
}

// fileFD returns f's descriptor number, again without f.Fd().
func fileFD(f *os.File) (int, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return -1, err
	}
	n := -1
	err = rc.Control(func(fd uintptr) { n = int(fd) })
	return n, err
}

// stdioConn turns in/out into one net.Conn and says what it is. A socket
// on both (inetd, tcpserver, systemd Accept=yes) becomes a real socket
// conn; anything else a pipeConn. The caller owns in and out and closes
// them with the conn.
func stdioConn(in, out *os.File) (net.Conn, error) {
	ist, err := fileStat(in)
	if err != nil {
		return nil, fmt.Errorf("stdin: %w", err)
	}
	ost, err := fileStat(out)
	if err != nil {
		return nil, fmt.Errorf("stdout: %w", err)
	}
	if ist.Mode&syscall.S_IFMT == syscall.S_IFSOCK {
		if ist.Dev == ost.Dev && ist.Ino == ost.Ino {
			c, err := net.FileConn(in) // dups the descriptor
			if err != nil {
				return nil, fmt.Errorf("stdin is a socket but not a usable stream: %w", err)
			}
			return c, nil
		}
	}
	r, err := pollable(in, ist, os.O_RDONLY)
	if err != nil {
		return nil, fmt.Errorf("stdin: %w", err)
	}
	w, err := pollable(out, ost, os.O_WRONLY)
	if err != nil {
		if r != in {
			r.Close()
		}
		return nil, fmt.Errorf("stdout: %w", err)
	}
	return &pipeConn{r: r, w: w, own: [2]bool{r != in, w != out}}, nil
}

// pollable returns a file for f whose deadlines work. Pipes, FIFOs and
// ttys are opened again through /proc/self/fd: that gives a new open
// file description, so making it non-blocking (which the runtime poller
// needs for deadlines) does not change the descriptor we share with our
// parent (a shell whose terminal would otherwise turn non-blocking under
// it). Regular files never block and are used as they are (reopening
// would also lose their offset); so is anything we cannot reopen.
func pollable(f *os.File, st syscall.Stat_t, mode int) (*os.File, error) {
	switch st.Mode & syscall.S_IFMT {
	case syscall.S_IFIFO, syscall.S_IFCHR:
	default:
		return f, nil
	}
	fd, err := fileFD(f)
	if err != nil {
		return nil, err
	}
	// O_NONBLOCK also keeps open(2) of a FIFO from waiting for a partner.
	nf, err := os.OpenFile("/proc/self/fd/"+strconv.Itoa(fd), mode|syscall.O_NONBLOCK|syscall.O_CLOEXEC|syscall.O_NOCTTY, 0)
	if err != nil {
		return f, nil // no /proc, or /dev/null-like oddities: no deadlines
	}
	return nf, nil
}

// pipeConn is a net.Conn over a read file and a write file: stdin and
// stdout when they are pipes or a terminal.
type pipeConn struct {
	r, w *os.File
	own  [2]bool // r, w were opened by us and are closed by Close
}

func (p *pipeConn) Read(b []byte) (int, error)  { return p.r.Read(b) }
func (p *pipeConn) Write(b []byte) (int, error) { return p.w.Write(b) }

// Close closes the files pipeConn opened itself; the originals are closed
// by the Conn's extra closers.
func (p *pipeConn) Close() error {
	var errs []error
	if p.own[0] {
		errs = append(errs, p.r.Close())
	}
	if p.own[1] {
		errs = append(errs, p.w.Close())
	}
	return errors.Join(errs...)
}

func (p *pipeConn) LocalAddr() net.Addr  { return pipeAddr{} }
func (p *pipeConn) RemoteAddr() net.Addr { return pipeAddr{} }

// SetDeadline sets both deadlines; see SetReadDeadline.
func (p *pipeConn) SetDeadline(t time.Time) error {
	return errors.Join(p.SetReadDeadline(t), p.SetWriteDeadline(t))
}

// SetReadDeadline sets the read deadline. On a file without deadline
// support (a regular file, which never blocks) it does nothing.
func (p *pipeConn) SetReadDeadline(t time.Time) error {
	return noDeadlineOK(p.r.SetReadDeadline(t))
}

// SetWriteDeadline sets the write deadline, like SetReadDeadline.
func (p *pipeConn) SetWriteDeadline(t time.Time) error {
	return noDeadlineOK(p.w.SetWriteDeadline(t))
}

func noDeadlineOK(err error) error {
	if errors.Is(err, os.ErrNoDeadline) {
		return nil
	}
	return err
}

// pipeAddr is the address of both ends of a pipeConn.
type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "stdio" }
