// Package queue is the durable outgoing mail queue that smtpd hands relay
// mail to and that sendmail fills and runs.
//
// A queue is a directory with Maildir's atomic discipline:
//
//	QUEUE/tmp/   files being written; never read by anyone else
//	QUEUE/msg/ID the message, exactly as it will be sent (LF line ends)
//	QUEUE/env/ID the envelope: sender, recipients with their state, DSN
//	             parameters, attempt history (JSON)
//
// An entry exists when env/ID exists. Enqueue writes both files in tmp/,
// fsyncs them, renames the message into msg/ and then the envelope into
// env/, fsyncing each directory; only then does it return, so an SMTP
// server may answer 250 (RFC 5321 §6.1: accepting a message is taking
// responsibility for it). An envelope is updated by writing a new file in
// tmp/ and renaming it over the old one, so a reader sees either the old
// or the new state, never a mixture. A runner that is killed at any point
// leaves every message either still queued or delivered: delivery is at
// least once, as SMTP is.
//
// Two runners never work on one entry at once: Lock takes an exclusive
// flock(2) on msg/ID, a file that is never replaced while queued.
package queue

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrLocked is returned by Lock when another runner holds the entry.
var ErrLocked = errors.New("queue: entry is locked by another runner")

// ErrGone is returned when an entry no longer exists (delivered and
// removed by another runner meanwhile).
var ErrGone = errors.New("queue: entry is gone")

// State is where one recipient's delivery stands.
type State string

const (
	Pending   State = "pending"   // not yet delivered; will be tried when due
	Delivered State = "delivered" // accepted by the next hop
	Failed    State = "failed"    // permanently refused or expired; bounced
)

// Recipient is one envelope recipient and its delivery state.
type Recipient struct {
	Addr   string `json:"addr"`
	ORCPT  string `json:"orcpt,omitempty"`  // RFC 3461 §4.2 original recipient
	Notify string `json:"notify,omitempty"` // RFC 3461 §4.1: NEVER or SUCCESS,FAILURE,DELAY
	State  State  `json:"state"`
	// Attempts counts delivery attempts; LastError is the last reply or
	// error, as a postmaster wants to see it in mailq.
	Attempts  int       `json:"attempts,omitempty"`
	LastError string    `json:"last_error,omitempty"`
	LastTry   time.Time `json:"last_try,omitzero"`
	// Status is the RFC 3463 status code of the last attempt (e.g. 4.4.1).
	Status string `json:"status,omitempty"`
	// RemoteMTA names the host that gave the last reply, for the DSN.
	RemoteMTA string `json:"remote_mta,omitempty"`
	// Reported is set once a failure has been reported in a DSN, so a
	// crash between queueing the DSN and removing the entry does not
	// report it twice.
	Reported bool `json:"reported,omitempty"`
}

// Envelope is what the queue knows about a message besides its content.
type Envelope struct {
	ID         string      `json:"id"`
	From       string      `json:"from"` // "" is the null reverse-path (a bounce)
	Recipients []Recipient `json:"recipients"`
	RET        string      `json:"ret,omitempty"`   // RFC 3461 §4.3: FULL or HDRS
	EnvID      string      `json:"envid,omitempty"` // RFC 3461 §4.4
	Body       string      `json:"body,omitempty"`  // 7BIT, 8BITMIME or BINARYMIME (RFC 6152)
	SMTPUTF8   bool        `json:"smtputf8,omitempty"`
	Created    time.Time   `json:"created"`
	NextTry    time.Time   `json:"next_try"`
	// WarnSent records that the delay warning has gone out (RFC 3464
	// "delayed" DSN), so it is sent once.
	WarnSent bool `json:"warn_sent,omitempty"`
	// Size is the message's size in octets, for mailq.
	Size int64 `json:"size"`
	// Received describes where the message came from, for logs.
	Received string `json:"received,omitempty"`
}

// Pending returns the recipients still to be delivered.
func (e *Envelope) Pending() []*Recipient {
	var out []*Recipient
	for i := range e.Recipients {
		if e.Recipients[i].State == Pending {
			out = append(out, &e.Recipients[i])
		}
	}
	return out
}

// Queue is one queue directory. Its methods are safe for use by several
// processes at once.
type Queue struct {
	dir      string
	hostname string
	now      func() time.Time
}

