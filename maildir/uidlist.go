package maildir

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// UIDListName is the file that maps keys to IMAP UIDs, in Dovecot's
// format, so that Dovecot and this package can serve the same Maildir in
// turn and clients keep their UIDs.
const UIDListName = "dovecot-uidlist"

// maxUIDListSize bounds what ParseUIDList and UIDs read (a 1,000,000
// message folder has a uidlist of about 60 MB).
const maxUIDListSize = 512 << 20

// UIDRecord is one line of a dovecot-uidlist: a UID, the extension fields
// Dovecot may keep per message (kept as they are), and the key.
type UIDRecord struct {
	UID uint32
	// Ext are "<key><value>" fields with an upper-case key, e.g. "W1234"
	// (virtual size) or "P<pop3 uidl>"; kept and written back unchanged.
	Ext []string
	Key string
}

// UIDList is the content of a dovecot-uidlist file (version 3):
//
//	3 V<uidvalidity> N<nextuid> G<mailbox guid> [other header fields]
//	<uid> [<ext fields>] :<key>
//	...
//
// Records are in ascending UID order. Version 1 files (Courier's
// courierimapuiddb layout, "1 <uidvalidity> <nextuid>" and
// "<uid> <filename>") are read too; Format always writes version 3.
type UIDList struct {
	// Validity is the IMAP UIDVALIDITY (RFC 3501 §2.3.1.1).
	Validity uint32
	// Next is the UID the next new message gets (UIDNEXT). Always greater
	// than every UID in the list.
	Next uint32
	// GUID is the mailbox GUID, 32 lower-case hex digits ("" if none;
	// SyncUIDs adds one, as Dovecot does).
	GUID string
	// HeaderExt are other header fields, kept as they are.
	HeaderExt []string

	recs  []UIDRecord
	byKey map[string]int // key -> index in recs
}

// UID returns the UID of the message with the given key.
func (u *UIDList) UID(key string) (uint32, bool) {
	if u == nil {
		return 0, false
	}
	i, ok := u.byKey[key]
	if !ok {
		return 0, false
	}
	return u.recs[i].UID, true
}

// Key returns the key of the message with the given UID.
func (u *UIDList) Key(uid uint32) (string, bool) {
	if u == nil {
		return "", false
	}
	lo, hi := 0, len(u.recs)
	for lo < hi {
		mid := (lo + hi) / 2
		switch {
		case u.recs[mid].UID == uid:
			return u.recs[mid].Key, true
		case u.recs[mid].UID < uid:
			lo = mid + 1
		default:
			hi = mid
		}
	}
	return "", false
}

// Records returns the records in UID order. The slice is the list's own;
// don't modify it.
func (u *UIDList) Records() []UIDRecord {
	if u == nil {
		return nil
	}
	return u.recs
}

// Len returns the number of records.
func (u *UIDList) Len() int {
	if u == nil {
		return 0
	}
	return len(u.recs)
}

// add appends a record with the next UID.
func (u *UIDList) add(key string) uint32 {
	uid := u.Next
	u.Next++
	u.byKey[key] = len(u.recs)
	u.recs = append(u.recs, UIDRecord{UID: uid, Key: key})
	return uid
}

func (u *UIDList) reindex() {
	u.byKey = make(map[string]int, len(u.recs))
	for i, r := range u.recs {
		u.byKey[r.Key] = i
	}
}

// ParseUIDList parses the content of a dovecot-uidlist file. As Dovecot
// does, it rejects a bad header (no UIDVALIDITY or next UID), UIDs that
// are zero, not ascending or too large, extension fields without an
// upper-case key, and file names with '/' in them; all as ErrCorrupt. A
// key listed twice keeps its later UID. A file name with ":2,..." info is
// reduced to its key.
func ParseUIDList(b []byte) (*UIDList, error) {
	if len(b) > maxUIDListSize {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrCorrupt, UIDListName, maxUIDListSize)
	}
	line, rest, _ := bytes.Cut(b, []byte{'\n'})
	u := &UIDList{}
	version, err := u.parseHeader(string(line))
	if err != nil {
		return nil, err
	}
	lineNo := 1
	var prev uint32
	for len(rest) > 0 {
		line, rest, _ = bytes.Cut(rest, []byte{'\n'})
		lineNo++
		rec, err := parseUIDRecord(string(line), version)
		if err != nil {
			return nil, fmt.Errorf("%w: %s line %d: %v", ErrCorrupt, UIDListName, lineNo, err)
		}
		if rec.UID <= prev {
			return nil, fmt.Errorf("%w: %s line %d: UIDs not ascending (%d after %d)", ErrCorrupt, UIDListName, lineNo, rec.UID, prev)
		}
		prev = rec.UID
		u.recs = append(u.recs, rec)
	}
	// A key listed twice: the later UID wins (Dovecot: "Duplicate file
	// entry", the old UID is deleted).
	u.byKey = make(map[string]int, len(u.recs))
	dup := false
	for i, r := range u.recs {
		if _, ok := u.byKey[r.Key]; ok {
			dup = true
		}
		u.byKey[r.Key] = i
	}
	if dup {
		kept := u.recs[:0]
		for i, r := range u.recs {
			if u.byKey[r.Key] == i {
				kept = append(kept, r)
			}
		}
		u.recs = kept
		u.reindex()
	}
	if prev >= u.Next {
		u.Next = prev + 1
	}
	return u, nil
}

