package userdb

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"mailtk/internal/lineio"
)

// MaxLine bounds one line of the users file (an argon2 hash and a few
// extra fields fit many times over).
const MaxLine = 8192

// maxID is the largest uid or gid accepted (Linux uid_t is 32 bits;
// 4294967295 is (uid_t)-1, "no user").
const maxID = 1<<32 - 2

// ParseError names the file and line of a problem in the users file.
type ParseError struct {
	File string
	Line int
	Err  error
}

func (e *ParseError) Error() string { return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err) }
func (e *ParseError) Unwrap() error { return e.Err }

// Is makes every ParseError match ErrConfig.
func (e *ParseError) Is(target error) bool { return target == ErrConfig }

// Parse reads a users file. file names it in errors ("users:12: …"). It
// stops at the first bad line: a file with an error is not half-used.
// Two lines for the same user (same local part, domain compared without
// case) are an error too.
func Parse(r io.Reader, file string) ([]User, error) {
	lr := lineio.NewReader(r, MaxLine)
	var users []User
	seen := map[string]int{}
	for n := 1; ; n++ {
		line, _, err := lr.ReadLine()
		if errors.Is(err, io.EOF) {
			return users, nil
		}
		if errors.Is(err, lineio.ErrTooLong) {
			return nil, &ParseError{file, n, fmt.Errorf("line longer than %d octets", MaxLine)}
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", file, err)
		}
		u, ok, err := ParseLine(string(line))
		if err != nil {
			return nil, &ParseError{file, n, err}
		}
		if !ok {
			continue
		}
		k := key(u.Name)
		if first, dup := seen[k]; dup {
			return nil, &ParseError{file, n, fmt.Errorf("user %s is already defined on line %d", u.Name, first)}
		}
		seen[k] = n
		users = append(users, u)
	}
}

// key is the lookup key of a name: the local part as written, the domain
// lower-cased.
func key(name string) string {
	l, d, ok := strings.Cut(name, "@")
	if !ok {
		return l
	}
	return l + "@" + strings.ToLower(d)
}

// ParseLine parses one line of the users file. ok is false for a blank
// line or a comment (first non-blank character '#'). The rules:
//
//   - fields are separated by ':'; the eighth and later fields together
//     are the extra fields (they may hold ':', as in
//     userdb_mail=maildir:~/Maildir:LAYOUT=fs), as in Dovecot;
//   - at least user and password must be present; trailing fields may be
//     omitted; a trailing CR (a file edited on Windows) is ignored;
//   - no control characters anywhere (tabs included);
//   - user: not empty, no spaces, '/', or more than one '@', nothing
//     empty on either side of the '@';
//   - uid, gid: empty, or a decimal number;
//   - gecos: free text (it cannot hold ':', the field separator);
//   - home, shell: empty or an absolute path (a relative one usually means
//     a ':' in the gecos shifted the fields);
//   - extra fields: space-separated "key=value" or "key"; keys are
//     letters, digits, '_', '-', '.'; values cannot hold spaces or '"'
//     (the format has no quoting; Dovecot would split the value).
func ParseLine(line string) (u User, ok bool, err error) {
	line = strings.TrimSuffix(line, "\r")
	t := strings.TrimLeft(line, " ")
	if t == "" || t[0] == '#' {
		return User{}, false, nil
	}
	for i := 0; i < len(line); i++ {
		if c := line[i]; c < 0x20 || c == 0x7f {
			return User{}, false, fmt.Errorf("control character 0x%02x at column %d", c, i+1)
		}
	}
	f := strings.SplitN(line, ":", 8)
	if len(f) < 2 {
		return User{}, false, fmt.Errorf("want user:password[:uid:gid:gecos:home:shell:extra], found no ':'")
	}
	for len(f) < 8 {
		f = append(f, "")
	}
	u = User{Name: f[0], Password: f[1], Gecos: f[4], Home: f[5], Shell: f[6]}
	if err := checkName(u.Name); err != nil {
		return User{}, false, err
	}
	if u.UID, err = parseID("uid", f[2]); err != nil {
		return User{}, false, err
	}
	if u.GID, err = parseID("gid", f[3]); err != nil {
		return User{}, false, err
	}
	for _, p := range []struct{ what, v string }{{"home", u.Home}, {"shell", u.Shell}} {
		if p.v != "" && !filepath.IsAbs(p.v) {
			return User{}, false, fmt.Errorf("%s %q is not an absolute path (is there a ':' in the gecos field?)", p.what, p.v)
		}
	}
	if u.Extra, err = parseExtra(f[7]); err != nil {
		return User{}, false, err
	}
	return u, true, nil
}

