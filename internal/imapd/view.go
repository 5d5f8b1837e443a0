package imapd

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/emersion/go-imap/v2"

	"mailtk/maildir"
)

// The selected mailbox.
//
// Each session keeps its own view of the selected folder: the messages it
// has announced, in sequence-number order (ascending UID), with the flags
// it last reported. Other sessions, other imapd processes, Dovecot, pop3d
// and smtpd change the folder on disk; refresh compares the disk with the
// view and reports the difference the way RFC 3501 §7.4.1 and §5.2
// require: EXPUNGE only when the command allows it, EXISTS for new mail,
// FETCH FLAGS for flag changes. Comparing with the disk (rather than
// passing events between sessions of one process) makes sessions of one
// process and of different processes behave the same.

// entry is one message of the view.
type entry struct {
	uid    imap.UID
	msg    maildir.Message
	recent bool
	gone   bool  // deleted on disk; EXPUNGE not yet reported
	size   int64 // RFC822.SIZE when the name has no W= (0: not known yet)
}

// stamp identifies the state of a directory cheaply (RFC 3501 §5.2 polls
// must not cost a readdir each).
type stamp struct {
	mtime, ctime syscall.Timespec
	ino, size    uint64
	unsure       bool // taken within the file system's timestamp granularity
}

func dirStamp(path string, now time.Time) stamp {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return stamp{unsure: true}
	}
	s := stamp{mtime: st.Mtim, ctime: st.Ctim, ino: st.Ino, size: uint64(st.Size)}
	// A change in the same clock tick as our readdir would leave the
	// mtime unchanged: distrust a stamp younger than two seconds.
	if now.Sub(time.Unix(st.Mtim.Unix())) < 2*time.Second {
		s.unsure = true
	}
	return s
}

// updates is what refresh writes to; *imapserver.UpdateWriter has it.
type updates interface {
	WriteExpunge(seqNum uint32) error
	WriteNumMessages(n uint32) error
	WriteNumRecent(n uint32) error
	WriteMailboxFlags(flags []imap.Flag) error
	WriteMessageFlags(seqNum uint32, uid imap.UID, flags []imap.Flag) error
}

type mailbox struct {
	name     string
	dir      *maildir.Dir
	readOnly bool
	validity uint32
	next     imap.UID
	kw       []string
	kwStamp  stamp
	list     []*entry          // sequence order
	byKey    map[string]*entry // built on first use (see keys)
	stamps   [2]stamp          // new/, cur/
	now      func() time.Time

	searchRes imap.UIDSet
	cache     *headerCache
}

var errValidityChanged = errors.New("UIDVALIDITY changed")

// openMailbox scans the folder and assigns UIDs. Unless readOnly, messages
// in new/ move to cur/ and are \Recent in this session (RFC 3501 §2.3.2:
// recent for the first session to see them).
func openMailbox(name string, dir *maildir.Dir, readOnly bool, now func() time.Time) (*mailbox, error) {
	mb := &mailbox{name: name, dir: dir, readOnly: readOnly, now: now}
	mb.stamps = mb.takeStamps()
	st, sure := folderStamps(dir.Path(), now())
	if !sure || !loadSnapshot(mb, st) {
		if err := mb.load(); err != nil {
			return nil, err
		}
		// Save the view for the next session if the folder has been
		// quiet (and we changed nothing while loading).
		if st2, sure2 := folderStamps(dir.Path(), now()); sure2 && st2 == st {
			saveSnapshot(mb, st)
		}
	}
	if err := mb.loadKeywords(); err != nil {
		return nil, err
	}
	mb.cache = openHeaderCache(dir.Path())
	return mb, nil
}

