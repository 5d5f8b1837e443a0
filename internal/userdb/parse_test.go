package userdb

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseLine(t *testing.T) {
	tests := []struct {
		line string
		want *User // nil: skipped (comment/blank)
		err  string
	}{
		// Skipped lines.
		{line: ""},
		{line: "   "},
		{line: "# a comment"},
		{line: "   # an indented comment"},
		{line: "\r"},

		// Field counts.
		{line: "bob:{PLAIN}pw", want: &User{Name: "bob", Password: "{PLAIN}pw", UID: -1, GID: -1}},
		{line: "bob:", want: &User{Name: "bob", UID: -1, GID: -1}},
		{line: "bob:{PLAIN}pw:1000:100", want: &User{Name: "bob", Password: "{PLAIN}pw", UID: 1000, GID: 100}},
		{line: "bob:x:1000:100:Bob Smith,Room 1,555-1234:/home/bob:/bin/sh",
			want: &User{Name: "bob", Password: "x", UID: 1000, GID: 100, Gecos: "Bob Smith,Room 1,555-1234", Home: "/home/bob", Shell: "/bin/sh"}},
		{line: "bob:x::::/home/bob", want: &User{Name: "bob", Password: "x", UID: -1, GID: -1, Home: "/home/bob"}},
		{line: "bob:x:0:0", want: &User{Name: "bob", Password: "x", UID: 0, GID: 0}},
		{line: "bob:x:4294967294:1", want: &User{Name: "bob", Password: "x", UID: 4294967294, GID: 1}},
		{line: "bob:{PLAIN}pw\r", want: &User{Name: "bob", Password: "{PLAIN}pw", UID: -1, GID: -1}},
		{line: "bob:{PLAIN}a password with spaces", want: &User{Name: "bob", Password: "{PLAIN}a password with spaces", UID: -1, GID: -1}},

		// Extra fields, including ':' inside them.
		{line: "bob@example.org:x:1:1::/home/bob::userdb_mail=maildir:~/Maildir:LAYOUT=fs nologin quota_rule=*:storage=1G",
			want: &User{Name: "bob@example.org", Password: "x", UID: 1, GID: 1, Home: "/home/bob",
				Extra: map[string]string{"userdb_mail": "maildir:~/Maildir:LAYOUT=fs", "nologin": "", "quota_rule": "*:storage=1G"}}},
		{line: "bob:x:1:1::::  a=1   b=  ", want: &User{Name: "bob", Password: "x", UID: 1, GID: 1, Extra: map[string]string{"a": "1", "b": ""}}},
		{line: "bob:x:1:1::::   ", want: &User{Name: "bob", Password: "x", UID: 1, GID: 1}},
		{line: "bob:x:1:1::::k=v=w", want: &User{Name: "bob", Password: "x", UID: 1, GID: 1, Extra: map[string]string{"k": "v=w"}}},

		// Errors.
		{line: "bob", err: "no ':'"},
		{line: ":x", err: "empty user name"},
		{line: "bo b:x", err: "holds a space"},
		{line: "../etc:x", err: "'/'"},
		{line: "a@b@c:x", err: "more than one '@'"},
		{line: "@example.org:x", err: "empty part"},
		{line: "bob@:x", err: "empty part"},
		{line: "bob:x:abc:1", err: "uid \"abc\" is not a number"},
		{line: "bob:x:1:-1", err: "gid \"-1\""},
		{line: "bob:x:01:1", err: "uid \"01\""},
		{line: "bob:x:4294967295:1", err: "uid"},
		{line: "bob:x:1:1:Bob: Smith:/home/bob:/bin/sh", err: "home \" Smith\" is not an absolute path"},
		{line: "bob:x:1:1::home/bob", err: "home \"home/bob\""},
		{line: "bob:x:1:1:::sh", err: "shell \"sh\""},
		{line: "bob:x:1:1::::key=\"a b\"", err: "no quoting"},
		{line: "bob:x:1:1::::=v", err: "bad key"},
		{line: "bob:x:1:1::::a/b=v", err: "bad key"},
		{line: "bob:x:1:1::::a=1 a=2", err: "given twice"},
		{line: "bob:x\x00:1", err: "control character 0x00"},
		{line: "bob:x:1:1:Bob\tSmith", err: "control character 0x09"},
		{line: "bob:x\x7f", err: "control character 0x7f"},
		{line: "bob:x\rmore", err: "control character 0x0d"},
	}
	for _, tt := range tests {
		u, ok, err := ParseLine(tt.line)
		switch {
		case tt.err != "":
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseLine(%q): err %v, want %q", tt.line, err, tt.err)
			}
		case err != nil:
			t.Errorf("ParseLine(%q): %v", tt.line, err)
		case tt.want == nil:
			if ok {
				t.Errorf("ParseLine(%q) = %+v, want a skipped line", tt.line, u)
			}
		case !ok || !reflect.DeepEqual(u, *tt.want):
			t.Errorf("ParseLine(%q)\n got  %+v\n want %+v", tt.line, u, *tt.want)
		}
	}
}

