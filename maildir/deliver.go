package maildir

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// DeliverOptions change how DeliverWith stores a message.
type DeliverOptions struct {
	// Time is the delivery time written into the unique name and set as
	// the file's modification time (which Dovecot reports as the IMAP
	// INTERNALDATE). Zero means now. IMAP APPEND with a date sets it.
	//
	// A past Time is set only once the message is in new/ or cur/: in
	// tmp/ an old modification time marks a crashed delivery, and a
	// concurrent CleanTmp would remove the file mid-delivery.
	Time time.Time
	// Cur stores the message in cur/ with Flags instead of in new/ (IMAP
	// APPEND with flags, copying between folders).
	Cur bool
	// Flags are the info flags for a message stored in cur/.
	Flags string
	// MaxSize, when positive, is the largest message (bytes stored, LF line
	// ends) accepted; a bigger one gives ErrTooBig and stores nothing.
	MaxSize int64

	// Test hooks. link replaces link(2) (file systems without hard
	// links); beforePublish runs once the message is in tmp/, just before
	// it is moved or linked out of it.
	link          func(oldname, newname string) error
	beforePublish func(tmp string)
}

// Deliver stores r as one new message in new/ and returns only once the
// message is durable.
//
// The sequence is the one of qmail and the Maildir spec, plus Dovecot's
// sizes: create tmp/<unique> with O_EXCL (mode 0600), copy r into it with
// CRLF line ends turned into LF, fsync it, rename it to
// new/<unique>,S=<size>,W=<crlf size>, and fsync new/. The unique name is
// <sec>.M<usec>P<pid>Q<seq>R<random>.<host>.
//
// On any error nothing is left in new/ or tmp/. A crash (power loss, kill)
// may leave a file in tmp/, which CleanTmp removes later; a file in new/ is
// always complete.
func (d *Dir) Deliver(r io.Reader) (Message, error) {
	return d.DeliverWith(r, DeliverOptions{})
}

// DeliverWith is Deliver with options.
func (d *Dir) DeliverWith(r io.Reader, o DeliverOptions) (Message, error) {
	t, err := d.writeTmp(r, o)
	if err != nil {
		return Message{}, err
	}
	m := t.message(o)
	if o.beforePublish != nil {
		o.beforePublish(t.path)
	}
	if err := d.publish(t.path, m, o.Time); err != nil {
		os.Remove(t.path)
		return Message{}, err
	}
	return m, nil
}

// DeliverMany stores one copy of r in each of dirs (the recipients of one
// SMTP transaction). The content is written and fsynced once, then
// hard-linked into every dir's new/ (copied, and fsynced, where a link
// crosses file systems or the file system has no hard links), and each
// new/ is fsynced. It is all-or-nothing:
// on failure, the messages already linked are removed again. The
// messages returned are in the order of dirs. dirs must be distinct
// Maildirs (dedupe recipients first): the same Maildir twice fails and
// stores nothing.
func DeliverMany(r io.Reader, dirs []*Dir) ([]Message, error) {
	return DeliverManyWith(r, dirs, DeliverOptions{})
}

// DeliverManyWith is DeliverMany with options.
func DeliverManyWith(r io.Reader, dirs []*Dir, o DeliverOptions) ([]Message, error) {
	if len(dirs) == 0 {
		return nil, nil
	}
	first := dirs[0]
	t, err := first.writeTmp(r, o)
	if err != nil {
		return nil, err
	}
	defer os.Remove(t.path)
	m := t.message(o)
	if o.beforePublish != nil {
		o.beforePublish(t.path)
	}
	linkFn := o.link
	if linkFn == nil {
		linkFn = os.Link
	}
	msgs := make([]Message, 0, len(dirs))
	var done []string // paths linked so far, for the rollback
	copied := map[string]bool{}
	rollback := func() {
		for _, p := range done {
			os.Remove(p)
		}
	}
	for _, d := range dirs {
		// The shared tmp file is only ever linked, never renamed: every
		// directory after this one still needs it.
		dst := d.MessagePath(m)
		err := linkFn(t.path, dst)
		if noLink(err) {
			err = d.copyInto(t.path, dst, linkFn)
			copied[dst] = true
		}
		if err != nil {
			rollback()
			return nil, fmt.Errorf("maildir: deliver to %s: %w", d.path, err)
		}
		done = append(done, dst)
		msgs = append(msgs, m)
	}
	// Out of tmp/ now, the copies get the delivery time and every file
	// the APPEND date (see DeliverOptions.Time).
	for _, p := range done {
		if !o.Time.IsZero() || copied[p] {
			if err := setTime(p, t.mtime); err != nil {
				rollback()
				return nil, err
			}
		}
	}
	synced := map[string]bool{}
	for _, d := range dirs {
		sub := filepath.Join(d.path, m.Subdir)
		if synced[sub] {
			continue
		}
		if err := syncDir(sub); err != nil {
			rollback()
			return nil, err
		}
		synced[sub] = true
	}
	return msgs, nil
}