// load builds the view from a full look at the folder.
func (mb *mailbox) load() error {
	msgs, recent, err := mb.scan()
	if err != nil {
		return err
	}
	ul, err := uidsFor(mb.dir, msgs)
	if err != nil {
		return err
	}
	mb.validity = ul.Validity
	mb.next = imap.UID(ul.Next)
	mb.byKey = make(map[string]*entry, len(msgs))
	mb.list = make([]*entry, 0, len(msgs))
	entries := make([]entry, len(msgs))
	for i, m := range msgs {
		uid, ok := ul.UID(m.Key)
		if !ok {
			continue // delivered after the sync; the next poll finds it
		}
		e := &entries[i]
		*e = entry{uid: imap.UID(uid), msg: m, recent: recent[m.Key]}
		mb.list = append(mb.list, e)
		mb.byKey[m.Key] = e
	}
	sort.Slice(mb.list, func(i, j int) bool { return mb.list[i].uid < mb.list[j].uid })
	return nil
}

// uidsFor returns a UID list that numbers every message of msgs: the
// current list read without locking when it already does (the common
// case), else the list after SyncUIDs has numbered the new ones.
func uidsFor(dir *maildir.Dir, msgs []maildir.Message) (*maildir.UIDList, error) {
	if ul, err := dir.UIDs(); err == nil && ul.Validity != 0 {
		all := true
		for _, m := range msgs {
			if _, ok := ul.UID(m.Key); !ok {
				all = false
				break
			}
		}
		if all {
			return ul, nil
		}
	}
	return dir.SyncUIDs(msgs)
}

func (mb *mailbox) takeStamps() [2]stamp {
	now := mb.now()
	return [2]stamp{
		dirStamp(filepath.Join(mb.dir.Path(), maildir.SubNew), now),
		dirStamp(filepath.Join(mb.dir.Path(), maildir.SubCur), now),
	}
}

// keys indexes the view by message key, building the index the first
// time it is needed (a SELECT from the snapshot does not need it).
func (mb *mailbox) keys() map[string]*entry {
	if mb.byKey == nil {
		mb.byKey = make(map[string]*entry, len(mb.list))
		for _, e := range mb.list {
			mb.byKey[e.msg.Key] = e
		}
	}
	return mb.byKey
}

// scan reads the folder; unless read-only, it moves new/ to cur/ first
// and reports which keys it moved (they are \Recent for this session).
func (mb *mailbox) scan() ([]maildir.Message, map[string]bool, error) {
	msgs, err := mb.dir.Scan()
	if err != nil {
		return nil, nil, err
	}
	recent := map[string]bool{}
	for i, m := range msgs {
		if m.Subdir != maildir.SubNew {
			continue
		}
		if mb.readOnly {
			if _, known := mb.keys()[m.Key]; !known {
				recent[m.Key] = true
			}
			continue
		}
		nm, err := mb.dir.SetFlags(m, m.Flags)
		if err != nil {
			continue // gone or moved by another session, which owns \Recent
		}
		msgs[i] = nm
		recent[m.Key] = true
	}
	return msgs, recent, nil
}

func (mb *mailbox) loadKeywords() error {
	kw, err := readKeywords(mb.dir)
	if err != nil {
		return err
	}
	mb.kw = kw
	mb.kwStamp = fileStamp(keywordsPath(mb.dir))
	return nil
}

func fileStamp(path string) stamp {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return stamp{}
	}
	return stamp{mtime: st.Mtim, ctime: st.Ctim, ino: st.Ino, size: uint64(st.Size)}
}

// changed reports whether the folder may have changed since the last look.
func (mb *mailbox) changed() bool {
	old := mb.stamps
	if old[0].unsure || old[1].unsure {
		return true
	}
	cur := mb.takeStamps()
	return cur[0] != old[0] || cur[1] != old[1]
}

