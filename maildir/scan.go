package maildir

import (
	"cmp"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Message is one message file as last seen.
type Message struct {
	// Key is the unique name without the ":2," info. It never changes
	// for the life of the message: it is the POP3 UIDL and the
	// dovecot-uidlist key.
	Key string
	// Subdir is SubNew or SubCur.
	Subdir string
	// Name is the file name in Subdir.
	Name string
	// Flags are the info flags, sorted and unique ("" when none).
	Flags string
	// Size is the ",S=" size (bytes on disk, LF line ends), -1 if unknown.
	Size int64
	// CRLFSize is the ",W=" size (the RFC 5322 size, CRLF line ends), -1
	// if unknown.
	CRLFSize int64
	// Time is the delivery time from the unique name (zero if the name
	// carries none).
	Time time.Time
}

func messageFrom(subdir, name string) (Message, bool) {
	n, ok := ParseName(name)
	if !ok {
		return Message{}, false
	}
	return Message{
		Key: n.Key, Subdir: subdir, Name: name, Flags: n.Flags,
		Size: n.Size, CRLFSize: n.CRLFSize, Time: n.Time,
	}, true
}

// Scan lists the messages in new/ and cur/ in delivery order (by the time
// in the unique name, then by key). It reads each directory once and never
// stats a message: sizes come from S= and W= in the names (Size and
// CRLFSize are -1 where a name lacks them; Check or os.Stat can fill in).
// Dot files and names that are not messages are skipped; Check reports
// them.
//
// new/ is read before cur/, so a message moved from new/ to cur/ while
// Scan runs is seen at least once; when both copies are seen, the one in
// cur/ wins. A message whose flags change while Scan reads cur/ may, as
// on any Maildir reader, be seen twice (the duplicate is dropped) or, in
// rare readdir races, be missed until the next Scan.
func (d *Dir) Scan() ([]Message, error) {
	newNames, err := readNames(filepath.Join(d.path, SubNew))
	if err != nil {
		return nil, err
	}
	curNames, err := readNames(filepath.Join(d.path, SubCur))
	if err != nil {
		return nil, err
	}
	msgs := make([]Message, 0, len(newNames)+len(curNames))
	for _, name := range curNames {
		if m, ok := messageFrom(SubCur, name); ok {
			msgs = append(msgs, m)
		}
	}
	for _, name := range newNames {
		if m, ok := messageFrom(SubNew, name); ok {
			msgs = append(msgs, m)
		}
	}
	return dedupe(sortMessages(msgs)), nil
}

// sortMessages sorts by delivery time, then key, then cur/ before new/.
// It sorts a compact array of (time, index) and permutes once: moving
// 16-byte items instead of whole Messages halves Scan's time on big
// folders.
func sortMessages(msgs []Message) []Message {
	type item struct {
		t int64 // microseconds; math.MinInt64 for names without a time
		i int32
	}
	items := make([]item, len(msgs))
	for i := range msgs {
		t := int64(math.MinInt64)
		if !msgs[i].Time.IsZero() {
			// Fits: ParseName allows at most 12 digits of seconds.
			t = msgs[i].Time.Unix()*1e6 + int64(msgs[i].Time.Nanosecond()/1e3)
		}
		items[i] = item{t, int32(i)}
	}
	slices.SortFunc(items, func(a, b item) int {
		if c := cmp.Compare(a.t, b.t); c != 0 {
			return c
		}
		ma, mb := &msgs[a.i], &msgs[b.i]
		if c := strings.Compare(ma.Key, mb.Key); c != 0 {
			return c
		}
		// SubCur < SubNew: the copy in cur/ comes first and is kept.
		return cmp.Compare(ma.Subdir, mb.Subdir)
	})
	// Apply the order in place, one permutation cycle at a time (position
	// j receives msgs[items[j].i]); no second slice of Messages.
	for i := range items {
		if items[i].i < 0 {
			continue
		}
		saved := msgs[i]
		j := i
		for {
			k := int(items[j].i)
			items[j].i = -1
			if k == i {
				msgs[j] = saved
				break
			}
			msgs[j] = msgs[k]
			j = k
		}
	}
	return msgs
}

// dedupe drops later entries with the same key as the one before (sorted
// input puts them next to each other).
func dedupe(msgs []Message) []Message {
	out := msgs[:0]
	for i := range msgs {
		if len(out) > 0 && out[len(out)-1].Key == msgs[i].Key {
			continue
		}
		out = append(out, msgs[i])
	}
	return out
}

// locate finds the current file of the message with the given key, which
// may have moved to cur/ or changed flags since the caller saw it.
func (d *Dir) locate(key string) (Message, bool, error) {
	for _, sub := range []string{SubCur, SubNew} {
		names, err := readNames(filepath.Join(d.path, sub))
		if err != nil {
			if isNotExist(err) {
				continue
			}
			return Message{}, false, err
		}
		for _, name := range names {
			if strings.HasPrefix(name, key) && (len(name) == len(key) || name[len(key)] == infoSep) {
				m, ok := messageFrom(sub, name)
				return m, ok, nil
			}
		}
	}
	return Message{}, false, nil
}

// Lookup returns the message with the given key as it is now, or ErrGone.
func (d *Dir) Lookup(key string) (Message, error) {
	m, ok, err := d.locate(key)
	if err != nil {
		return Message{}, err
	}
	if !ok {
		return Message{}, fmt.Errorf("%w: %s", ErrGone, key)
	}
	return m, nil
}

// retries bounds how often an operation chases a message that keeps
// moving under it (other processes changing its flags).
const retries = 8

// Open opens the message for reading. If the file moved (new/ to cur/) or
// its flags changed since m was read, Open finds it by its key. It returns
// an error wrapping ErrGone if the message was deleted.
func (d *Dir) Open(m Message) (*os.File, error) {
	for range retries {
		f, err := os.Open(d.MessagePath(m))
		if err == nil {
			return f, nil
		}
		if !isNotExist(err) {
			return nil, err
		}
		cur, ok, lerr := d.locate(m.Key)
		if lerr != nil {
			return nil, lerr
		}
		if !ok {
			return nil, fmt.Errorf("%w: %s", ErrGone, m.Key)
		}
		m = cur
	}
	return nil, fmt.Errorf("%w: %s (kept moving)", ErrGone, m.Key)
}

// SetFlags sets the message's flags to exactly flags (normalised) by
// renaming it to cur/KEY:2,FLAGS; a message in new/ moves to cur/ even
// when flags is empty. It returns the message as it now is. A message that
// was moved or re-flagged by someone else is found by its key and renamed
// from where it is; one that was deleted gives an error wrapping ErrGone.
//
// Flag changes are not fsynced: like Dovecot, a crash may lose the last
// flag change but never the message.
func (d *Dir) SetFlags(m Message, flags string) (Message, error) {
	flags = NormalizeFlags(flags)
	return d.changeFlags(m, func(string) string { return flags })
}

// AddFlags adds the letters in add to the message's current flags and
// removes those in del. If the message moved or its flags changed since m
// was read, the edit is applied to the flags it has now, so concurrent
// edits of different letters (IMAP STORE +FLAGS / -FLAGS) do not undo
// each other, except in a race between two renames of the same file.
func (d *Dir) AddFlags(m Message, add, del string) (Message, error) {
	return d.changeFlags(m, func(cur string) string { return editFlags(cur, add, del) })
}

// changeFlags renames m to cur/KEY:2,edit(flags), chasing the message by
// key when it is no longer where m says.
func (d *Dir) changeFlags(m Message, edit func(string) string) (Message, error) {
	for range retries {
		flags := edit(m.Flags)
		want := m
		want.Subdir, want.Flags, want.Name = SubCur, flags, FormatName(m.Key, flags)
		if m.Subdir == want.Subdir && m.Name == want.Name {
			if _, err := os.Lstat(d.MessagePath(m)); err == nil {
				return want, nil
			} else if !isNotExist(err) {
				return Message{}, err
			}
		} else {
			err := os.Rename(d.MessagePath(m), d.MessagePath(want))
			if err == nil {
				return want, nil
			}
			if !isNotExist(err) {
				return Message{}, err
			}
		}
		cur, ok, err := d.locate(m.Key)
		if err != nil {
			return Message{}, err
		}
		if !ok {
			return Message{}, fmt.Errorf("%w: %s", ErrGone, m.Key)
		}
		m = cur
	}
	return Message{}, fmt.Errorf("%w: %s (kept moving)", ErrGone, m.Key)
}

func editFlags(flags, add, del string) string {
	var b strings.Builder
	for i := 0; i < len(flags); i++ {
		if !HasFlag(del, flags[i]) {
			b.WriteByte(flags[i])
		}
	}
	b.WriteString(add)
	return NormalizeFlags(b.String())
}

// Remove deletes the message, wherever it has moved to. It returns an
// error wrapping ErrGone if it was already deleted.
func (d *Dir) Remove(m Message) error {
	for range retries {
		err := os.Remove(d.MessagePath(m))
		if err == nil {
			return nil
		}
		if !isNotExist(err) {
			return err
		}
		cur, ok, lerr := d.locate(m.Key)
		if lerr != nil {
			return lerr
		}
		if !ok {
			return fmt.Errorf("%w: %s", ErrGone, m.Key)
		}
		m = cur
	}
	return fmt.Errorf("%w: %s (kept moving)", ErrGone, m.Key)
}
