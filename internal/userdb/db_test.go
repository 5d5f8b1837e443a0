package userdb

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func writeUsers(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil { // as editors and tools replace it
		t.Fatal(err)
	}
}

const testUsers = `# test users
alice:{PLAIN}alice-pw:1001:1001:Alice Liddell,Room 2:/home/alice:/bin/sh
bob@Example.ORG:{SHA512-CRYPT}$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1:1002:1002::/home/bob::userdb_mail=maildir:~/Mail/inbox:LAYOUT=fs
carol@example.net:{NOPE}xyz:1003:1003::/home/carol
dave@example.net:{PLAIN}dave-pw:1004:1004::/home/dave::nologin
eve@example.net::1005:1005::/home/eve
Frank@example.net:{PLAIN}frank-pw:1006:1006::/home/frank
`

func openTest(t *testing.T) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "users")
	writeUsers(t, path, testUsers)
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	return db, path
}

func TestLookup(t *testing.T) {
	db, _ := openTest(t)
	tests := []struct{ name, want string }{
		{"alice", "alice"},
		{"Alice", "alice"},             // folded, unique
		{"alice@example.org", "alice"}, // bare entry for any local domain
		{"bob@example.org", "bob@Example.ORG"},
		{"bob@EXAMPLE.org", "bob@Example.ORG"},
		{"BOB@example.org", "bob@Example.ORG"},
		{"frank@example.net", "Frank@example.net"},
		{"bob", ""}, // a domain user needs the domain
		{"bob@example.net", ""},
		{"nobody", ""},
		{"", ""},
		{"alice@", ""},
		{"alice@a@b", ""},
	}
	for _, tt := range tests {
		u, err := db.Lookup(tt.name)
		switch {
		case tt.want == "":
			if !errors.Is(err, ErrNoUser) {
				t.Errorf("Lookup(%q) = %v, %v; want ErrNoUser", tt.name, u, err)
			}
		case err != nil || u.Name != tt.want:
			t.Errorf("Lookup(%q) = %v, %v; want %s", tt.name, u, err, tt.want)
		}
	}
	u, _ := db.Lookup("alice")
	u.Name = "changed" // a copy
	if u2, _ := db.Lookup("alice"); u2.Name != "alice" || u2.FullName() != "Alice Liddell" || u2.UID != 1001 {
		t.Fatalf("%+v", u2)
	}
	for _, d := range []string{"example.org", "EXAMPLE.ORG", "example.net", "example.net."} {
		if !db.IsLocalDomain(d) {
			t.Errorf("IsLocalDomain(%q) false", d)
		}
	}
	if db.IsLocalDomain("example.com") || db.IsLocalDomain("") {
		t.Error("IsLocalDomain of a foreign domain")
	}
	users, err := db.Users()
	if err != nil || len(users) != 6 || users[0].Name != "alice" {
		t.Fatalf("Users: %v %v", users, err)
	}
}

func TestAuthenticate(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	tests := []struct {
		name, pw string
		want     error // nil: success
	}{
		{"alice", "alice-pw", nil},
		{"alice", "wrong", ErrAuth},
		{"alice", "", ErrAuth},
		{"bob@example.org", "Hello world!", nil},
		{"bob@EXAMPLE.ORG", "Hello world!", nil},
		{"bob@example.org", "hello world!", ErrAuth},
		{"nobody", "x", ErrAuth},
		{"carol@example.net", "x", ErrConfig},    // unknown scheme: not a login failure
		{"dave@example.net", "dave-pw", ErrAuth}, // nologin
		{"eve@example.net", "", ErrAuth},         // no password
	}
	for _, tt := range tests {
		u, err := db.Authenticate(ctx, tt.name, tt.pw)
		if tt.want == nil {
			if err != nil || u == nil {
				t.Errorf("Authenticate(%q, %q): %v", tt.name, tt.pw, err)
			}
			continue
		}
		if !errors.Is(err, tt.want) || u != nil {
			t.Errorf("Authenticate(%q, %q) = %v, %v; want %v", tt.name, tt.pw, u, err, tt.want)
		}
	}
	var a Authenticator = db
	_ = a
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	// All slots taken and the context cancelled: no hashing happens.
	for range cap(db.verifySlots) {
		db.verifySlots <- struct{}{}
	}
	if _, err := db.Authenticate(cctx, "alice", "alice-pw"); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}

