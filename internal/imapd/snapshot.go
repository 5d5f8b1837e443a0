package imapd

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unsafe"

	"github.com/emersion/go-imap/v2"

	"mailtk/maildir"
)

// The folder snapshot.
//
// Opening a folder costs a readdir of new/ and cur/ and a read of
// dovecot-uidlist; at 100,000 messages that is tens of milliseconds even
// from the page cache. When neither directory nor the UID list has
// changed since the last full look, the view that look produced is still
// exact, so imapd saves it (imapd-snapshot beside dovecot-uidlist) with
// the identity of the three (inode, size, mtime, ctime) and loads it
// instead. Any delivery, flag change, expunge or UID change touches one of
// them; a stamp taken within two seconds of a change is not trusted (see
// dirStamp), so a change within the file system's timestamp granularity
// cannot hide. The file is only a cache: when it is missing, damaged or
// stale, imapd scans.
//
//	"IMAPDSNAP1\n" stamps(3×(ino, size, mtime s, ns, ctime s, ns)) validity next count
//	count × (uid, subdir (0 new, 1 cur), name, flags, size+1, crlfsize+1, time s, ns)
//	crc32 of everything before it
//
// with every number a uvarint (times a varint) and strings length-prefixed.

const (
	snapshotFile  = "imapd-snapshot"
	snapshotMagic = "IMAPDSNAP1\n"
	maxSnapshot   = 512 << 20
)

// folderStamps identifies new/, cur/ and dovecot-uidlist.
func folderStamps(dir string, now time.Time) ([3]stamp, bool) {
	s := [3]stamp{
		dirStamp(filepath.Join(dir, maildir.SubNew), now),
		dirStamp(filepath.Join(dir, maildir.SubCur), now),
		dirStamp(filepath.Join(dir, maildir.UIDListName), now),
	}
	sure := !s[0].unsure && !s[1].unsure && !s[2].unsure
	return s, sure
}

func appendStamp(b []byte, s stamp) []byte {
	b = binary.AppendUvarint(b, s.ino)
	b = binary.AppendUvarint(b, s.size)
	b = binary.AppendVarint(b, s.mtime.Sec)
	b = binary.AppendVarint(b, s.mtime.Nsec)
	b = binary.AppendVarint(b, s.ctime.Sec)
	return binary.AppendVarint(b, s.ctime.Nsec)
}

func (d *envDecoder) stamp() stamp {
	var s stamp
	s.ino, s.size = d.uvarint(), d.uvarint()
	s.mtime.Sec, s.mtime.Nsec = d.varint(), d.varint()
	s.ctime.Sec, s.ctime.Nsec = d.varint(), d.varint()
	return s
}

// saveSnapshot writes the view of mb, taken when the folder had stamps st.
func saveSnapshot(mb *mailbox, st [3]stamp) {
	b := make([]byte, 0, 64+len(mb.list)*80)
	b = append(b, snapshotMagic...)
	for _, s := range st {
		b = appendStamp(b, s)
	}
	b = binary.AppendUvarint(b, uint64(mb.validity))
	b = binary.AppendUvarint(b, uint64(mb.next))
	b = binary.AppendUvarint(b, uint64(len(mb.list)))
	for _, e := range mb.list {
		b = binary.AppendUvarint(b, uint64(e.uid))
		sub := uint64(1)
		if e.msg.Subdir == maildir.SubNew {
			sub = 0
		}
		b = binary.AppendUvarint(b, sub)
		b = appendString(b, e.msg.Name)
		b = appendString(b, e.msg.Flags)
		b = binary.AppendUvarint(b, uint64(e.msg.Size+1))
		b = binary.AppendUvarint(b, uint64(e.msg.CRLFSize+1))
		if e.msg.Time.IsZero() {
			b = binary.AppendVarint(b, 0)
			b = binary.AppendVarint(b, -1)
		} else {
			b = binary.AppendVarint(b, e.msg.Time.Unix())
			b = binary.AppendVarint(b, int64(e.msg.Time.Nanosecond()))
		}
	}
	b = binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
	path := filepath.Join(mb.dir.Path(), snapshotFile)
	// A failure leaves the old snapshot, which its stamps then reject.
	_ = writeFileAtomic(path, b)
}

