package maildir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// dotlock is a lock file in the style of Dovecot's file_dotlock: the file
// "<path>.lock" is created with O_EXCL and removed to unlock. Its content
// is "<pid>:<host>" for people and for the dead-owner check below.
//
// O_EXCL creation is atomic on local file systems and on NFSv3 and later
// (the server does the exclusive create), and needs no fcntl/flock lock
// daemon, which is why Dovecot and this package use it for dovecot-uidlist
// on NFS. A lock whose owner died is taken over when the lock file is
// older than the stale timeout (its mtime is set by the server, so clocks
// of different clients don't matter much), or at once when it names a
// process on this host that no longer exists.
type dotlock struct {
	path string
	ino  uint64 // inode of the lock file we made, to detect take-over
}

func (d *Dir) lock(target string) (*dotlock, error) {
	path := target + ".lock"
	content := []byte(strconv.Itoa(d.opts.Pid) + ":" + d.opts.Hostname)
	deadline := d.opts.Now().Add(d.opts.LockTimeout)
	wait := 5 * time.Millisecond
	for {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			_, werr := f.Write(content)
			fi, serr := f.Stat()
			cerr := f.Close()
			if err := errors.Join(werr, serr, cerr); err != nil {
				os.Remove(path)
				return nil, err
			}
			return &dotlock{path: path, ino: inode(fi)}, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
		if d.staleLock(path) {
			continue
		}
		if d.opts.Now().After(deadline) {
			return nil, fmt.Errorf("%w: %s", ErrLockTimeout, path)
		}
		time.Sleep(wait)
		if wait < 100*time.Millisecond {
			wait *= 2
		}
	}
}

// staleLock removes the lock file at path if it is stale, and reports
// whether it did (or the lock vanished meanwhile).
func (d *Dir) staleLock(path string) bool {
	fi, err := os.Lstat(path)
	if err != nil {
		return isNotExist(err)
	}
	stale := d.opts.Now().Sub(fi.ModTime()) > d.opts.LockStale
	if !stale {
		if b, err := os.ReadFile(path); err == nil {
			pid, host, ok := strings.Cut(string(b), ":")
			if n, err := strconv.Atoi(pid); ok && err == nil && n > 0 && host == d.opts.Hostname && n != d.opts.Pid {
				stale = syscall.Kill(n, 0) == syscall.ESRCH
			}
		}
	}
	if !stale {
		return false
	}
	// Remove it only if it is still the file we judged, not a fresh lock
	// someone made after we looked.
	if fi2, err := os.Lstat(path); err == nil && os.SameFile(fi, fi2) && fi2.ModTime().Equal(fi.ModTime()) {
		os.Remove(path)
	}
	return true
}

// unlock removes the lock file. It reports an error if our lock was taken
// over meanwhile (we were slower than the stale timeout).
func (l *dotlock) unlock() error {
	fi, err := os.Lstat(l.path)
	if err != nil || inode(fi) != l.ino {
		return fmt.Errorf("maildir: lock %s was overridden", l.path)
	}
	return os.Remove(l.path)
}

func inode(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Ino
	}
	return 0
}
