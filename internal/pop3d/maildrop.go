package pop3d

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"

	"mailtk/internal/pop3"
	"mailtk/maildir"
)

// LockName is the file in the Maildir's top directory that a POP3
// session holds an exclusive flock(2) on, so that a second session on the
// same maildrop gets -ERR [IN-USE] (RFC 2449 §8.1.1). The lock is released
// by the kernel when the process ends, so a crash never leaves a stale
// lock behind. It is not a Maildir++ folder (those are directories whose
// names start with a dot) and Dovecot and mblaze ignore it.
const LockName = "mailtk-pop3d.lock"

// Maildrop is a pop3.Maildrop over a Maildir: a snapshot of new/ and
// cur/ taken at login, in delivery order.
type Maildrop struct {
	dir  *maildir.Dir
	lock *os.File
	msgs []maildir.Message
	info []pop3.MessageInfo
	log  *slog.Logger
}

// OpenMaildrop opens (creating it if missing) the Maildir at path, takes
// the session lock and the snapshot. A held lock is pop3.ErrInUse.
func OpenMaildrop(path string, log *slog.Logger) (*Maildrop, error) {
	d, err := maildir.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		// A user who never got mail has no Maildir yet; Dovecot creates
		// it at login too.
		d, err = maildir.Create(path)
	}
	if err != nil {
		return nil, &pop3.Error{Code: pop3.CodeSysPerm, Text: "Mailbox unavailable", Err: err}
	}
	lock, err := takeLock(filepath.Join(path, LockName))
	if err != nil {
		return nil, err
	}
	md := &Maildrop{dir: d, lock: lock, log: log}
	if err := md.snapshot(); err != nil {
		lock.Close()
		return nil, &pop3.Error{Code: pop3.CodeSysTemp, Text: "Cannot read the mailbox, try again later", Err: err}
	}
	// qmail-pop3d cleans tmp/ at login: files older than 36 hours are
	// left over from crashed deliveries.
	if n, err := d.CleanTmp(0); err != nil {
		log.Warn("clean tmp", "maildir", path, "err", err)
	} else if n > 0 {
		log.Info("removed stale tmp files", "maildir", path, "count", n)
	}
	return md, nil
}

// takeLock opens the lock file (never following a symlink) and locks it
// without waiting.
func takeLock(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, &pop3.Error{Code: pop3.CodeSysPerm, Text: "Mailbox unavailable", Err: err}
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		if err == syscall.EWOULDBLOCK {
			return nil, pop3.ErrInUse
		}
		return nil, &pop3.Error{Code: pop3.CodeSysTemp, Text: "Cannot lock the mailbox, try again later", Err: err}
	}
	return f, nil
}

// snapshot scans the Maildir. Sizes come from W= in the names; a message
// without one is read once to count its CRLF size exactly (RFC 1939 §5:
// sizes are exact octet counts as sent).
func (m *Maildrop) snapshot() error {
	msgs, err := m.dir.Scan()
	if err != nil {
		return err
	}
	m.msgs = msgs[:0]
	m.info = make([]pop3.MessageInfo, 0, len(msgs))
	for _, msg := range msgs {
		size := msg.CRLFSize
		if size < 0 {
			size, err = m.countSize(msg)
			if errors.Is(err, maildir.ErrGone) {
				continue
			}
			if err != nil {
				return err
			}
		}
		m.msgs = append(m.msgs, msg)
		m.info = append(m.info, pop3.MessageInfo{
			UID:  msg.Key,
			Size: size,
			Seen: maildir.HasFlag(msg.Flags, maildir.FlagSeen),
		})
	}
	return nil
}

func (m *Maildrop) countSize(msg maildir.Message) (int64, error) {
	f, err := m.dir.Open(msg)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return pop3.CRLFSize(f)
}

// Messages returns the snapshot.
func (m *Maildrop) Messages() []pop3.MessageInfo { return m.info }

// Open opens message i, following it if another process renamed it.
func (m *Maildrop) Open(i int) (io.ReadCloser, error) {
	f, err := m.dir.Open(m.msgs[i])
	if errors.Is(err, maildir.ErrGone) {
		return nil, pop3.ErrGone
	}
	return f, err
}

// Commit removes the deleted messages and moves the retrieved ones to
// cur/ with the S (seen) flag. Messages another process removed meanwhile
// are skipped. Only a failure to remove a message is an error (RFC 1939
// §6: "some deleted messages not removed"); a failure to set a flag is
// logged.
func (m *Maildrop) Commit(deleted, retrieved []int) error {
	var failed int
	var first error
	for _, i := range deleted {
		err := m.dir.Remove(m.msgs[i])
		if err != nil && !errors.Is(err, maildir.ErrGone) {
			failed++
			if first == nil {
				first = err
			}
		}
	}
	for _, i := range retrieved {
		msg := m.msgs[i]
		if msg.Subdir == maildir.SubCur && maildir.HasFlag(msg.Flags, maildir.FlagSeen) {
			continue
		}
		if _, err := m.dir.AddFlags(msg, string(maildir.FlagSeen), ""); err != nil && !errors.Is(err, maildir.ErrGone) {
			m.log.Warn("mark seen", "key", msg.Key, "err", err)
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d deleted messages not removed: %w", failed, first)
	}
	return nil
}

// Close releases the session lock.
func (m *Maildrop) Close() error {
	if m.lock == nil {
		return nil
	}
	err := m.lock.Close()
	m.lock = nil
	return err
}