func (u *UIDList) parseHeader(line string) (version int, err error) {
	bad := func(why string) (int, error) {
		return 0, fmt.Errorf("%w: %s header: %s", ErrCorrupt, UIDListName, why)
	}
	if len(line) < 2 || line[1] != ' ' {
		return bad("no version")
	}
	switch line[0] {
	case '1':
		f := strings.Fields(line[2:])
		if len(f) != 2 {
			return bad("version 1 needs two numbers")
		}
		v, err1 := parseUint32(f[0])
		n, err2 := parseUint32(f[1])
		if err1 != nil || err2 != nil {
			return bad("version 1 numbers")
		}
		u.Validity, u.Next = v, n
	case '3':
		for _, field := range strings.Split(line[2:], " ") {
			if field == "" {
				continue
			}
			val := field[1:]
			switch field[0] {
			case 'V':
				v, err := parseUint32(val)
				if err != nil {
					return bad("UIDVALIDITY " + strconv.Quote(val))
				}
				u.Validity = v
			case 'N':
				v, err := parseUint32(val)
				if err != nil {
					return bad("next UID " + strconv.Quote(val))
				}
				u.Next = v
			case 'G':
				if !isGUID(val) {
					return bad("GUID " + strconv.Quote(val))
				}
				u.GUID = strings.ToLower(val)
			default:
				if !validExtField(field) {
					return bad("field " + strconv.Quote(field))
				}
				u.HeaderExt = append(u.HeaderExt, field)
			}
		}
	default:
		return bad("unsupported version " + strconv.Quote(line[:1]))
	}
	if u.Validity == 0 || u.Next == 0 {
		return bad("UIDVALIDITY or next UID is zero or missing")
	}
	return int(line[0] - '0'), nil
}

func parseUIDRecord(line string, version int) (UIDRecord, error) {
	var r UIDRecord
	i := 0
	for i < len(line) && line[i] >= '0' && line[i] <= '9' {
		i++
	}
	uid, err := parseUint32(line[:i])
	if err != nil || uid == 0 || uid == 1<<32-1 || i == len(line) || line[i] != ' ' {
		return r, errors.New("bad UID")
	}
	r.UID = uid
	rest := strings.TrimLeft(line[i:], " ")
	var name string
	if version == 3 {
		for rest != "" && rest[0] != ':' {
			end := strings.IndexByte(rest, ' ')
			field := rest
			if end >= 0 {
				field = rest[:end]
			}
			if !validExtField(field) {
				return r, fmt.Errorf("bad extension field %q", field)
			}
			r.Ext = append(r.Ext, field)
			if end < 0 {
				rest = ""
				break
			}
			rest = strings.TrimLeft(rest[end:], " ")
		}
		if rest == "" || rest[0] != ':' {
			return r, errors.New("no file name")
		}
		name = rest[1:]
	} else {
		name = rest
	}
	if strings.ContainsAny(name, "/\x00\r") {
		return r, errors.New("bad file name")
	}
	key, _, _ := strings.Cut(name, string(infoSep))
	if key == "" {
		return r, errors.New("empty file name")
	}
	r.Key = key
	return r, nil
}

// validExtField: an upper-case key letter and a value without spaces or
// control bytes.
func validExtField(f string) bool {
	if f == "" || f[0] < 'A' || f[0] > 'Z' {
		return false
	}
	for i := 1; i < len(f); i++ {
		if f[i] <= ' ' || f[i] == 0x7f {
			return false
		}
	}
	return true
}

func isGUID(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

func parseUint32(s string) (uint32, error) {
	v, err := strconv.ParseUint(s, 10, 32)
	return uint32(v), err
}

// Format returns the list in dovecot-uidlist version 3 format, as Dovecot
// writes it: the header, then one line per record in UID order.
func (u *UIDList) Format() []byte {
	b := make([]byte, 0, 64+len(u.recs)*64)
	b = append(b, "3 V"...)
	b = strconv.AppendUint(b, uint64(u.Validity), 10)
	b = append(b, " N"...)
	b = strconv.AppendUint(b, uint64(u.Next), 10)
	if u.GUID != "" {
		b = append(b, " G"...)
		b = append(b, u.GUID...)
	}
	for _, f := range u.HeaderExt {
		b = append(b, ' ')
		b = append(b, f...)
	}
	b = append(b, '\n')
	for _, r := range u.recs {
		b = strconv.AppendUint(b, uint64(r.UID), 10)
		for _, f := range r.Ext {
			b = append(b, ' ')
			b = append(b, f...)
		}
		b = append(b, " :"...)
		b = append(b, r.Key...)
		b = append(b, '\n')
	}
	return b
}
