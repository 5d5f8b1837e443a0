package maildir

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// UIDs reads the folder's dovecot-uidlist without locking: a snapshot
// that may miss messages delivered since the last SyncUIDs. A missing file
// gives an empty list with zero Validity.
func (d *Dir) UIDs() (*UIDList, error) {
	u, err := readUIDList(filepath.Join(d.path, UIDListName))
	if errors.Is(err, os.ErrNotExist) {
		return &UIDList{byKey: map[string]int{}}, nil
	}
	return u, err
}

func readUIDList(path string) (*UIDList, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxUIDListSize+1))
	if err != nil {
		return nil, err
	}
	return ParseUIDList(b)
}

// SyncUIDs brings the folder's dovecot-uidlist up to date with msgs, which
// must be a complete Scan of the folder, and returns the new list.
//
// Under the dovecot-uidlist.lock dotlock (see docs/maildir.md) it re-reads
// the file, so UIDs given meanwhile by Dovecot or another process are
// kept; gives each key of msgs that has no UID the next UID, in the order
// of msgs (delivery order); drops the records of keys that are gone; and,
// if anything changed, writes the list to dovecot-uidlist.tmp, fsyncs it,
// renames it over dovecot-uidlist and fsyncs the folder.
//
// A key is only dropped when a second readdir, made under the lock, does
// not see it either: a message renamed during the caller's Scan keeps its
// UID. A missing or corrupt file starts a new list with a new UIDVALIDITY
// (higher than the corrupt one's, if it could be read), as Dovecot does.
func (d *Dir) SyncUIDs(msgs []Message) (*UIDList, error) {
	path := filepath.Join(d.path, UIDListName)
	l, err := d.lock(path)
	if err != nil {
		return nil, err
	}
	u, changed, err := d.syncLocked(path, msgs)
	if err == nil && changed {
		err = d.writeUIDList(path, u)
	}
	if uerr := l.unlock(); err == nil {
		err = uerr
	}
	if err != nil {
		return nil, err
	}
	return u, nil
}

func (d *Dir) syncLocked(path string, msgs []Message) (*UIDList, bool, error) {
	u, err := readUIDList(path)
	changed := false
	switch {
	case err == nil:
	case errors.Is(err, os.ErrNotExist) || errors.Is(err, ErrCorrupt):
		u = &UIDList{Validity: d.newValidity(path), Next: 1, byKey: map[string]int{}}
		changed = true
	default:
		return nil, false, err
	}
	if u.GUID == "" {
		u.GUID = newGUID()
		changed = true
	}
	present := make(map[string]bool, len(msgs))
	for _, m := range msgs {
		present[m.Key] = true
	}
	// Drop records of keys that are gone, after a second look.
	var gone []int
	for i, r := range u.recs {
		if !present[r.Key] {
			gone = append(gone, i)
		}
	}
	if len(gone) > 0 {
		again, err := d.Scan()
		if err != nil {
			return nil, false, err
		}
		still := make(map[string]bool, len(again))
		for _, m := range again {
			still[m.Key] = true
		}
		kept := u.recs[:0]
		for _, r := range u.recs {
			if present[r.Key] || still[r.Key] {
				kept = append(kept, r)
			} else {
				changed = true
			}
		}
		u.recs = kept
		u.reindex()
	}
	for _, m := range msgs {
		if _, ok := u.byKey[m.Key]; ok {
			continue
		}
		if u.Next == 1<<32-1 {
			return nil, false, fmt.Errorf("maildir: %s: UIDs exhausted; remove the file to start a new UIDVALIDITY", path)
		}
		u.add(m.Key)
		changed = true
	}
	return u, changed, nil
}

// newValidity picks a UIDVALIDITY for a new list: the current time in
// seconds (Dovecot's choice too), but always above a previous, corrupt
// list's value so clients notice the change.
func (d *Dir) newValidity(path string) uint32 {
	v := uint32(d.opts.Now().Unix())
	if b, err := os.ReadFile(path); err == nil {
		var old UIDList
		if len(b) > 2 {
			line := string(b)
			if i := strings.IndexByte(line, '\n'); i >= 0 {
				line = line[:i]
			}
			if _, err := old.parseHeader(line); err == nil && old.Validity >= v {
				v = old.Validity + 1
			}
		}
	}
	if v == 0 {
		v = 1
	}
	return v
}

func newGUID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// writeUIDList replaces the file atomically; the caller holds the lock, so
// the fixed temporary name (Dovecot's) is ours alone.
func (d *Dir) writeUIDList(path string, u *UIDList) error {
	return writeFileAtomic(path, path+".tmp", u.Format())
}

// writeFileAtomic writes data to tmp, fsyncs it, renames it to path and
// fsyncs the directory.
func writeFileAtomic(path, tmp string, data []byte) error {
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(filepath.Dir(path))
}