// TestReload: edits are seen without reopening; a broken edit gives
// ErrConfig naming file:line until it is fixed.
func TestReload(t *testing.T) {
	db, path := openTest(t)
	writeUsers(t, path, testUsers+"zed:{PLAIN}z\n")
	if _, err := db.Lookup("zed"); err != nil {
		t.Fatalf("new user not seen: %v", err)
	}
	writeUsers(t, path, "alice:{PLAIN}new-pw\n")
	if _, err := db.Lookup("zed"); !errors.Is(err, ErrNoUser) {
		t.Fatalf("removed user still there: %v", err)
	}
	if _, err := db.Authenticate(context.Background(), "alice", "new-pw"); err != nil {
		t.Fatalf("changed password: %v", err)
	}
	writeUsers(t, path, "alice:{PLAIN}new-pw\nbroken line\n")
	_, err := db.Lookup("alice")
	if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), path+":2:") {
		t.Fatalf("broken file: %v", err)
	}
	if db.IsLocalDomain("example.org") {
		t.Fatal("broken file: domain still local")
	}
	// An in-place edit of the same size within the same second is seen
	// too (inode, size, mtime and ctime are compared; here the mtime).
	writeUsers(t, path, "alice:{PLAIN}pw-one\n")
	db.Lookup("alice")
	os.WriteFile(path, []byte("alice:{PLAIN}pw-two\n"), 0o640)
	future := time.Now().Add(time.Minute)
	os.Chtimes(path, future, future)
	if _, err := db.Authenticate(context.Background(), "alice", "pw-two"); err != nil {
		t.Fatalf("in-place edit: %v", err)
	}
	os.Remove(path)
	if _, err := db.Lookup("alice"); !errors.Is(err, ErrConfig) {
		t.Fatalf("missing file: %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(filepath.Join(dir, "missing")); !errors.Is(err, ErrConfig) {
		t.Errorf("missing: %v", err)
	}
	p := filepath.Join(dir, "users")
	os.WriteFile(p, []byte("a:x\n"), 0o666)
	os.Chmod(p, 0o666)
	if _, err := Open(p); err == nil || !strings.Contains(err.Error(), "writable by everyone") {
		t.Errorf("world-writable: %v", err)
	}
	if _, err := Open(dir); !errors.Is(err, ErrConfig) {
		t.Errorf("directory: %v", err)
	}
}

func TestConcurrentUse(t *testing.T) {
	db, path := openTest(t)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 50 {
				if i == 0 && j%10 == 0 {
					writeUsers(t, path, testUsers)
				}
				if _, err := db.Authenticate(context.Background(), "alice", "alice-pw"); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestMaildir(t *testing.T) {
	tests := []struct {
		name, home, mail string
		want             string
		err              string
	}{
		{"bob", "/home/bob", "", "/home/bob/Maildir", ""},
		{"bob", "/home/bob", "maildir:~/Maildir", "/home/bob/Maildir", ""},
		{"bob", "/home/bob", "maildir:~", "/home/bob", ""},
		{"bob", "/home/bob", "maildir:~/Mail:LAYOUT=fs:INBOX=~/Mail/.INBOX", "/home/bob/Mail", ""},
		{"bob", "/home/bob", "MAILDIR:/var/mail/bob", "/var/mail/bob", ""},
		{"bob", "/home/bob", "/srv/mail/bob/", "/srv/mail/bob", ""},
		{"bob", "/home/bob", "~/md", "/home/bob/md", ""},
		{"bob", "/home/bob", "maildir:/srv/a::b/Maildir", "/srv/a:b/Maildir", ""},
		{"bob@Example.org", "/home/bob", "maildir:/srv/vmail/%d/%n/Maildir", "/srv/vmail/example.org/bob/Maildir", ""},
		{"Bob@Example.org", "", "maildir:/srv/%Ld/%Ln/%u/%%", "/srv/example.org/bob/Bob@Example.org/%", ""},
		{"bob@example.org", "/h", "maildir:/srv/%{domain}/%{username}:%{home}", "/srv/example.org/bob", ""},
		{"bob", "/h", "maildir:%h/Maildir", "/h/Maildir", ""},
		{"bob", "", "", "", "neither a home"},
		{"bob", "", "maildir:~/Maildir", "", "no home directory"},
		{"bob", "/h", "mbox:~/mail", "", "not a Maildir"},
		{"bob", "/h", "maildir:Maildir", "", "not an absolute path"},
		{"bob", "/h", "maildir:/srv/%x", "", "unknown variable %x"},
		{"bob", "/h", "maildir:/srv/%{nope}", "", "unknown variable"},
		{"bob", "/h", "maildir:/srv/%{user", "", "unterminated"},
		{"bob", "/h", "maildir:/srv/%", "", "unknown variable"},
	}
	for _, tt := range tests {
		u := User{Name: tt.name, Home: tt.home}
		if tt.mail != "" {
			u.Extra = map[string]string{"userdb_mail": tt.mail}
		}
		got, err := u.MaildirPath()
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) || u.Maildir() != "" {
				t.Errorf("%+v: %q, %v; want error %q", u, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want || u.Maildir() != tt.want {
			t.Errorf("%+v: %q, %v; want %q", u, got, err, tt.want)
		}
	}
	// "mail" (a userdb-only file) works too; userdb_mail wins.
	u := User{Name: "x", Home: "/h", Extra: map[string]string{"mail": "maildir:/a", "userdb_mail": "maildir:/b"}}
	if u.Maildir() != "/b" {
		t.Error(u.Maildir())
	}
	delete(u.Extra, "userdb_mail")
	if u.Maildir() != "/a" {
		t.Error(u.Maildir())
	}
}

func TestFullName(t *testing.T) {
	for gecos, want := range map[string]string{"": "", "Bob Smith": "Bob Smith", " Bob Smith ,Room 1,,": "Bob Smith", ",x": ""} {
		if got := (&User{Gecos: gecos}).FullName(); got != want {
			t.Errorf("FullName(%q) = %q", gecos, got)
		}
	}
}