// tmpFile is a message written and fsynced in tmp/.
type tmpFile struct {
	path       string
	base       string // unique name without sizes
	size, crlf int64
	mtime      time.Time
}

func (t tmpFile) message(o DeliverOptions) Message {
	key := t.base + ",S=" + strconv.FormatInt(t.size, 10) + ",W=" + strconv.FormatInt(t.crlf, 10)
	m := Message{Key: key, Subdir: SubNew, Name: key, Size: t.size, CRLFSize: t.crlf, Time: t.mtime}
	if o.Cur {
		m.Subdir, m.Flags = SubCur, NormalizeFlags(o.Flags)
		m.Name = FormatName(key, m.Flags)
	}
	// Time as ParseName will read it back: microseconds.
	m.Time = time.Unix(t.mtime.Unix(), int64(t.mtime.Nanosecond()/1000)*1000)
	return m
}

// uniqueBase returns <sec>.M<usec>P<pid>Q<seq>R<random>.<host>.
func (d *Dir) uniqueBase(t time.Time) string {
	b := make([]byte, 0, 64+len(d.host))
	b = strconv.AppendInt(b, t.Unix(), 10)
	b = append(b, ".M"...)
	b = strconv.AppendInt(b, int64(t.Nanosecond()/1000), 10)
	b = append(b, 'P')
	b = strconv.AppendInt(b, int64(d.opts.Pid), 10)
	b = append(b, 'Q')
	b = strconv.AppendUint(b, d.seq.Add(1), 10)
	b = append(b, 'R')
	r := rand.Uint64()
	const hex = "0123456789abcdef"
	for i := 60; i >= 0; i -= 4 {
		b = append(b, hex[(r>>uint(i))&0xf])
	}
	b = append(b, '.')
	b = append(b, d.host...)
	return string(b)
}

// writeTmp creates tmp/<unique>, copies r into it with LF line ends,
// counts the sizes and fsyncs it. On error the file is removed.
func (d *Dir) writeTmp(r io.Reader, o DeliverOptions) (tmpFile, error) {
	t := tmpFile{mtime: o.Time}
	if t.mtime.IsZero() {
		t.mtime = d.opts.Now()
	}
	// Plain system calls rather than os.OpenFile/os.File: no poller
	// registration, no fcntl dance; about eight fewer syscalls a delivery.
	fd := -1
	var err error
	for range 10 {
		t.base = d.uniqueBase(t.mtime)
		t.path = filepath.Join(d.path, SubTmp, t.base)
		fd, err = syscall.Open(t.path, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_EXCL|syscall.O_CLOEXEC, 0o600)
		if err != syscall.EEXIST && err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return t, &os.PathError{Op: "open", Path: t.path, Err: err}
	}
	fail := func(err error) (tmpFile, error) {
		syscall.Close(fd)
		os.Remove(t.path)
		return t, err
	}
	bp := d.bufs.Get().(*[]byte)
	defer d.bufs.Put(bp)
	t.size, t.crlf, err = copyLF(fdWriter(fd), r, *bp, o.MaxSize)
	if err != nil {
		return fail(err)
	}
	if err := fsync(fd); err != nil {
		return fail(&os.PathError{Op: "fsync", Path: t.path, Err: err})
	}
	if err := syscall.Close(fd); err != nil {
		os.Remove(t.path)
		return t, &os.PathError{Op: "close", Path: t.path, Err: err}
	}
	return t, nil
}

// fdWriter writes to a file descriptor with write(2), retrying short
// writes and EINTR.
type fdWriter int