func TestParseFile(t *testing.T) {
	users, err := Parse(strings.NewReader("# users\n\nalice:{PLAIN}a\r\nbob@Example.ORG:{PLAIN}b\nbob@example.com:{PLAIN}c\n"), "users")
	if err != nil || len(users) != 3 || users[1].Domain() != "example.org" || users[1].Local() != "bob" {
		t.Fatalf("%+v %v", users, err)
	}
	tests := []struct{ in, want string }{
		{"alice:x\nbob\n", "users:2: want user:password"},
		{"alice:x\n\n# c\nalice:y\n", "users:4: user alice is already defined on line 1"},
		{"bob@example.org:x\nbob@EXAMPLE.org:y\n", "users:2: user bob@EXAMPLE.org is already defined on line 1"},
		{"a:x\n" + strings.Repeat("b", MaxLine+1) + "\n", "users:2: line longer than"},
	}
	for _, tt := range tests {
		_, err := Parse(strings.NewReader(tt.in), "users")
		var pe *ParseError
		if err == nil || err.Error() != tt.want && !strings.HasPrefix(err.Error(), tt.want) || !errors.As(err, &pe) || !errors.Is(err, ErrConfig) {
			t.Errorf("Parse(%q): %v, want %q", tt.in, err, tt.want)
		}
	}
	// Different local parts differing only in case are distinct users.
	if _, err := Parse(strings.NewReader("Bob:x\nbob:y\n"), "users"); err != nil {
		t.Errorf("Bob and bob: %v", err)
	}
}

func TestFormat(t *testing.T) {
	tests := []struct {
		u    User
		want string
		err  bool
	}{
		{User{Name: "bob", Password: "{PLAIN}x", UID: -1, GID: -1}, "bob:{PLAIN}x", false},
		{User{Name: "bob", UID: -1, GID: -1}, "bob:", false},
		{User{Name: "bob", Password: "x", UID: 1, GID: 2, Home: "/h", Extra: map[string]string{"z": "", "a": "maildir:~/M:LAYOUT=fs"}},
			"bob:x:1:2::/h::a=maildir:~/M:LAYOUT=fs z", false},
		{User{Name: "bob", Password: "x", UID: -1, GID: -1, Gecos: "a:b"}, "", true},
		{User{Name: "bob", Password: "x", UID: -1, GID: -1, Extra: map[string]string{"k": "a b"}}, "", true},
		{User{Name: "bad name", UID: -1, GID: -1}, "", true},
	}
	for _, tt := range tests {
		got, err := Format(tt.u)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("Format(%+v) = %q, %v; want %q", tt.u, got, err, tt.want)
		}
	}
}

// FuzzParseLine: no panic, and for every line that parses, Format gives
// a line that parses to the same user (parse∘format is the identity) and
// that Format reproduces exactly.
func FuzzParseLine(f *testing.F) {
	for _, s := range []string{
		"bob:{PLAIN}pw", "bob:x:1000:100:Bob,,,:/home/bob:/bin/sh",
		"bob@example.org:{BLF-CRYPT}$2y$05$abc:1:1::/home/bob::userdb_mail=maildir:~/Maildir:LAYOUT=fs nologin",
		"# comment", "", "a:b:c", "x:y:::::::::", "u:p:1:1:g,h:/h:/s:k=v k2", "bob:x:1:1::::a=1 a=2",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		u, ok, err := ParseLine(line)
		if err != nil || !ok {
			return
		}
		out, err := Format(u)
		if err != nil {
			t.Fatalf("Format of parsed %q: %v", line, err)
		}
		back, ok, err := ParseLine(out)
		if err != nil || !ok || !sameUser(back, u) {
			t.Fatalf("%q -> %q -> %+v, %v", line, out, back, err)
		}
		if again, _ := Format(back); again != out {
			t.Fatalf("Format not stable: %q then %q", out, again)
		}
	})
}

// FuzzParse: a whole file never panics, and every user it yields has a
// valid name and formats.
func FuzzParse(f *testing.F) {
	f.Add("alice:x\nbob:y\n")
	f.Add("a:x\na:y\n")
	f.Add("#\n\r\n:x\n")
	f.Fuzz(func(t *testing.T, data string) {
		users, err := Parse(strings.NewReader(data), "fuzz")
		if err != nil {
			return
		}
		for _, u := range users {
			if checkName(u.Name) != nil {
				t.Fatalf("bad name %q accepted", u.Name)
			}
			if _, err := Format(u); err != nil {
				t.Fatal(err)
			}
		}
	})
}