func checkName(name string) error {
	if name == "" {
		return errors.New("empty user name")
	}
	if strings.ContainsAny(name, " /\"") {
		return fmt.Errorf("user name %q holds a space, '/' or '\"'", name)
	}
	if strings.HasPrefix(strings.TrimLeft(name, " "), "#") {
		return fmt.Errorf("user name %q starts with '#'", name)
	}
	if strings.Count(name, "@") > 1 {
		return fmt.Errorf("user name %q has more than one '@'", name)
	}
	if l, d, ok := strings.Cut(name, "@"); ok && (l == "" || d == "") {
		return fmt.Errorf("user name %q: empty part around '@'", name)
	}
	return nil
}

func parseID(what, s string) (int, error) {
	if s == "" {
		return -1, nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n > maxID || (len(s) > 1 && s[0] == '0') {
		return 0, fmt.Errorf("%s %q is not a number (names are not looked up; write the number)", what, s)
	}
	return int(n), nil
}

func validKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

func parseExtra(s string) (map[string]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	if strings.Contains(s, `"`) {
		return nil, fmt.Errorf("extra fields %q: the format has no quoting, so values cannot hold spaces or '\"'", s)
	}
	m := map[string]string{}
	for _, kv := range strings.Fields(s) {
		k, v, _ := strings.Cut(kv, "=")
		if !validKey(k) {
			return nil, fmt.Errorf("extra field %q: bad key (letters, digits, '_', '-', '.')", kv)
		}
		if _, dup := m[k]; dup {
			return nil, fmt.Errorf("extra field %s given twice", k)
		}
		m[k] = v
	}
	return m, nil
}

// Format writes u as a line of the users file (without newline), leaving
// out empty trailing fields; extra fields are sorted by key. It fails for
// a user that cannot be written (a ':' in a field before the extras, a
// space in an extra value, ...): ParseLine(Format(u)) gives u back for
// every user Format accepts.
func Format(u User) (string, error) {
	id := func(n int) string {
		if n < 0 {
			return ""
		}
		return strconv.Itoa(n)
	}
	var extra []string
	keys := make([]string, 0, len(u.Extra))
	for k := range u.Extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if v := u.Extra[k]; v != "" {
			extra = append(extra, k+"="+v)
		} else {
			extra = append(extra, k)
		}
	}
	f := []string{u.Name, u.Password, id(u.UID), id(u.GID), u.Gecos, u.Home, u.Shell, strings.Join(extra, " ")}
	for i, v := range f[:7] {
		if strings.Contains(v, ":") {
			return "", fmt.Errorf("field %d %q holds ':'", i+1, v)
		}
	}
	n := len(f)
	for n > 2 && f[n-1] == "" {
		n--
	}
	line := strings.Join(f[:n], ":")
	back, ok, err := ParseLine(line)
	if err != nil || !ok || !sameUser(back, u) {
		if err == nil {
			err = errors.New("does not read back the same")
		}
		return "", fmt.Errorf("user %q cannot be written as a users-file line: %v", u.Name, err)
	}
	return line, nil
}

// sameUser compares users, treating a nil and an empty Extra alike.
func sameUser(a, b User) bool {
	if a.Name != b.Name || a.Password != b.Password || a.UID != b.UID || a.GID != b.GID ||
		a.Gecos != b.Gecos || a.Home != b.Home || a.Shell != b.Shell || len(a.Extra) != len(b.Extra) {
		return false
	}
	for k, v := range a.Extra {
		if w, ok := b.Extra[k]; !ok || w != v {
			return false
		}
	}
	return true
}