// loadSnapshot fills mb from the snapshot if it matches the stamps st.
func loadSnapshot(mb *mailbox, st [3]stamp) bool {
	path := filepath.Join(mb.dir.Path(), snapshotFile)
	if fi, err := os.Stat(path); err != nil || fi.Size() > maxSnapshot {
		return false
	}
	b, err := os.ReadFile(path) // one allocation of the file's size
	if err != nil || len(b) < len(snapshotMagic)+4 || !bytes.HasPrefix(b, []byte(snapshotMagic)) {
		return false
	}
	body := b[:len(b)-4]
	if crc32.ChecksumIEEE(body) != binary.BigEndian.Uint32(b[len(b)-4:]) {
		return false
	}
	// One string holds every name and flag string; entries point into it.
	// b is never written again, so the strings can share its memory
	// instead of copying megabytes (unsafe.String's contract).
	d := &snapDecoder{b: body[len(snapshotMagic):]}
	all := unsafe.String(&d.b[0], len(d.b))
	for _, want := range st {
		var got stamp
		got.ino, got.size = d.uvarint(), d.uvarint()
		got.mtime.Sec, got.mtime.Nsec = d.varint(), d.varint()
		got.ctime.Sec, got.ctime.Nsec = d.varint(), d.varint()
		if d.err || got != want {
			return false
		}
	}
	validity, next, n := d.uvarint(), d.uvarint(), d.uvarint()
	if d.err || n > uint64(len(d.b)) {
		return false
	}
	list := make([]*entry, n)
	entries := make([]entry, n)
	for i := range entries {
		e := &entries[i]
		e.uid = imap.UID(d.uvarint())
		e.msg.Subdir = maildir.SubCur
		if d.uvarint() == 0 {
			if !mb.readOnly {
				return false // would have to move it to cur/ and make it \Recent
			}
			e.msg.Subdir = maildir.SubNew
			e.recent = true
		}
		e.msg.Name = d.substr(all)
		e.msg.Flags = d.substr(all)
		e.msg.Size = int64(d.uvarint()) - 1
		e.msg.CRLFSize = int64(d.uvarint()) - 1
		sec, nsec := d.varint(), d.varint()
		if d.err {
			return false
		}
		if nsec >= 0 {
			e.msg.Time = time.Unix(sec, nsec)
		}
		e.msg.Key = e.msg.Name
		if k := strings.IndexByte(e.msg.Name, ':'); k >= 0 {
			e.msg.Key = e.msg.Name[:k]
		}
		list[i] = e
	}
	if d.i != len(d.b) {
		return false
	}
	mb.validity, mb.next, mb.list = uint32(validity), imap.UID(next), list
	return true
}

// snapDecoder reads the snapshot's numbers and strings. It is the
// envDecoder's format, with the one-byte numbers most fields are decoded
// inline: a warm SELECT of 100,000 messages decodes over a million.
type snapDecoder struct {
	b   []byte
	i   int
	err bool
}

func (d *snapDecoder) uvarint() uint64 {
	if d.i < len(d.b) && d.b[d.i] < 0x80 {
		v := uint64(d.b[d.i])
		d.i++
		return v
	}
	v, n := binary.Uvarint(d.b[d.i:])
	if n <= 0 {
		d.err = true
		d.i = len(d.b)
		return 0
	}
	d.i += n
	return v
}

func (d *snapDecoder) varint() int64 {
	u := d.uvarint()
	v := int64(u >> 1)
	if u&1 != 0 {
		v = ^v
	}
	return v
}

// substr returns the next length-prefixed string as a part of all, the
// decoder's bytes as one string.
func (d *snapDecoder) substr(all string) string {
	n := d.uvarint()
	if d.err || n > uint64(len(d.b)-d.i) {
		d.err = true
		return ""
	}
	s := all[d.i : d.i+int(n)]
	d.i += int(n)
	return s
}