// Options configures Open.
type Options struct {
	// Hostname goes into queue IDs to keep them unique across machines
	// sharing a queue directory; default os.Hostname.
	Hostname string
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Open opens (creating if needed, mode 0700) the queue in dir.
func Open(dir string, opts Options) (*Queue, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Hostname == "" {
		opts.Hostname, _ = os.Hostname()
	}
	for _, sub := range []string{"", "tmp", "msg", "env"} {
		p := filepath.Join(dir, sub)
		if err := os.Mkdir(p, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("queue: %w", err)
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return nil, fmt.Errorf("queue: %w", err)
		}
		if !fi.IsDir() {
			return nil, fmt.Errorf("queue: %s is not a directory", p)
		}
		if fi.Mode().Perm()&0o002 != 0 {
			return nil, fmt.Errorf("queue: %s is world-writable", p)
		}
	}
	return &Queue{dir: dir, hostname: sanitizeHost(opts.Hostname), now: opts.Now}, nil
}

// Dir returns the queue directory.
func (q *Queue) Dir() string { return q.dir }

func sanitizeHost(h string) string {
	var b strings.Builder
	for _, r := range h {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "localhost"
	}
	return b.String()
}

// newID returns a unique, sortable queue ID: time, pid, randomness, host.
// IDs sort by enqueue time, which is the order the runner tries them in.
func (q *Queue) newID() string {
	var r [6]byte
	rand.Read(r[:])
	t := q.now()
	return fmt.Sprintf("%d.%06d.P%dR%s.%s", t.Unix(), t.Nanosecond()/1000, os.Getpid(), hex.EncodeToString(r[:]), q.hostname)
}

func validID(id string) bool {
	return id != "" && !strings.ContainsAny(id, "/\x00") && id[0] != '.'
}

// Enqueue stores a message read from r with envelope env and returns the
// entry's ID once both are durable. env.ID, Created, NextTry and Size are
// set by Enqueue; recipients with an empty State are Pending.
func (q *Queue) Enqueue(env Envelope, r io.Reader) (string, error) {
	if len(env.Recipients) == 0 {
		return "", errors.New("queue: no recipients")
	}
	id := q.newID()
	env.ID = id
	env.Created = q.now().UTC()
	env.NextTry = env.Created
	for i := range env.Recipients {
		if env.Recipients[i].State == "" {
			env.Recipients[i].State = Pending
		}
	}
	tmpMsg := filepath.Join(q.dir, "tmp", id+".msg")
	n, err := writeSynced(tmpMsg, r)
	if err != nil {
		return "", err
	}
	env.Size = n
	data, err := json.MarshalIndent(&env, "", "  ")
	if err != nil {
		os.Remove(tmpMsg)
		return "", err
	}
	tmpEnv := filepath.Join(q.dir, "tmp", id+".env")
	if _, err := writeSynced(tmpEnv, strings.NewReader(string(data)+"\n")); err != nil {
		os.Remove(tmpMsg)
		return "", err
	}
	fail := func(err error) (string, error) {
		os.Remove(tmpMsg)
		os.Remove(tmpEnv)
		os.Remove(filepath.Join(q.dir, "msg", id))
		return "", fmt.Errorf("queue: %w", err)
	}
	if err := os.Rename(tmpMsg, filepath.Join(q.dir, "msg", id)); err != nil {
		return fail(err)
	}
	if err := syncDir(filepath.Join(q.dir, "msg")); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmpEnv, filepath.Join(q.dir, "env", id)); err != nil {
		return fail(err)
	}
	if err := syncDir(filepath.Join(q.dir, "env")); err != nil {
		// The entry is in place; whether it survives a crash is unknown,
		// so the caller must not claim responsibility for it. Remove it.
		os.Remove(filepath.Join(q.dir, "env", id))
		return fail(err)
	}
	return id, nil
}

// writeSynced creates path exclusively, copies r into it and fsyncs it.
// On error the file is removed.
func writeSynced(path string, r io.Reader) (int64, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, fmt.Errorf("queue: %w", err)
	}
	n, err := io.Copy(f, r)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return 0, fmt.Errorf("queue: writing %s: %w", filepath.Base(path), err)
	}
	return n, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// List returns every entry's envelope, oldest first. Entries that vanish
// while listing are left out; an envelope that cannot be parsed is
// reported with only its ID and a LastError-like note in Received, so
// mailq shows it rather than hiding it.
func (q *Queue) List() ([]Envelope, error) {
	ids, err := q.ids()
	if err != nil {
		return nil, err
	}
	out := make([]Envelope, 0, len(ids))
	for _, id := range ids {
		env, err := q.read(id)
		if errors.Is(err, ErrGone) {
			continue
		}
		if err != nil {
			out = append(out, Envelope{ID: id, Received: "unreadable envelope: " + err.Error()})
			continue
		}
		out = append(out, *env)
	}
	return out, nil
}

