package maildir

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzParseName checks the name parser: no panic, and parse∘format is the
// identity: formatting a parsed name and parsing it again gives the same
// key, flags, sizes and time; for names already in canonical form
// (sorted, unique flags) the formatted name is the input itself.
func FuzzParseName(f *testing.F) {
	for _, s := range []string{
		"1700000000.M123456P42Q7Rdeadbeefdeadbeef.mx,S=100,W=104",
		"1795643511.M917824P11916.vm,S=18,W=21:2,Sab",
		"1.M1P1.h:2,SRFS",
		"1000000000.12345.example.org",
		"1.M1.h:1,xyz",
		`1.M1P1.a\057b\072c,S=1,W=1:2,`,
		"1.M1.h,S=abc,W=:2,T",
		":2,S",
		".hidden",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, ok := ParseName(s)
		if !ok {
			return
		}
		if n.Key == "" || strings.ContainsAny(n.Key, ":/\r\n\x00") {
			t.Fatalf("ParseName(%q): bad key %q", s, n.Key)
		}
		if NormalizeFlags(n.Flags) != n.Flags {
			t.Fatalf("ParseName(%q): flags %q not normalised", s, n.Flags)
		}
		out := n.String()
		n2, ok := ParseName(out)
		if !ok || n2 != n {
			t.Fatalf("ParseName(%q) = %+v; its String %q parses as %+v (%v)", s, n, out, n2, ok)
		}
		if n.HasInfo && strings.HasPrefix(s, n.Key+":2,") && s[len(n.Key)+3:] == n.Flags && out != s {
			t.Fatalf("canonical name %q formats as %q", s, out)
		}
		if !n.HasInfo && !strings.Contains(s, ":") && out != s {
			t.Fatalf("name without info %q formats as %q", s, out)
		}
	})
}

// FuzzParseUIDList checks the uidlist parser: no panic, and parse∘format
// is stable: what Format writes parses back to a list that formats the
// same, with the same UIDs.
func FuzzParseUIDList(f *testing.F) {
	for _, s := range []string{
		"3 V1795643511 N3 G4bfa3e037858076b8c2e000083ecc375\n1 :1795643511.M917824P11916.vm,S=18,W=21\n2 :1795643513.M124086P11916.vm,S=20,W=23\n",
		"3 V5 N10 G00000000000000000000000000000000 Xfoo\n3 W120 P:uidl :k1\n7 :k2:2,S\n",
		"1 42 5\n1 a\n3 b:2,S\n",
		"3 V5 N9\n1 :a\n4 :b\n6 :a\n",
		"3 V5 N2\n9 :k\n",
		"3 V5 N9\n2 :a\n1 :b\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		u, err := ParseUIDList(b)
		if err != nil {
			return
		}
		out := u.Format()
		u2, err := ParseUIDList(out)
		if err != nil {
			t.Fatalf("Format output does not parse: %v\n%q", err, out)
		}
		if out2 := u2.Format(); !bytes.Equal(out, out2) {
			t.Fatalf("not stable:\n%q\n%q", out, out2)
		}
		for _, r := range u.Records() {
			if uid, ok := u2.UID(r.Key); !ok || uid != r.UID {
				t.Fatalf("key %q: UID %d, after round trip %d %v", r.Key, r.UID, uid, ok)
			}
			if r.UID >= u.Next {
				t.Fatalf("UID %d >= next %d", r.UID, u.Next)
			}
		}
	})
}

// FuzzParseKeywords: no panic, and parse∘format is stable.
func FuzzParseKeywords(f *testing.F) {
	f.Add([]byte("0 $Label1\n1 foo\n2 bar\n"))
	f.Add([]byte("0 a\n3 d\n40 far\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		kw, err := ParseKeywords(b)
		if err != nil {
			return
		}
		if len(kw) > MaxKeywords {
			t.Fatalf("%d keywords", len(kw))
		}
		kw2, err := ParseKeywords(FormatKeywords(kw))
		if err != nil || !equalStrings(kw, kw2) {
			t.Fatalf("round trip %q -> %q (%v)", kw, kw2, err)
		}
	})
}

// FuzzValidateFolder: whatever passes the gate stays inside the Maildir
// as one directory entry.
func FuzzValidateFolder(f *testing.F) {
	for _, s := range []string{"Sent", "a.b", "..", "a/b", "a..b", ".x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ValidateFolder(s) != nil {
			return
		}
		dir := "." + s
		if strings.ContainsAny(dir, "/\x00") || dir == "." || dir == ".." || strings.HasPrefix(dir, "..") || len(dir) > 255 {
			t.Fatalf("ValidateFolder accepted %q", s)
		}
	})
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// FuzzCopyLF: the stored bytes are the input with every CRLF turned into
// LF, and the sizes are the stored length and the length with CRLF line
// ends, whatever the read buffer size.
func FuzzCopyLF(f *testing.F) {
	f.Add([]byte("a\r\nb\r\n"), uint8(3))
	f.Add([]byte("\r\r\n\r"), uint8(1))
	f.Add([]byte("bare\rcr\n"), uint8(2))
	f.Fuzz(func(t *testing.T, in []byte, bufSize uint8) {
		var w bytes.Buffer
		size, crlf, err := copyLF(&w, bytes.NewReader(in), make([]byte, int(bufSize)%64+1), 0)
		if err != nil {
			t.Fatal(err)
		}
		want := bytes.ReplaceAll(in, []byte("\r\n"), []byte("\n"))
		if !bytes.Equal(w.Bytes(), want) {
			t.Fatalf("copyLF(%q) = %q, want %q", in, w.Bytes(), want)
		}
		if size != int64(len(want)) || crlf != int64(len(want)+bytes.Count(want, []byte("\n"))) {
			t.Fatalf("copyLF(%q): sizes %d/%d", in, size, crlf)
		}
	})
}