// refresh brings the view up to date with the disk and writes the
// updates. With allowExpunge false, vanished messages stay in the view
// (marked gone) until a later command may report them (RFC 3501 §7.4.1).
func (mb *mailbox) refresh(w updates, allowExpunge bool) error {
	if mb.changed() {
		if err := mb.rescan(w); err != nil {
			return err
		}
	}
	if allowExpunge {
		for i := len(mb.list) - 1; i >= 0; i-- {
			if e := mb.list[i]; e.gone {
				if err := w.WriteExpunge(uint32(i + 1)); err != nil {
					return err
				}
				mb.removeAt(i)
			}
		}
	}
	return nil
}

func (mb *mailbox) removeAt(i int) {
	delete(mb.keys(), mb.list[i].msg.Key)
	mb.list = slices.Delete(mb.list, i, i+1)
}

func (mb *mailbox) rescan(w updates) error {
	mb.stamps = mb.takeStamps()
	if st := fileStamp(keywordsPath(mb.dir)); st != mb.kwStamp {
		old := mb.kw
		if err := mb.loadKeywords(); err != nil {
			return err
		}
		if !slices.Equal(old, mb.kw) {
			if err := w.WriteMailboxFlags(mailboxFlags(mb.kw)); err != nil {
				return err
			}
		}
	}
	msgs, recent, err := mb.scan()
	if err != nil {
		return err
	}
	seen := make(map[string]bool, len(msgs))
	var fresh []maildir.Message
	for _, m := range msgs {
		seen[m.Key] = true
		e, ok := mb.keys()[m.Key]
		if !ok {
			fresh = append(fresh, m)
			continue
		}
		if e.gone {
			continue
		}
		old := e.msg.Flags
		e.msg = m
		if old != m.Flags {
			seq := mb.seqOf(e)
			if err := w.WriteMessageFlags(seq, e.uid, imapFlags(m.Flags, mb.kw, e.recent)); err != nil {
				return err
			}
		}
	}
	for _, e := range mb.list {
		if !seen[e.msg.Key] {
			e.gone = true
		}
	}
	if len(fresh) == 0 {
		return nil
	}
	ul, err := mb.dir.SyncUIDs(msgs)
	if err != nil {
		return err
	}
	if ul.Validity != mb.validity {
		return errValidityChanged
	}
	last := imap.UID(0)
	if n := len(mb.list); n > 0 {
		last = mb.list[n-1].uid
	}
	// A message another process added and numbered after our readdir
	// has a UID in the list but no file in our scan. Announcing higher
	// UIDs now would leave it behind for good (sequence numbers follow
	// UIDs), so stop below it and look again at the next poll.
	hole := imap.UID(1<<32 - 1)
	recs := ul.Records()
	for i := len(recs) - 1; i >= 0 && imap.UID(recs[i].UID) > last; i-- {
		if !seen[recs[i].Key] {
			hole = min(hole, imap.UID(recs[i].UID))
		}
	}
	if hole != 1<<32-1 {
		mb.stamps[0].unsure = true
	}
	var added []*entry
	nrecent := 0
	for _, m := range fresh {
		uid, ok := ul.UID(m.Key)
		if !ok || imap.UID(uid) <= last || imap.UID(uid) >= hole {
			continue
		}
		e := &entry{uid: imap.UID(uid), msg: m, recent: recent[m.Key]}
		added = append(added, e)
		if e.recent {
			nrecent++
		}
	}
	mb.next = imap.UID(ul.Next)
	if len(added) == 0 {
		return nil
	}
	sort.Slice(added, func(i, j int) bool { return added[i].uid < added[j].uid })
	for _, e := range added {
		mb.list = append(mb.list, e)
		mb.keys()[e.msg.Key] = e
	}
	if err := w.WriteNumMessages(uint32(len(mb.list))); err != nil {
		return err
	}
	if nrecent > 0 {
		return w.WriteNumRecent(uint32(mb.countRecent()))
	}
	return nil
}

func (mb *mailbox) countRecent() int {
	n := 0
	for _, e := range mb.list {
		if e.recent {
			n++
		}
	}
	return n
}

