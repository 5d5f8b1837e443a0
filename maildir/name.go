package maildir

import (
	"strconv"
	"strings"
	"time"
)

// infoSep separates a message's unique key from its info ("2,FLAGS").
// The Maildir spec (cr.yp.to/proto/maildir.html) uses ':'; so does
// Dovecot on Unix.
const infoSep = ':'

// infoPrefix starts the info of the only info version in use: "2,"
// followed by the flag letters.
const infoPrefix = ":2,"

// Flag letters of the Maildir spec, as Dovecot maps them to IMAP system
// flags. Keywords use the lower-case letters a–z (see dovecot-keywords).
const (
	FlagDraft   = 'D' // \Draft
	FlagFlagged = 'F' // \Flagged
	FlagPassed  = 'P' // resent, forwarded (no IMAP flag; Dovecot: $Forwarded is a keyword)
	FlagReplied = 'R' // \Answered
	FlagSeen    = 'S' // \Seen
	FlagTrashed = 'T' // \Deleted
)

// Name is a parsed Maildir file name.
type Name struct {
	// Key is the unique part of the name: everything before the ':'
	// info separator. It includes Dovecot's ",S=" and ",W=" fields. It
	// stays the same when flags change, so it is the message's identity
	// (the POP3 UIDL, the dovecot-uidlist key).
	Key string
	// HasInfo tells whether the name has a ":2," info part; names in new/
	// usually have none.
	HasInfo bool
	// Flags are the info flags, sorted and unique ("" when none).
	Flags string
	// Size is the ",S=" value (bytes on disk), or -1.
	Size int64
	// CRLFSize is the ",W=" value (size with CRLF line ends), or -1.
	CRLFSize int64
	// Time is the delivery time from the "<sec>.M<usec>" start of the
	// key, or the zero Time when the key does not start that way.
	Time time.Time
}

// ParseName parses a file name found in new/ or cur/. ok is false for
// names that are not messages: dot files, names with '/', NUL, CR or LF,
// and empty keys. Unknown info versions (":1,...") keep their key and have
// no flags. Flags are returned normalised (see NormalizeFlags).
func ParseName(name string) (n Name, ok bool) {
	n.Size, n.CRLFSize = -1, -1
	if name == "" || name[0] == '.' {
		return n, false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c == '/' || c == 0 || c == '\r' || c == '\n' {
			return n, false
		}
	}
	key, info, hasSep := strings.Cut(name, string(infoSep))
	if key == "" {
		return n, false
	}
	n.Key = key
	if hasSep && strings.HasPrefix(info, "2,") {
		n.HasInfo = true
		n.Flags = NormalizeFlags(info[2:])
	}
	n.Size, n.CRLFSize = keySizes(key)
	n.Time = keyTime(key)
	return n, true
}

// FormatName is the inverse of ParseName for names with info: the key
// followed by ":2," and the normalised flags. FormatName(ParseName(s))
// is s for every name whose flags are already sorted and unique.
func FormatName(key, flags string) string {
	return key + infoPrefix + NormalizeFlags(flags)
}

// String returns the file name n describes: the key alone when n has no
// info, otherwise FormatName(n.Key, n.Flags).
func (n Name) String() string {
	if !n.HasInfo {
		return n.Key
	}
	return FormatName(n.Key, n.Flags)
}

// NormalizeFlags returns the flag letters of s sorted in ASCII order
// (upper-case system flags before lower-case keywords, as the Maildir
// spec requires) with duplicates removed. Bytes that are not ASCII
// letters are dropped.
func NormalizeFlags(s string) string {
	var seen [128]bool
	sorted := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isFlagLetter(c) || seen[c] || (i > 0 && c < s[i-1]) {
			sorted = false
		}
		if isFlagLetter(c) {
			seen[c] = true
		}
	}
	if sorted {
		return s
	}
	b := make([]byte, 0, len(s))
	for c := byte('A'); c <= 'z'; c++ {
		if seen[c] {
			b = append(b, c)
		}
	}
	return string(b)
}

// HasFlag reports whether flags contains the letter f.
func HasFlag(flags string, f byte) bool {
	return strings.IndexByte(flags, f) >= 0
}

func isFlagLetter(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
}

// keySizes finds Dovecot's ",S=<n>" and ",W=<n>" fields in the key (see
// Dovecot's maildir_filename_get_size). A field whose value is not all
// digits, or is absurdly long, counts as absent.
func keySizes(key string) (size, crlf int64) {
	size, crlf = -1, -1
	i := strings.IndexByte(key, ',')
	for i >= 0 && i < len(key) {
		rest := key[i+1:]
		end := strings.IndexByte(rest, ',')
		field := rest
		if end >= 0 {
			field = rest[:end]
		}
		if len(field) > 2 && field[1] == '=' && (field[0] == 'S' || field[0] == 'W') {
			if v, ok := parseDigits(field[2:], 18); ok {
				if field[0] == 'S' {
					size = v
				} else {
					crlf = v
				}
			}
		}
		if end < 0 {
			break
		}
		i += 1 + end
	}
	return size, crlf
}

// keyTime reads the delivery time from a key of the form
// "<sec>.M<usec>..." (qmail's and Dovecot's unique names) or
// "<sec>.<anything>" (old qmail names, whole seconds).
func keyTime(key string) time.Time {
	dot := strings.IndexByte(key, '.')
	if dot <= 0 {
		return time.Time{}
	}
	sec, ok := parseDigits(key[:dot], 12)
	if !ok {
		return time.Time{}
	}
	var usec int64
	rest := key[dot+1:]
	if len(rest) > 1 && rest[0] == 'M' {
		j := 1
		for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
			j++
		}
		if v, ok := parseDigits(rest[1:j], 6); ok {
			usec = v
		}
	}
	return time.Unix(sec, usec*1000)
}

// parseDigits parses a non-empty string of at most max decimal digits.
func parseDigits(s string, max int) (int64, bool) {
	if s == "" || len(s) > max {
		return 0, false
	}
	var v int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	return v, true
}

// escapeHost makes a host name safe inside a unique name: '/' and ':' are
// written as \057 and \072 (as qmail and Dovecot do), and so is every
// other byte that would confuse a reader of the name: ',' (it starts the
// S=/W= fields), '\' (the escape itself), space, control bytes and
// non-ASCII bytes.
func escapeHost(h string) string {
	clean := true
	for i := 0; i < len(h); i++ {
		if hostNeedsEscape(h[i]) {
			clean = false
			break
		}
	}
	if clean && h != "" {
		return h
	}
	if h == "" {
		return "localhost"
	}
	var b strings.Builder
	for i := 0; i < len(h); i++ {
		c := h[i]
		if hostNeedsEscape(c) {
			b.WriteByte('\\')
			s := strconv.FormatUint(uint64(c), 8)
			b.WriteString(strings.Repeat("0", 3-len(s)))
			b.WriteString(s)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

func hostNeedsEscape(c byte) bool {
	return c == '/' || c == ':' || c == ',' || c == '\\' || c <= ' ' || c >= 0x7f
}
