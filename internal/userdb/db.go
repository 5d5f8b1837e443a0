package userdb

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
)

// DB is a users file, safe for concurrent use. Every call checks whether
// the file changed (inode, size, modification and change times) and
// re-reads it if so, so edits take effect without a restart. A file that
// became unreadable or invalid makes calls fail with ErrConfig (naming
// file:line) until it is fixed: lookups must not silently use a stale
// list in which a removed user still exists.
type DB struct {
	path string
	// verifySlots bounds concurrent hash checks: argon2 takes tens of
	// MiB each, and a flood of logins must not exhaust memory.
	verifySlots chan struct{}

	mu    sync.Mutex
	stamp fileID
	data  *snapshot
	err   error
}

// snapshot is one parse of the file.
type snapshot struct {
	users   []User
	byKey   map[string]int   // key(name) -> index
	byFold  map[string][]int // lower-cased name -> indexes
	domains map[string]bool
	dummy   string // a real hash from the file, for unknown users
}

type fileID struct {
	dev, ino     uint64
	size         int64
	mtime, ctime time.Time
}

// Open reads the users file at path. The file must not be writable by
// everyone (anybody could add a user); keep it 0640 root:mail or so:
// it holds password hashes.
func Open(path string) (*DB, error) {
	db := &DB{path: path, verifySlots: make(chan struct{}, max(2, runtime.GOMAXPROCS(0)))}
	if _, err := db.snapshot(); err != nil {
		return nil, err
	}
	return db, nil
}

// Path returns the file's path.
func (db *DB) Path() string { return db.path }

func statID(path string) (fileID, fs.FileInfo, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileID{}, nil, err
	}
	id := fileID{size: fi.Size(), mtime: fi.ModTime()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		id.dev, id.ino = uint64(st.Dev), st.Ino
		id.ctime = time.Unix(st.Ctim.Sec, st.Ctim.Nsec)
	}
	return id, fi, nil
}

// snapshot returns the current parse, re-reading the file if it changed.
func (db *DB) snapshot() (*snapshot, error) {
	id, fi, err := statID(db.path)
	db.mu.Lock()
	defer db.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	if (db.data != nil || db.err != nil) && id == db.stamp {
		return db.data, db.err
	}
	db.stamp = id
	db.data, db.err = load(db.path, fi)
	return db.data, db.err
}

func load(path string, fi fs.FileInfo) (*snapshot, error) {
	if fi.Mode().Perm()&0o002 != 0 {
		return nil, fmt.Errorf("%w: %s is writable by everyone; chmod o-w it", ErrConfig, path)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file", ErrConfig, path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	defer f.Close()
	users, err := Parse(f, path)
	if err != nil {
		if errors.Is(err, ErrConfig) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	s := &snapshot{users: users, byKey: map[string]int{}, byFold: map[string][]int{}, domains: map[string]bool{}}
	for i, u := range users {
		s.byKey[key(u.Name)] = i
		fold := strings.ToLower(u.Name)
		s.byFold[fold] = append(s.byFold[fold], i)
		if d := u.Domain(); d != "" {
			s.domains[d] = true
		}
		if s.dummy == "" && Supported(u.Password) {
			s.dummy = u.Password
		}
	}
	return s, nil
}

// Lookup finds a user by name: "name" or "name@domain", the domain
// without regard to case. The local part is matched exactly first, then
// without case when that names exactly one user (QUIRK: RFC 5321 §2.4
// lets the destination treat local parts case-sensitively; Dovecot folds
// logins to lower case by default, and people type their addresses with
// capitals, so we accept the unambiguous folded match).
//
// "name@domain" falls back to a line for bare "name": a single-domain
// file may list users without domains. The caller must first decide
// that the domain is one of ours (IsLocalDomain, or its own host names).
//
// The User is a copy; the caller may keep it. Errors: ErrNoUser, or
// ErrConfig when the file is broken.
func (db *DB) Lookup(name string) (*User, error) {
	s, err := db.snapshot()
	if err != nil {
		return nil, err
	}
	if u := s.find(name); u != nil {
		c := *u
		return &c, nil
	}
	return nil, ErrNoUser
}

func (s *snapshot) find(name string) *User {
	if name == "" {
		return nil
	}
	if i, ok := s.byKey[key(name)]; ok {
		return &s.users[i]
	}
	if is := s.byFold[strings.ToLower(name)]; len(is) == 1 {
		return &s.users[is[0]]
	}
	if l, d, ok := strings.Cut(name, "@"); ok && l != "" && d != "" && !strings.Contains(d, "@") {
		if i, ok := s.byKey[l]; ok {
			return &s.users[i]
		}
		if is := s.byFold[strings.ToLower(l)]; len(is) == 1 && !strings.Contains(s.users[is[0]].Name, "@") {
			return &s.users[is[0]]
		}
	}
	return nil
}

// IsLocalDomain reports whether any user's name is in domain (compared
// without case). A broken file gives false.
func (db *DB) IsLocalDomain(domain string) bool {
	s, err := db.snapshot()
	if err != nil {
		return false
	}
	return s.domains[strings.ToLower(strings.TrimSuffix(domain, "."))]
}

// Users returns a copy of every user, in file order (for VRFY and EXPN
// matching, and for tools).
func (db *DB) Users() ([]User, error) {
	s, err := db.snapshot()
	if err != nil {
		return nil, err
	}
	out := make([]User, len(s.users))
	copy(out, s.users)
	return out, nil
}

// Authenticate checks name's password. It returns the user, or an error
// matching ErrAuth (unknown user, wrong password, no password, a
// "nologin" extra field, a locked "!" hash), ErrConfig (the hash cannot
// be checked: unknown scheme, malformed hash; the postmaster must fix
// the file), or ctx's error while waiting for a free hashing slot.
//
// An unknown user costs the same as a known one: the password is checked
// against another user's hash and the result thrown away, so timing does
// not tell which names exist. Comparisons are constant-time.
func (db *DB) Authenticate(ctx context.Context, name, password string) (*User, error) {
	s, err := db.snapshot()
	if err != nil {
		return nil, err
	}
	select {
	case db.verifySlots <- struct{}{}:
		defer func() { <-db.verifySlots }()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	u := s.find(name)
	if u == nil {
		if s.dummy != "" {
			Verify(s.dummy, password)
		}
		return nil, fmt.Errorf("%w: no such user", ErrAuth)
	}
	if u.Password == "" {
		if s.dummy != "" {
			Verify(s.dummy, password)
		}
		return nil, fmt.Errorf("%w: user %s has no password", ErrAuth, u.Name)
	}
	ok, err := Verify(u.Password, password)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: user %s: %w", ErrConfig, db.path, u.Name, err)
	}
	if !ok {
		return nil, fmt.Errorf("%w: wrong password for %s", ErrAuth, u.Name)
	}
	if _, no := u.Extra["nologin"]; no {
		return nil, fmt.Errorf("%w: user %s has nologin", ErrAuth, u.Name)
	}
	c := *u
	return &c, nil
}
