package maildir

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

func TestParseName(t *testing.T) {
	tests := []struct {
		name    string
		ok      bool
		key     string
		hasInfo bool
		flags   string
		size    int64
		crlf    int64
		time    time.Time
	}{
		// Ours: <sec>.M<usec>P<pid>Q<seq>R<rand>.<host>,S=,W=
		{"1700000000.M123456P42Q7Rdeadbeefdeadbeef.mx,S=100,W=104", true,
			"1700000000.M123456P42Q7Rdeadbeefdeadbeef.mx,S=100,W=104", false, "", 100, 104, time.Unix(1700000000, 123456000)},
		// Dovecot's, in cur/ with flags (as Dovecot wrote it in our test run).
		{"1795643511.M917824P11916.vm,S=18,W=21:2,Sab", true,
			"1795643511.M917824P11916.vm,S=18,W=21", true, "Sab", 18, 21, time.Unix(1795643511, 917824000)},
		// Flags are sorted and made unique.
		{"1.M1P1.h:2,SRFS", true, "1.M1P1.h", true, "FRS", -1, -1, time.Unix(1, 1000)},
		// Empty info moves a message to cur/ without flags.
		{"1.M1P1.h:2,", true, "1.M1P1.h", true, "", -1, -1, time.Unix(1, 1000)},
		// Old qmail names: <sec>.<pid>.<host>, whole seconds.
		{"1000000000.12345.example.org", true, "1000000000.12345.example.org", false, "", -1, -1, time.Unix(1000000000, 0)},
		// No time: still a message, sorted first.
		{"message-one", true, "message-one", false, "", -1, -1, time.Time{}},
		// An unknown info version keeps the key, no flags.
		{"1.M1.h:1,xyz", true, "1.M1.h", false, "", -1, -1, time.Unix(1, 1000)},
		// Broken sizes count as absent.
		{"1.M1.h,S=abc,W=", true, "1.M1.h,S=abc,W=", false, "", -1, -1, time.Unix(1, 1000)},
		// Only S=, and other fields around it.
		{"1.M1.h,X=1,S=5,Z:2,S", true, "1.M1.h,X=1,S=5,Z", true, "S", 5, -1, time.Unix(1, 1000)},
		// Escaped host.
		{`1.M1P1.a\057b\072c,S=1,W=1`, true, `1.M1P1.a\057b\072c,S=1,W=1`, false, "", 1, 1, time.Unix(1, 1000)},
		// Not messages.
		{"", false, "", false, "", -1, -1, time.Time{}},
		{".hidden", false, "", false, "", -1, -1, time.Time{}},
		{":2,S", false, "", false, "", -1, -1, time.Time{}},
		{"a\nb", false, "", false, "", -1, -1, time.Time{}},
		{"a\rb", false, "", false, "", -1, -1, time.Time{}},
		{"a\x00b", false, "", false, "", -1, -1, time.Time{}},
	}
	for _, tt := range tests {
		n, ok := ParseName(tt.name)
		if ok != tt.ok {
			t.Errorf("ParseName(%q) ok = %v, want %v", tt.name, ok, tt.ok)
			continue
		}
		if !ok {
			continue
		}
		if n.Key != tt.key || n.HasInfo != tt.hasInfo || n.Flags != tt.flags || n.Size != tt.size || n.CRLFSize != tt.crlf || !n.Time.Equal(tt.time) {
			t.Errorf("ParseName(%q) = %+v, want key %q info %v flags %q S=%d W=%d time %v",
				tt.name, n, tt.key, tt.hasInfo, tt.flags, tt.size, tt.crlf, tt.time)
		}
	}
}

func TestFormatName(t *testing.T) {
	for _, name := range []string{
		"1795643511.M917824P11916.vm,S=18,W=21:2,Sab",
		"1.M1P1.h:2,",
		"1.M1P1.h:2,DFPRSTabcz",
	} {
		n, ok := ParseName(name)
		if !ok {
			t.Fatalf("ParseName(%q) failed", name)
		}
		if got := FormatName(n.Key, n.Flags); got != name {
			t.Errorf("FormatName(ParseName(%q)) = %q", name, got)
		}
		if got := n.String(); got != name {
			t.Errorf("Name.String() = %q, want %q", got, name)
		}
	}
	if got := FormatName("k", "zSaS"); got != "k:2,Saz" {
		t.Errorf("FormatName normalises flags: got %q", got)
	}
}

func TestNormalizeFlags(t *testing.T) {
	for in, want := range map[string]string{
		"":        "",
		"S":       "S",
		"SR":      "RS",
		"RSS":     "RS",
		"baFS":    "FSab",
		"S1-R":    "RS",
		"DFPRST":  "DFPRST",
		"zyxTSRP": "PRSTxyz",
	} {
		if got := NormalizeFlags(in); got != want {
			t.Errorf("NormalizeFlags(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEscapeHost(t *testing.T) {
	for in, want := range map[string]string{
		"mx.example.org": "mx.example.org",
		"a/b:c":          `a\057b\072c`,
		"a,b":            `a\054b`,
		`a\b`:            `a\134b`,
		"a b\n":          `a\040b\012`,
		"":               "localhost",
	} {
		if got := escapeHost(in); got != want {
			t.Errorf("escapeHost(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCopyLF(t *testing.T) {
	tests := []struct{ in, out string }{
		{"", ""},
		{"a\r\nb\r\n", "a\nb\n"},
		{"a\nb\n", "a\nb\n"},
		{"bare\rcr\r\n", "bare\rcr\n"},
		{"ends with cr\r", "ends with cr\r"},
		{"\r\r\n\r\n", "\r\n\n"},
		{"no newline", "no newline"},
		{"mixed\r\nlf\nend", "mixed\nlf\nend"},
	}
	for _, tt := range tests {
		// Every buffer size, so that a CRLF split across reads is covered;
		// OneByteReader splits the input as much as it can be split.
		for _, bufSize := range []int{1, 2, 3, 64} {
			for _, one := range []bool{false, true} {
				var r = strings.NewReader(tt.in)
				var rd interface{ Read([]byte) (int, error) } = r
				if one {
					rd = iotest.OneByteReader(r)
				}
				var w bytes.Buffer
				size, crlf, err := copyLF(&w, rd, make([]byte, bufSize), 0)
				if err != nil {
					t.Fatal(err)
				}
				if w.String() != tt.out {
					t.Errorf("copyLF(%q, buf %d) = %q, want %q", tt.in, bufSize, w.String(), tt.out)
				}
				wantCRLF := int64(len(tt.out) + strings.Count(tt.out, "\n"))
				if size != int64(len(tt.out)) || crlf != wantCRLF {
					t.Errorf("copyLF(%q) sizes %d/%d, want %d/%d", tt.in, size, crlf, len(tt.out), wantCRLF)
				}
			}
		}
	}
}

func TestCopyLFMaxSize(t *testing.T) {
	var w bytes.Buffer
	_, _, err := copyLF(&w, strings.NewReader("12345\r\n"), make([]byte, 4), 6)
	if err != nil {
		t.Errorf("6 bytes stored with max 6: %v", err)
	}
	w.Reset()
	_, _, err = copyLF(&w, strings.NewReader("1234567\r\n"), make([]byte, 4), 6)
	if !errors.Is(err, ErrTooBig) {
		t.Errorf("8 bytes with max 6: err = %v, want ErrTooBig", err)
	}
}
