package maildir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Errors returned by the package. Test for them with errors.Is.
var (
	// ErrGone means the message was deleted (or its folder removed) by
	// someone else between the caller's Scan and its use.
	ErrGone = errors.New("maildir: message is gone")
	// ErrUnsafe means a Maildir failed Open's safety checks: a missing,
	// symlinked or world-writable tmp/, new/ or cur/, or a world-writable
	// Maildir.
	ErrUnsafe = errors.New("maildir: unsafe maildir")
	// ErrTooBig means a delivery exceeded DeliverOptions.MaxSize. Nothing
	// was stored.
	ErrTooBig = errors.New("maildir: message too big")
	// ErrBadFolder means a folder name failed ValidateFolder.
	ErrBadFolder = errors.New("maildir: bad folder name")
	// ErrLockTimeout means the dovecot-uidlist (or dovecot-keywords) lock
	// stayed held by someone else for longer than Options.LockTimeout.
	ErrLockTimeout = errors.New("maildir: lock timeout")
	// ErrCorrupt means dovecot-uidlist or dovecot-keywords could not be
	// parsed.
	ErrCorrupt = errors.New("maildir: corrupt metadata file")
	// ErrTooManyKeywords means all 26 keyword letters a–z are in use.
	ErrTooManyKeywords = errors.New("maildir: too many keywords (26 letters)")
)

// Defaults for Options.
const (
	// DefaultTmpAge is how old a file in tmp/ must be before CleanTmp
	// removes it: 36 hours, as the Maildir spec says.
	DefaultTmpAge = 36 * time.Hour
	// DefaultLockStale is the age after which a dovecot-uidlist.lock is
	// overridden: Dovecot's MAILDIR_UIDLIST_LOCK_STALE_TIMEOUT, 2 minutes.
	DefaultLockStale = 2 * time.Minute
	// DefaultLockTimeout is how long SyncUIDs waits for the lock before
	// giving up; a little longer than DefaultLockStale, as Dovecot does, so
	// that a stale lock is always overridden before we give up.
	DefaultLockTimeout = DefaultLockStale + 5*time.Second
)

// Options are the settings of a Dir. The zero value means the defaults.
// Nothing in the package reads the clock, the host name or the pid other
// than through these fields, so tests can fix them.
type Options struct {
	// Hostname goes into unique names. Default: os.Hostname().
	Hostname string
	// Pid goes into unique names. Default: os.Getpid().
	Pid int
	// Now is the clock. Default: time.Now. It must advance: lock waits
	// (LockTimeout) and lock ages (LockStale) are measured with it.
	Now func() time.Time
	// LockStale is the age of a lock file after which it is taken over.
	// Default DefaultLockStale.
	LockStale time.Duration
	// LockTimeout is how long to wait for a lock. Default
	// DefaultLockTimeout.
	LockTimeout time.Duration
}

func (o Options) withDefaults() Options {
	if o.Hostname == "" {
		h, err := os.Hostname()
		if err != nil || h == "" {
			h = "localhost"
		}
		o.Hostname = h
	}
	if o.Pid == 0 {
		o.Pid = os.Getpid()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.LockStale <= 0 {
		o.LockStale = DefaultLockStale
	}
	if o.LockTimeout <= 0 {
		o.LockTimeout = DefaultLockTimeout
	}
	return o
}

// Dir is one Maildir: the INBOX or a Maildir++ folder. A Dir is safe for
// concurrent use by several goroutines, and any number of processes may
// use the same Maildir at once.
type Dir struct {
	path string
	opts Options
	host string // escaped Hostname

	seq  atomic.Uint64 // Q<seq> in unique names
	bufs sync.Pool     // *[]byte copy buffers for Deliver
}

// Subdirectories of a Maildir.
const (
	SubTmp = "tmp"
	SubNew = "new"
	SubCur = "cur"
)

// Create makes a Maildir at path (tmp/, new/ and cur/, mode 0700, and any
// missing parents, also 0700) and opens it. It is idempotent: an existing
// Maildir is just opened.
func Create(path string) (*Dir, error) { return CreateWith(path, Options{}) }

// CreateWith is Create with Options.
func CreateWith(path string, o Options) (*Dir, error) {
	if err := os.MkdirAll(path, 0o700); err != nil {
		return nil, err
	}
	made := false
	for _, sub := range []string{SubTmp, SubNew, SubCur} {
		err := os.Mkdir(filepath.Join(path, sub), 0o700)
		if err == nil {
			made = true
		} else if !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
	}
	if made {
		// Make the new subdirectories durable before anyone delivers.
		if err := syncDir(path); err != nil {
			return nil, err
		}
	}
	return OpenWith(path, o)
}

// Open opens an existing Maildir after checking that it is safe to use:
// tmp/, new/ and cur/ must be real directories (not symlinks, which could
// point deliveries elsewhere), and neither they nor the Maildir itself may
// be world-writable (unless sticky). path itself may be a symlink.
func Open(path string) (*Dir, error) { return OpenWith(path, Options{}) }

// OpenWith is Open with Options.
func OpenWith(path string, o Options) (*Dir, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%w: %s is not a directory", ErrUnsafe, path)
	}
	if worldWritable(fi) {
		return nil, fmt.Errorf("%w: %s is world-writable", ErrUnsafe, path)
	}
	for _, sub := range []string{SubTmp, SubNew, SubCur} {
		p := filepath.Join(path, sub)
		fi, err := os.Lstat(p)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("%w: %s is missing", ErrUnsafe, p)
			}
			return nil, err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return nil, fmt.Errorf("%w: %s is a symlink", ErrUnsafe, p)
		}
		if !fi.IsDir() {
			return nil, fmt.Errorf("%w: %s is not a directory", ErrUnsafe, p)
		}
		if worldWritable(fi) {
			return nil, fmt.Errorf("%w: %s is world-writable", ErrUnsafe, p)
		}
	}
	o = o.withDefaults()
	d := &Dir{path: path, opts: o, host: escapeHost(o.Hostname)}
	d.bufs.New = func() any { b := make([]byte, 32<<10); return &b }
	return d, nil
}

func worldWritable(fi fs.FileInfo) bool {
	return fi.Mode().Perm()&0o002 != 0 && fi.Mode()&fs.ModeSticky == 0
}

// Path returns the Maildir's directory, as given to Open or Create.
func (d *Dir) Path() string { return d.path }

// MessagePath returns the current path of m (as of the Scan or call that
// returned m).
func (d *Dir) MessagePath(m Message) string {
	return filepath.Join(d.path, m.Subdir, m.Name)
}

// Path returns the path of m inside d; the same as d.MessagePath(m).
func (m Message) Path(d *Dir) string { return d.MessagePath(m) }

// syncDir fsyncs a directory so that the names created or renamed in it
// survive a crash.
func syncDir(path string) error {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: path, Err: err}
	}
	err = fsync(fd)
	if cerr := syscall.Close(fd); err == nil {
		err = cerr
	}
	if err != nil {
		return &os.PathError{Op: "fsync", Path: path, Err: err}
	}
	return nil
}

// isNotExist reports ENOENT, and ENOTDIR (a folder removed under us).
func isNotExist(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}
