package pop3

import (
	"errors"
	"reflect"
	"testing"
)

func TestParseCommand(t *testing.T) {
	tests := []struct {
		line string
		want Command
		err  error
	}{
		{"STAT", Command{Verb: "STAT"}, nil},
		{"stat", Command{Verb: "STAT"}, nil},
		{"LiSt 2", Command{Verb: "LIST", Args: []string{"2"}, Rest: "2"}, nil},
		{"TOP 1 10", Command{Verb: "TOP", Args: []string{"1", "10"}, Rest: "1 10"}, nil},
		{"STAT ", Command{Verb: "STAT", Rest: ""}, nil},
		{"LIST  2 ", Command{Verb: "LIST", Args: []string{"2"}, Rest: " 2 "}, nil},
		{"PASS  two words ", Command{Verb: "PASS", Args: []string{"two", "words"}, Rest: " two words "}, nil},
		{"USER caf\xc3\xa9", Command{Verb: "USER", Args: []string{"caf\xc3\xa9"}, Rest: "caf\xc3\xa9"}, nil},
		{"X-FOO bar", Command{Verb: "X-FOO", Args: []string{"bar"}, Rest: "bar"}, nil},
		{"", Command{}, ErrEmpty},
		{"   ", Command{}, ErrEmpty},
		{" STAT", Command{}, ErrBadKeyword},
		{"ST@T", Command{}, ErrBadKeyword},
		{"ABCDEFGHIJKLMNOPQ", Command{}, ErrBadKeyword},
		{"USER a\x00b", Command{}, ErrControl},
		{"USER a\tb", Command{}, ErrControl},
		{"RETR 1\r", Command{}, ErrControl},
		{"NOOP\x7f", Command{}, ErrControl},
		{"\xffSTAT", Command{}, ErrBadKeyword},
	}
	for _, tt := range tests {
		got, err := ParseCommand([]byte(tt.line))
		if !errors.Is(err, tt.err) || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseCommand(%q) = %#v, %v; want %#v, %v", tt.line, got, err, tt.want, tt.err)
		}
	}
}

func TestParseNumber(t *testing.T) {
	max := int(^uint(0) >> 1)
	tests := []struct {
		in   string
		want int
		bad  bool
	}{
		{"1", 1, false}, {"0", 0, false}, {"007", 7, false}, {"000", 0, false},
		{"2147483648", 2147483648, false}, {"99999999999", max, false},
		{"0000000000000000000001", 1, false},
		{"", 0, true}, {"-1", 0, true}, {"+1", 0, true}, {"1a", 0, true}, {"0x1", 0, true}, {"١", 0, true},
	}
	for _, tt := range tests {
		got, err := parseNumber(tt.in)
		if (err != nil) != tt.bad || got != tt.want {
			t.Errorf("parseNumber(%q) = %d, %v", tt.in, got, err)
		}
	}
}

func TestParsePlain(t *testing.T) {
	tests := []struct {
		in                string
		authz, authc, pwd string
		good              bool
	}{
		{"\x00user\x00pass", "", "user", "pass", true},
		{"admin\x00user\x00pass", "admin", "user", "pass", true},
		{"\x00user\x00", "", "user", "", true},
		{"\x00\x00pass", "", "", "", false},
		{"user\x00pass", "", "", "", false},
		{"\x00u\x00p\x00", "", "", "", false},
		{"", "", "", "", false},
	}
	for _, tt := range tests {
		a, b, c, good := ParsePlain([]byte(tt.in))
		if a != tt.authz || b != tt.authc || c != tt.pwd || good != tt.good {
			t.Errorf("ParsePlain(%q) = %q %q %q %v", tt.in, a, b, c, good)
		}
	}
}

// FuzzParseCommand checks that the parser never panics, that what it
// accepts has an upper-case keyword and clean arguments, and that
// formatting a parsed command and parsing it again gives the same
// keyword and arguments (parse∘format∘parse = parse).
func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"STAT", "list 2", "TOP 1 10", "PASS a b  c", "", " ", "USER \x00", "AUTH PLAIN =", "X-Y", "RETR -1"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		cmd, err := ParseCommand(line)
		if err != nil {
			return
		}
		for _, c := range []byte(cmd.Verb) {
			if 'a' <= c && c <= 'z' {
				t.Fatalf("keyword not upper-cased: %q", cmd.Verb)
			}
		}
		for _, a := range cmd.Args {
			if a == "" {
				t.Fatalf("empty argument in %q", line)
			}
			for _, c := range []byte(a) {
				if c <= ' ' || c == 0x7f {
					t.Fatalf("argument %q holds %q", a, c)
				}
			}
		}
		again, err := ParseCommand([]byte(cmd.String()))
		if err != nil || again.Verb != cmd.Verb || !reflect.DeepEqual(again.Args, cmd.Args) {
			t.Fatalf("parse(format(%#v)) = %#v, %v", cmd, again, err)
		}
	})
}