// seqOf returns the sequence number of e (1-based), by binary search on
// the UID.
func (mb *mailbox) seqOf(e *entry) uint32 {
	i := sort.Search(len(mb.list), func(i int) bool { return mb.list[i].uid >= e.uid })
	return uint32(i + 1)
}

// resolve turns a sequence or UID set into indexes of the view, in
// ascending order, without walking ranges larger than the mailbox.
func (mb *mailbox) resolve(numSet imap.NumSet) ([]int, error) {
	if imap.IsSearchRes(numSet) {
		numSet = mb.searchRes
	}
	n := len(mb.list)
	var out []int
	switch set := numSet.(type) {
	case imap.SeqSet:
		for _, r := range set {
			start, stop := r.Start, r.Stop
			if start == 0 {
				start = uint32(n)
			}
			if stop == 0 {
				stop = uint32(n)
			}
			if start > stop {
				start, stop = stop, start
			}
			if start == 0 || int64(stop) > int64(n) {
				return nil, &imap.Error{Type: imap.StatusResponseTypeBad, Code: imap.ResponseCodeClientBug, Text: "Invalid message sequence number"}
			}
			for s := start; s <= stop; s++ {
				out = append(out, int(s-1))
			}
		}
	case imap.UIDSet:
		maxUID := imap.UID(0)
		if n > 0 {
			maxUID = mb.list[n-1].uid
		}
		for _, r := range set {
			start, stop := r.Start, r.Stop
			if start == 0 {
				start = maxUID
			}
			if stop == 0 {
				stop = maxUID
			}
			if start > stop {
				start, stop = stop, start
			}
			i := sort.Search(n, func(i int) bool { return mb.list[i].uid >= start })
			for ; i < n && mb.list[i].uid <= stop; i++ {
				out = append(out, i)
			}
		}
	case nil:
	default:
		return nil, fmt.Errorf("imapd: unknown number set %T", numSet)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func (mb *mailbox) flagsOf(e *entry) []imap.Flag {
	return imapFlags(e.msg.Flags, mb.kw, e.recent)
}

// rfc822Size is the CRLF size: W= from the name, else counted once.
func (mb *mailbox) rfc822Size(e *entry) (int64, error) {
	if e.msg.CRLFSize >= 0 {
		return e.msg.CRLFSize, nil
	}
	if e.size > 0 {
		return e.size, nil
	}
	f, err := mb.dir.Open(e.msg)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	n, err := crlfSize(f)
	if err != nil {
		return 0, err
	}
	e.size = n
	return n, nil
}

// internalDate is the delivery time in the unique name, else the file's
// modification time (RFC 3501 §2.3.3).
func (mb *mailbox) internalDate(e *entry) time.Time {
	if !e.msg.Time.IsZero() {
		return e.msg.Time
	}
	if fi, err := os.Stat(mb.dir.MessagePath(e.msg)); err == nil {
		return fi.ModTime()
	}
	return time.Unix(0, 0)
}

// letters translates STORE/APPEND flags into info letters for this
// folder, adding new keywords to dovecot-keywords when needed.
func (mb *mailbox) letters(flags []imap.Flag) (string, error) {
	return lettersFor(mb.dir, &mb.kw, flags)
}

func lettersFor(dir *maildir.Dir, kw *[]string, flags []imap.Flag) (string, error) {
	var b strings.Builder
	for _, f := range flags {
		l, ok := letterOf(f, *kw)
		if !ok {
			continue
		}
		if l == 0 {
			if !validKeyword(f) {
				return "", &imap.Error{Type: imap.StatusResponseTypeBad, Text: "Invalid keyword " + string(f)}
			}
			nkw, err := addKeyword(dir, string(f))
			if err != nil {
				return "", err
			}
			*kw = nkw
			if l, _ = letterOf(f, nkw); l == 0 {
				return "", fmt.Errorf("keyword %q not stored", f)
			}
		}
		b.WriteByte(l)
	}
	return maildir.NormalizeFlags(b.String()), nil
}
