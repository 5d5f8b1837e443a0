package maildir

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// KeywordsName is the file that maps the keyword flag letters a–z to IMAP
// keyword names, in Dovecot's format: one "<index> <name>" line per
// keyword, index 0 being letter 'a'.
const KeywordsName = "dovecot-keywords"

// MaxKeywords is the number of keyword letters, 'a' to 'z'.
const MaxKeywords = 26

// maxKeywordsSize bounds what is read of dovecot-keywords.
const maxKeywordsSize = 64 << 10

// ParseKeywords parses a dovecot-keywords file into a table: the result's
// element i is the name of letter 'a'+i ("" where unused). Lines with an
// index outside 0–25 are ignored, as Dovecot ignores them; malformed lines
// give ErrCorrupt.
func ParseKeywords(b []byte) ([]string, error) {
	if len(b) > maxKeywordsSize {
		return nil, fmt.Errorf("%w: %s is too large", ErrCorrupt, KeywordsName)
	}
	kw := make([]string, MaxKeywords)
	n := 0
	for i, line := range bytes.Split(b, []byte{'\n'}) {
		if len(line) == 0 {
			continue
		}
		idx, name, ok := strings.Cut(string(line), " ")
		v, err := strconv.Atoi(idx)
		if !ok || err != nil || ValidateKeyword(name) != nil {
			return nil, fmt.Errorf("%w: %s line %d", ErrCorrupt, KeywordsName, i+1)
		}
		if v < 0 || v >= MaxKeywords {
			continue
		}
		kw[v] = name
		n = max(n, v+1)
	}
	return kw[:n], nil
}

// FormatKeywords is the inverse of ParseKeywords.
func FormatKeywords(kw []string) []byte {
	var b []byte
	for i, name := range kw {
		if name == "" {
			continue
		}
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, ' ')
		b = append(b, name...)
		b = append(b, '\n')
	}
	return b
}

// ValidateKeyword checks an IMAP keyword name (RFC 3501 §9 flag-keyword =
// atom): non-empty, printable ASCII, no space, none of ( ) { % * " \ ]. A
// leading '\' would be a system flag, which has a letter of its own.
func ValidateKeyword(name string) error {
	if name == "" || len(name) > 255 {
		return fmt.Errorf("maildir: bad keyword %q", name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`(){%*"\]`, c) >= 0 {
			return fmt.Errorf("maildir: bad keyword %q", name)
		}
	}
	return nil
}

// Keywords returns the folder's keyword table (see ParseKeywords); a
// missing file is an empty table.
func (d *Dir) Keywords() ([]string, error) {
	b, err := os.ReadFile(filepath.Join(d.path, KeywordsName))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return ParseKeywords(b)
}

// KeywordLetters returns the flag letters for the keyword names, sorted,
// adding the names that have no letter yet to dovecot-keywords. The file
// is changed the way Dovecot changes it: the new content is written into
// the lock file dovecot-keywords.lock (created with O_EXCL), fsynced, and
// renamed over dovecot-keywords. It returns ErrTooManyKeywords when the 26
// letters are used up.
func (d *Dir) KeywordLetters(names ...string) (string, error) {
	for _, n := range names {
		if err := ValidateKeyword(n); err != nil {
			return "", err
		}
	}
	kw, err := d.Keywords()
	if err != nil {
		return "", err
	}
	if letters, ok := keywordLetters(kw, names); ok {
		return letters, nil
	}
	path := filepath.Join(d.path, KeywordsName)
	l, err := d.lock(path)
	if err != nil {
		return "", err
	}
	letters, err := d.addKeywords(path, l, names)
	if err != nil {
		// The lock file holds the half-written content; drop it.
		l.unlock()
		return "", err
	}
	return letters, nil
}

func (d *Dir) addKeywords(path string, l *dotlock, names []string) (string, error) {
	// Re-read under the lock: someone may have added keywords meanwhile.
	kw, err := d.Keywords()
	if err != nil {
		return "", err
	}
	kw = append(kw, make([]string, MaxKeywords-len(kw))...)
	for _, n := range names {
		if indexOf(kw, n) >= 0 {
			continue
		}
		free := indexOf(kw, "")
		if free < 0 {
			return "", ErrTooManyKeywords
		}
		kw[free] = n
	}
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return "", err
	}
	_, err = f.Write(FormatKeywords(kw))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", err
	}
	if err := os.Rename(l.path, path); err != nil {
		return "", err
	}
	letters, _ := keywordLetters(kw, names)
	return letters, nil
}

func keywordLetters(kw, names []string) (string, bool) {
	b := make([]byte, 0, len(names))
	for _, n := range names {
		i := indexOf(kw, n)
		if i < 0 {
			return "", false
		}
		b = append(b, byte('a'+i))
	}
	return NormalizeFlags(string(b)), true
}

func indexOf(kw []string, name string) int {
	for i, k := range kw {
		if k == name {
			return i
		}
	}
	return -1
}

// KeywordNames returns the names of the keyword letters (a–z) in flags,
// using the table kw from Keywords. Letters with no name are skipped.
func KeywordNames(kw []string, flags string) []string {
	var out []string
	for i := 0; i < len(flags); i++ {
		c := flags[i]
		if c >= 'a' && c <= 'z' && int(c-'a') < len(kw) && kw[c-'a'] != "" {
			out = append(out, kw[c-'a'])
		}
	}
	return out
}
