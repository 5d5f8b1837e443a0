package aliases

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"reflect"
	"strings"
	"testing"
)

const sample = `# test aliases
postmaster: root
root: alice
staff:	alice, Bob@Example.ORG,
	:include:/lists/staff

exemple-email-list: jsmith, hsmith
bob: \bob, "|/usr/bin/vacation bob"
loop1: loop2
loop2: loop1, carol
self: self, dave
save: /var/mail/save
`

func parse(t *testing.T, s string) *Aliases {
	t.Helper()
	a, err := Parse(strings.NewReader(s), "aliases")
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"  alice\n", "aliases:1: continuation line without an alias"},
		{"nocolon\n", "aliases:1: expected"},
		{": alice\n", "aliases:1: expected"},
		{"a: \n", "aliases:1: alias \"a\" has no targets"},
		{"a: b\nA: c\n", "aliases:2: alias \"a\" already defined at line 1"},
		{"a b: c\n", "aliases:1: bad alias name"},
		{"a: \"unterminated\n", "aliases:1: alias \"a\": unterminated quote"},
		{"a: :include:relative\n", "aliases:1: alias \"a\": :include: needs an absolute path"},
		{"a: |\n", "empty pipe command"},
		{"a: x\n\nb: c d\n", "aliases:3: alias \"b\": bad address"},
		{"a: x\x01y\n", "control character"},
	}
	for _, tt := range tests {
		_, err := Parse(strings.NewReader(tt.in), "aliases")
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %v, want %q", tt.in, err, tt.want)
		}
	}
}

func TestParse(t *testing.T) {
	a := parse(t, sample)
	tests := []struct {
		name string
		want []Target
	}{
		{"STAFF", []Target{{Address, "alice", false}, {Address, "Bob@Example.ORG", false}, {Include, "/lists/staff", false}}},
		{"bob", []Target{{Address, "bob", true}, {Pipe, "/usr/bin/vacation bob", false}}},
		{"save", []Target{{File, "/var/mail/save", false}}},
	}
	for _, tt := range tests {
		got, ok := a.Lookup(tt.name)
		if !ok || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Lookup(%q) = %+v %v, want %+v", tt.name, got, ok, tt.want)
		}
	}
	if _, ok := a.Lookup("nobody"); ok {
		t.Error("nobody found")
	}
}

func TestExpand(t *testing.T) {
	a := parse(t, sample)
	a.ReadFile = func(p string) ([]byte, error) {
		switch p {
		case "/lists/staff":
			return []byte("# staff\nerin\nfrank@foo.com, alice\n:include:/lists/staff\n"), nil
		}
		return nil, fs.ErrNotExist
	}
	local := func(addr string) (string, bool) {
		l, d, _ := strings.Cut(addr, "@")
		return l, strings.EqualFold(d, "foo.com")
	}
	str := func(ts []Target) string {
		var s []string
		for _, t := range ts {
			s = append(s, t.String())
		}
		return strings.Join(s, " ")
	}
	tests := []struct{ name, want string }{
		{"postmaster", "alice"},
		{"staff", "alice Bob@Example.ORG erin frank@foo.com"},
		{"exemple-email-list", "jsmith hsmith"},
		{"bob", `bob "|/usr/bin/vacation bob"`},
		{"loop1", "loop1 carol"},
		{"self", "self dave"},
		{"save", "/var/mail/save"},
	}
	for _, tt := range tests {
		got, ok, err := a.Expand(tt.name, local)
		if err != nil || !ok || str(got) != tt.want {
			t.Errorf("Expand(%q) = %q %v %v, want %q", tt.name, str(got), ok, err, tt.want)
		}
	}
	if _, ok, _ := a.Expand("alice", local); ok {
		t.Error("alice is not an alias")
	}
	b := parse(t, "x: :include:/missing\n")
	b.ReadFile = a.ReadFile
	if _, _, err := b.Expand("x", nil); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing include: %v", err)
	}
	// deep chains are bounded
	var deep strings.Builder
	for i := 0; i < 40; i++ {
		fmt.Fprintf(&deep, "a%d: a%d\n", i, i+1)
	}
	if _, _, err := parse(t, deep.String()).Expand("a0", nil); err == nil {
		t.Error("40-deep chain expanded")
	}
}

// FuzzParse: parsing never panics, and for a file that parses, Format
// then Parse gives the same entries (parse∘format is the identity).
func FuzzParse(f *testing.F) {
	f.Add(sample)
	f.Add("a: b\n c\n")
	f.Add("x: \"|cmd, with comma\", \\y\n")
	f.Add("a: :include:/x\nb: /file\n")
	f.Fuzz(func(t *testing.T, s string) {
		a, err := Parse(strings.NewReader(s), "f")
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := Format(&buf, a.Entries()); err != nil {
			t.Fatal(err)
		}
		b, err := Parse(&buf, "g")
		if err != nil {
			t.Fatalf("re-parse of %q: %v\n%s", s, err, buf.String())
		}
		ea, eb := a.Entries(), b.Entries()
		if len(ea) != len(eb) {
			t.Fatalf("%d entries, then %d", len(ea), len(eb))
		}
		for i := range ea {
			if ea[i].Name != eb[i].Name || !reflect.DeepEqual(ea[i].Targets, eb[i].Targets) {
				t.Fatalf("entry %d: %+v then %+v\n%s", i, ea[i], eb[i], buf.String())
			}
		}
	})
}