// ids lists the entries in env/, sorted by enqueue time.
func (q *Queue) ids() ([]string, error) {
	d, err := os.Open(filepath.Join(q.dir, "env"))
	if err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	ids := names[:0]
	for _, n := range names {
		if validID(n) {
			ids = append(ids, n)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return idLess(ids[i], ids[j]) })
	return ids, nil
}

// idLess orders IDs by their time prefix, then lexically.
func idLess(a, b string) bool {
	sa, _, _ := strings.Cut(a, ".")
	sb, _, _ := strings.Cut(b, ".")
	na, ea := strconv.ParseInt(sa, 10, 64)
	nb, eb := strconv.ParseInt(sb, 10, 64)
	if ea == nil && eb == nil && na != nb {
		return na < nb
	}
	return a < b
}

func (q *Queue) read(id string) (*Envelope, error) {
	if !validID(id) {
		return nil, fmt.Errorf("queue: bad id %q", id)
	}
	b, err := os.ReadFile(filepath.Join(q.dir, "env", id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrGone
	}
	if err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	var env Envelope
	if err := json.Unmarshal(b, &env); err != nil {
		return nil, fmt.Errorf("queue: envelope %s: %w", id, err)
	}
	env.ID = id
	return &env, nil
}

// Entry is a locked queue entry. Only the holder may change or remove it.
type Entry struct {
	Env  *Envelope
	q    *Queue
	lock *os.File
}

// Lock takes the entry with the given ID for delivery. It returns
// ErrLocked when another runner has it and ErrGone when it was removed.
func (q *Queue) Lock(id string) (*Entry, error) {
	if !validID(id) {
		return nil, fmt.Errorf("queue: bad id %q", id)
	}
	f, err := os.Open(filepath.Join(q.dir, "msg", id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrGone
	}
	if err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, ErrLocked
		}
		return nil, fmt.Errorf("queue: lock %s: %w", id, err)
	}
	// Re-read the envelope under the lock: the previous holder may have
	// updated or removed it after we listed it.
	env, err := q.read(id)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &Entry{Env: env, q: q, lock: f}, nil
}

// Message opens the entry's content for reading from the start.
func (e *Entry) Message() (*io.SectionReader, error) {
	fi, err := e.lock.Stat()
	if err != nil {
		return nil, err
	}
	return io.NewSectionReader(e.lock, 0, fi.Size()), nil
}

// Save durably replaces the entry's envelope with e.Env.
func (e *Entry) Save() error {
	data, err := json.MarshalIndent(e.Env, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(e.q.dir, "tmp", e.Env.ID+".env."+strconv.FormatInt(e.q.now().UnixNano(), 36))
	if _, err := writeSynced(tmp, strings.NewReader(string(data)+"\n")); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(e.q.dir, "env", e.Env.ID)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("queue: %w", err)
	}
	return syncDir(filepath.Join(e.q.dir, "env"))
}

// Remove deletes the entry: envelope first (so it stops being an entry),
// then the message. It keeps the lock until Close.
func (e *Entry) Remove() error {
	if err := os.Remove(filepath.Join(e.q.dir, "env", e.Env.ID)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("queue: %w", err)
	}
	if err := syncDir(filepath.Join(e.q.dir, "env")); err != nil {
		return fmt.Errorf("queue: %w", err)
	}
	if err := os.Remove(filepath.Join(e.q.dir, "msg", e.Env.ID)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("queue: %w", err)
	}
	return nil
}

// Close releases the lock.
func (e *Entry) Close() error { return e.lock.Close() }

// CleanTmp removes files in tmp/ older than age: leftovers of writers
// that crashed before renaming. It returns how many it removed.
func (q *Queue) CleanTmp(age time.Duration) (int, error) {
	entries, err := os.ReadDir(filepath.Join(q.dir, "tmp"))
	if err != nil {
		return 0, fmt.Errorf("queue: %w", err)
	}
	n := 0
	for _, de := range entries {
		fi, err := de.Info()
		if err != nil {
			continue
		}
		if q.now().Sub(fi.ModTime()) > age && os.Remove(filepath.Join(q.dir, "tmp", de.Name())) == nil {
			n++
		}
	}
	// A message without an envelope is also a leftover of a crash
	// between the two renames of Enqueue; it was never acknowledged.
	msgs, err := os.ReadDir(filepath.Join(q.dir, "msg"))
	if err != nil {
		return n, fmt.Errorf("queue: %w", err)
	}
	for _, de := range msgs {
		if _, err := os.Stat(filepath.Join(q.dir, "env", de.Name())); errors.Is(err, fs.ErrNotExist) {
			fi, err := de.Info()
			if err == nil && q.now().Sub(fi.ModTime()) > age && os.Remove(filepath.Join(q.dir, "msg", de.Name())) == nil {
				n++
			}
		}
	}
	return n, nil
}