// Write writes all of b.
func (w fdWriter) Write(b []byte) (int, error) {
	n := 0
	for n < len(b) {
		k, err := syscall.Write(int(w), b[n:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return n, err
		}
		n += k
	}
	return n, nil
}

func fsync(fd int) error {
	for {
		err := syscall.Fsync(fd)
		if err != syscall.EINTR {
			return err
		}
	}
}

// publish renames the tmp file to its place in new/ or cur/ and fsyncs
// that directory. rename(2) is one system call where link+unlink are two
// and dirty tmp/ once more; it could replace an existing file of the same
// name, but that name carries our pid, a per-Dir sequence number and 64
// random bits, and was created with O_EXCL in tmp/, so it cannot exist.
// (Dovecot moves messages from tmp/ with rename(2) too.) A non-zero
// mtime is set once the file has left tmp/ (see DeliverOptions.Time). On
// error nothing is left in new/ or cur/.
func (d *Dir) publish(tmp string, m Message, mtime time.Time) error {
	dst := d.MessagePath(m)
	if err := syscall.Rename(tmp, dst); err != nil {
		return &os.LinkError{Op: "rename", Old: tmp, New: dst, Err: err}
	}
	if !mtime.IsZero() {
		if err := setTime(dst, mtime); err != nil {
			os.Remove(dst)
			return err
		}
	}
	if err := syncDir(filepath.Join(d.path, m.Subdir)); err != nil {
		os.Remove(dst)
		return err
	}
	return nil
}

// setTime sets path's access and modification times to t and fsyncs the
// file, so that the time is as durable as the content.
func setTime(path string, t time.Time) error {
	if err := os.Chtimes(path, t, t); err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// noLink reports whether err is a link(2) failure that a copy avoids: a
// link across file systems (EXDEV), or a file system without hard links
// (EPERM, ENOTSUP/EOPNOTSUPP: FAT, some FUSE and network file systems).
func noLink(err error) bool {
	var le *os.LinkError
	if !errors.As(err, &le) {
		return false
	}
	return errors.Is(le.Err, syscall.EXDEV) || errors.Is(le.Err, syscall.EPERM) ||
		errors.Is(le.Err, syscall.ENOTSUP) || errors.Is(le.Err, syscall.EOPNOTSUPP)
}

// linkPrivate makes dst a name of src, a file nobody else uses, without
// ever replacing an existing dst (link(2) fails with EEXIST where
// rename(2) would clobber). Where the file system has no hard links it
// falls back to rename after checking that dst does not exist; the
// caller's removal of src then finds nothing, which is fine.
func linkPrivate(src, dst string, linkFn func(oldname, newname string) error) error {
	err := linkFn(src, dst)
	if err == nil || !noLink(err) {
		return err
	}
	if _, serr := os.Lstat(dst); serr == nil {
		return err
	}
	return os.Rename(src, dst)
}

// copyInto copies the tmp file src into d (another file system, or one
// without hard links) through d's own tmp/, fsyncs it and moves it to
// dst.
func (d *Dir) copyInto(src, dst string, linkFn func(oldname, newname string) error) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := filepath.Join(d.path, SubTmp, filepath.Base(dst)+".copy")
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return linkPrivate(tmp, dst, linkFn)
}

// copyLF copies r to w, turning every CRLF into LF (RFC 5322 §2.3 line
// ends are CRLF on the wire; Maildir stores the local LF convention). It
// returns the bytes written and the size the message has with CRLF line
// ends (written + number of LFs): Dovecot's W= "virtual size". A bare CR
// is kept as it is. With max > 0, more than max bytes written gives
// ErrTooBig.
func copyLF(w io.Writer, r io.Reader, buf []byte, max int64) (size, crlf int64, err error) {
	pendingCR := false // a CR ended the previous chunk
	emit := func(b []byte) error {
		size += int64(len(b))
		crlf += int64(len(b))
		if max > 0 && size > max {
			return ErrTooBig
		}
		return writeAll(w, b)
	}
	for {
		n, rerr := r.Read(buf)
		if n > 0 {
			if pendingCR {
				pendingCR = false
				if buf[0] != '\n' {
					if err := emit([]byte{'\r'}); err != nil {
						return size, crlf, err
					}
				}
			}
			// Compact in place; the write index never passes the read index.
			out := buf[:0]
			for i := 0; i < n; i++ {
				c := buf[i]
				if c == '\r' {
					if i+1 == n {
						pendingCR = true
						continue
					}
					if buf[i+1] == '\n' {
						continue // the CR of a CRLF
					}
				}
				if c == '\n' {
					crlf++ // it counts as CRLF in the virtual size
				}
				out = append(out, c)
			}
			if err := emit(out); err != nil {
				return size, crlf, err
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return size, crlf, rerr
		}
	}
	if pendingCR {
		if err := emit([]byte{'\r'}); err != nil {
			return size, crlf, err
		}
	}
	return size, crlf, nil
}

func writeAll(w io.Writer, b []byte) error {
	if len(b) == 0 {
		return nil
	}
	_, err := w.Write(b)
	return err
}
