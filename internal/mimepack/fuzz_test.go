package mimepack

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzList: listing arbitrary input never panics, ends, gives every part
// a well-formed IMAP path, reports failures only as *PartError, and is
// deterministic.
func FuzzList(f *testing.F) {
	f.Add([]byte("Subject: x\n\nbody\n"))
	f.Add([]byte(testNested))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Transfer-Encoding: base64\r\n\r\naGk=\r\n--b--\r\n"))
	f.Add([]byte("Content-Type: message/rfc822\n\nContent-Type: multipart/digest; boundary=q\n\n--q\n\nSubject: s\n\nt\n--q--\n"))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=a\n\n--a\nContent-Type: multipart/mixed; boundary=a\n\n--a\n--a--\n"))
	f.Add([]byte("Content-Transfer-Encoding: quoted-printable\n\n=41=\n=4\n=ZZ\n"))
	lim := Limits{MaxDepth: 8, MaxParts: 50, MaxHeaderBytes: 4096}
	pathRE := func(p string) bool {
		if p == "TEXT" {
			return true
		}
		for i, el := range strings.Split(p, ".") {
			if el == "TEXT" && i > 0 {
				continue
			}
			if el == "" || strings.Trim(el, "0123456789") != "" || el[0] == '0' {
				return false
			}
		}
		return true
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		var first []Entry
		err := ListParts(bytes.NewReader(msg), lim, func(e Entry) error {
			if !pathRE(e.Path) {
				t.Fatalf("bad path %q", e.Path)
			}
			if e.Depth > lim.MaxDepth {
				t.Fatalf("depth %d beyond the limit", e.Depth)
			}
			first = append(first, e)
			return nil
		})
		var pe *PartError
		if err != nil && !errors.As(err, &pe) {
			t.Fatalf("error %T %v is not a *PartError", err, err)
		}
		if len(first) > lim.MaxParts {
			t.Fatalf("%d parts beyond the limit", len(first))
		}
		n := 0
		err2 := ListParts(oneByte{bytes.NewReader(msg)}, lim, func(e Entry) error {
			if n >= len(first) || first[n].Path != e.Path || *sizeOf(first[n]) != *sizeOf(e) {
				t.Fatalf("read byte by byte, part %d differs: %+v", n, e)
			}
			n++
			return nil
		})
		if (err == nil) != (err2 == nil) || n != len(first) {
			t.Fatalf("read byte by byte: %v / %v, %d / %d parts", err, err2, n, len(first))
		}
	})
}

func sizeOf(e Entry) *int64 {
	if e.Size == nil {
		v := int64(-1)
		return &v
	}
	return e.Size
}

// FuzzBuildUnpack: unpacking a built message gives back the files, byte
// for byte, under their names.
func FuzzBuildUnpack(f *testing.F) {
	f.Add([]byte("hello\n"), []byte{0, 1, 2, 255}, "a.txt", false, false)
	f.Add([]byte("--=_0123\n-- \nx"), []byte("=_=_\r\n"), "résumé.pdf", true, false)
	f.Add([]byte(strings.Repeat("é", 700)), []byte("From x\n.\n"), "b", false, true)
	f.Fuzz(func(t *testing.T, d1, d2 []byte, name string, crlf, digest bool) {
		name = SanitizeFilename(name)
		if name == "" || strings.ContainsRune(name, '/') || !utf8.ValidString(name) {
			name = "file"
		}
		dir := t.TempDir()
		p1, p2 := filepath.Join(dir, name), filepath.Join(dir, "second.bin")
		if name == "second.bin" {
			p1 = filepath.Join(dir, "first.bin")
		}
		if err := os.WriteFile(p1, d1, 0o644); err != nil {
			t.Skip(err)
		}
		os.WriteFile(p2, d2, 0o644)
		a, out := testApp(t)
		m := &Message{Files: []string{p1, p2}, CRLF: crlf, HasText: true, BodyText: string(d2)}
		if err := a.Build(out, m); err != nil {
			t.Fatalf("build: %v", err)
		}
		// Line ends are all LF, or all CRLF: content CRs are always encoded.
		if !crlf && bytes.Contains(out.Bytes(), []byte("\r")) ||
			crlf && bytes.Count(out.Bytes(), []byte("\n")) != bytes.Count(out.Bytes(), []byte("\r\n")) {
			t.Fatalf("mixed line ends (crlf=%v)", crlf)
		}
		var got [][]byte
		var types []string
		err := Walk(bytes.NewReader(out.Bytes()), DefaultLimits(), func(p *Part) error {
			if p.Container {
				return nil
			}
			b, err := io.ReadAll(p.Decoded())
			got, types = append(got, b), append(types, p.Type+"|"+p.Encoding)
			return err
		})
		if err != nil || len(got) != 3 {
			t.Fatalf("walk: %v, %d leaves\n%s", err, len(got), out)
		}
		for i, want := range [][]byte{nil, d1, d2} {
			if i == 0 {
				continue // the -m text gets a final newline
			}
			if crlf && strings.HasPrefix(types[i], "text/") && !strings.HasSuffix(types[i], "base64") {
				want = bytes.ReplaceAll(want, []byte("\n"), []byte("\r\n"))
			}
			if !bytes.Equal(got[i], want) {
				t.Fatalf("part %d (%s) differs:\n%q\n%q", i+1, types[i], got[i], want)
			}
		}
		for _, l := range bytes.Split(out.Bytes(), []byte("\n")) {
			if len(l) > 999 {
				t.Fatalf("line of %d bytes", len(l))
			}
		}
	})
}

// FuzzSanitizeFilename: whatever a message suggests, the name is a plain
// file name inside the directory.
func FuzzSanitizeFilename(f *testing.F) {
	for _, s := range []string{"../../x", "/etc/passwd", `C:\x`, "a\x00b", "..", ".bashrc", "CON", "x\u202egpj.exe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := SanitizeFilename(s)
		if n == "" {
			return
		}
		if strings.ContainsAny(n, "/\\:\x00") || strings.HasPrefix(n, ".") || len(n) > maxName ||
			!utf8.ValidString(n) || filepath.Base(n) != n || n == ".." {
			t.Fatalf("SanitizeFilename(%q) = %q", s, n)
		}
		for _, r := range n {
			if r < 0x20 || r == 0x7f {
				t.Fatalf("control character in %q", n)
			}
		}
	})
}
