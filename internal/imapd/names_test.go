package imapd

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestFolderName(t *testing.T) {
	tests := []struct {
		name, want string
		ok         bool
	}{
		{"INBOX", "", true},
		{"inbox", "", true},
		{"Sent", "Sent", true},
		{"Lists.go", "Lists.go", true},
		{"Entwürfe", "Entw&APw-rfe", true},
		{"a&b", "a&-b", true},
		{"日本語", "&ZeVnLIqe-", true},
		{"inbox.sub", "INBOX.sub", true},
		{"../x", "", false},
		{"..", "", false},
		{".hidden", "", false},
		{"a.", "", false},
		{"a..b", "", false},
		{"/etc/passwd", "", false},
		{"a/b", "", false},
		{"", "", false},
		{"a\x00b", "", false},
		{"a\rb", "", false},
		{"a\nb", "", false},
		{"a\x7fb", "", false},
		{"a\u0085b", "", false},
		{"*", "", false},
		{"a%", "", false},
		{strings.Repeat("x", 201), "", false},
		{strings.Repeat("é", 80), "", false}, // 80 runes, > 200 bytes encoded
		{"\xff", "", false},
	}
	for _, tt := range tests {
		got, err := folderName(tt.name)
		if (err == nil) != tt.ok || (tt.ok && got != tt.want) {
			t.Errorf("folderName(%q) = %q, %v; want %q ok=%v", tt.name, got, err, tt.want, tt.ok)
		}
	}
}

func TestUTF7(t *testing.T) {
	good := map[string]string{
		"":             "",
		"plain":        "plain",
		"&-":           "&",
		"Entw&APw-rfe": "Entwürfe",
		"&ZeVnLIqe-":   "日本語",
		"&2D3eAA-":     "\U0001f600"[:0] + "\U0001F600",
	}
	for in, want := range good {
		got, err := decodeUTF7(in)
		if err != nil || got != want {
			t.Errorf("decodeUTF7(%q) = %q, %v; want %q", in, got, err, want)
		}
		if enc := encodeUTF7(want); enc != in {
			t.Errorf("encodeUTF7(%q) = %q, want %q", want, enc, in)
		}
	}
	bad := []string{"&", "&AGE", "&AGE-", "&Jjo-&Jjo-", "&Jjo!-", "\x01", "é", "&2D0-", "&AEE-"}
	for _, in := range bad {
		if got, err := decodeUTF7(in); err == nil {
			t.Errorf("decodeUTF7(%q) = %q, want an error", in, got)
		}
	}
}

// FuzzUTF7 checks that decoding accepts only what encoding produces:
// encode(decode(s)) == s for every s that decodes, and decode(encode(u))
// == u for valid UTF-8.
func FuzzUTF7(f *testing.F) {
	for _, s := range []string{"INBOX", "Entw&APw-rfe", "&-", "&ZeVnLIqe-", "a.b", "&2D3eAA-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if u, err := decodeUTF7(s); err == nil {
			if enc := encodeUTF7(u); enc != s {
				t.Fatalf("encode(decode(%q)) = %q", s, enc)
			}
		}
		if utf8.ValidString(s) {
			enc := encodeUTF7(s)
			if u, err := decodeUTF7(enc); err != nil || u != s {
				t.Fatalf("decode(encode(%q)) = %q, %v", s, u, err)
			}
		}
	})
}

// FuzzFolderName checks the gate: whatever it accepts is one safe
// directory name below the Maildir.
func FuzzFolderName(f *testing.F) {
	for _, s := range []string{"INBOX", "a.b", "../x", "/abs", "a\x00", "Entwürfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := folderName(s)
		if err != nil || got == "" {
			return
		}
		if strings.ContainsAny(got, "/\x00") || strings.HasPrefix(got, ".") || strings.Contains(got, "..") || len(got) > maxNameLen {
			t.Fatalf("folderName(%q) = %q: unsafe", s, got)
		}
		if back, ok := mailboxName(got); !ok || (back != s && !strings.EqualFold(back, s)) {
			t.Fatalf("mailboxName(folderName(%q)) = %q, %v", s, back, ok)
		}
	})
}
