// Package userdb is the one users file that smtpd, pop3d and imapd share,
// and the other way to check passwords: qmail's checkpassword interface.
//
// The file is Dovecot's passwd-file format, so an existing Dovecot user
// list works unchanged (and Dovecot can serve the same users):
//
//	user:{SCHEME}hash:uid:gid:gecos:home:shell:extra_fields
//
// One user per line; "#" starts a comment line; trailing fields may be
// left out ("user:{SCHEME}hash" is a user who can log in but has no
// mailbox). user is "name" or "name@domain"; the domain is matched
// case-insensitively. extra_fields is a space-separated list of key=value
// (or bare key) pairs; userdb_mail=maildir:PATH sets the Maildir. See
// docs/users.md for the postmaster's view and ParseLine for every rule.
//
// Hashes are checked by Verify: {BLF-CRYPT} (bcrypt), {ARGON2ID},
// {ARGON2I}, {SHA512-CRYPT}, {SHA256-CRYPT}, and {PLAIN} for tests.
package userdb

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// Errors of lookups and authentication. Test them with errors.Is.
var (
	// ErrNoUser: no such user in the file.
	ErrNoUser = errors.New("no such user")
	// ErrAuth: the login failed (unknown user, wrong password, locked or
	// password-less account). Its text says which for the log; never show
	// it to the client.
	ErrAuth = errors.New("authentication failed")
	// ErrTemp: the check could not be done now (checkpassword exit 111,
	// a timeout); the client should try again later.
	ErrTemp = errors.New("temporary authentication failure")
	// ErrConfig: the users file or a hash in it is broken; a postmaster
	// must fix it. Wraps ErrScheme for bad hashes.
	ErrConfig = errors.New("users file configuration error")
)

// Authenticator checks a login. *DB and *Checkpassword implement it.
// It returns the user on success; otherwise an error that matches
// ErrAuth, ErrTemp or ErrConfig with errors.Is.
type Authenticator interface {
	Authenticate(ctx context.Context, name, password string) (*User, error)
}

// User is one line of the users file.
type User struct {
	Name     string // "name" or "name@domain", as written in the file
	Password string // "{SCHEME}hash" or a bare crypt(3) hash; "" means no login
	UID, GID int    // -1 when the field is empty
	Gecos    string // "Full Name,room,phone,…" (passwd(5)); only the name is used
	Home     string // absolute path, or ""
	Shell    string // unused by the servers; kept for passwd(5) compatibility
	// Extra holds the extra fields: "userdb_mail=maildir:~/Maildir" is
	// Extra["userdb_mail"] == "maildir:~/Maildir"; a bare key has "".
	Extra map[string]string
}

// Local returns the part of Name before the '@' (all of it without one).
func (u *User) Local() string {
	l, _, _ := strings.Cut(u.Name, "@")
	return l
}

// Domain returns the part of Name after the '@', lower-cased; "" without.
func (u *User) Domain() string {
	_, d, _ := strings.Cut(u.Name, "@")
	return strings.ToLower(d)
}

// FullName returns the person's name: the gecos field up to its first
// comma, trimmed.
func (u *User) FullName() string {
	n, _, _ := strings.Cut(u.Gecos, ",")
	return strings.TrimSpace(n)
}

// Maildir returns the user's Maildir: the userdb_mail (or mail) extra
// field when present, else HOME/Maildir; "" when the user has none or
// the field cannot be used (MaildirPath says why).
func (u *User) Maildir() string {
	p, err := u.MaildirPath()
	if err != nil {
		return ""
	}
	return p
}

// MaildirPath is Maildir with the reason when there is none. The mail
// field is Dovecot's mail location, "maildir:PATH[:KEY=VALUE…]": the
// options after PATH (LAYOUT=fs, INDEX=…) are Dovecot's and are ignored,
// "::" in PATH is a literal ':', "~" at its start is the home directory,
// and %u %n %d %h (and %{user} %{username} %{domain} %{home}; %Lu, %Ln,
// %Ld lower-cased; %% a percent sign) are expanded as Dovecot does.
func (u *User) MaildirPath() (string, error) {
	loc, ok := u.Extra["userdb_mail"]
	if !ok {
		loc, ok = u.Extra["mail"]
	}
	if !ok || loc == "" {
		if u.Home == "" {
			return "", fmt.Errorf("user %s has neither a home directory nor a userdb_mail field", u.Name)
		}
		return filepath.Join(u.Home, "Maildir"), nil
	}
	typ, rest, hasType := strings.Cut(loc, ":")
	if !hasType || strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "~") {
		typ, rest = "maildir", loc // a bare path
	}
	if !strings.EqualFold(typ, "maildir") {
		return "", fmt.Errorf("user %s: mail location %q is not a Maildir (only maildir:PATH is supported)", u.Name, loc)
	}
	path := firstLocationField(rest)
	path, err := u.expand(path)
	if err != nil {
		return "", err
	}
	if path == "~" || strings.HasPrefix(path, "~/") {
		if u.Home == "" {
			return "", fmt.Errorf("user %s: mail location %q uses ~ but the user has no home directory", u.Name, loc)
		}
		path = u.Home + path[1:]
	}
	if !filepath.IsAbs(path) {
		return "", fmt.Errorf("user %s: mail location %q is not an absolute path", u.Name, loc)
	}
	return filepath.Clean(path), nil
}

// firstLocationField returns the path of a Dovecot mail location: up to
// the first single ':', with "::" meaning ':'.
func firstLocationField(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == ':' {
			if i+1 < len(s) && s[i+1] == ':' {
				b.WriteByte(':')
				i++
				continue
			}
			break
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// expand replaces Dovecot's %-variables in s.
func (u *User) expand(s string) (string, error) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	vars := map[string]string{
		"u": u.Name, "user": u.Name,
		"n": u.Local(), "username": u.Local(),
		"d": u.Domain(), "domain": u.Domain(),
		"h": u.Home, "home": u.Home,
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		rest := s[i+1:]
		var name string
		lower := false
		switch {
		case strings.HasPrefix(rest, "%"):
			b.WriteByte('%')
			i++
			continue
		case strings.HasPrefix(rest, "{"):
			end := strings.IndexByte(rest, '}')
			if end < 0 {
				return "", fmt.Errorf("user %s: unterminated %%{ in mail location", u.Name)
			}
			name = rest[1:end]
			i += end + 1
		case strings.HasPrefix(rest, "L") && len(rest) > 1:
			name, lower = rest[1:2], true
			i += 2
		case rest != "":
			name = rest[:1]
			i++
		}
		v, ok := vars[name]
		if !ok {
			return "", fmt.Errorf("user %s: unknown variable %%%s in mail location", u.Name, name)
		}
		if lower {
			v = strings.ToLower(v)
		}
		b.WriteString(v)
	}
	return b.String(), nil
}
