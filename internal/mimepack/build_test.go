package mimepack

import (
	"bytes"
	"crypto/rand"
	"io"
	mrand "math/rand/v2"
	"mime"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testApp returns an App writing to buffers, with a fixed clock.
func testApp(t testing.TB) (*App, *bytes.Buffer) {
	out := &bytes.Buffer{}
	return &App{
		Stdin:    strings.NewReader(""),
		Stdout:   out,
		Stderr:   io.Discard,
		Now:      func() time.Time { return time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC) },
		Rand:     rand.Reader,
		Hostname: "test.example",
		TempDir:  t.TempDir(),
		Shell:    "/bin/sh",
		Limits:   DefaultLimits(),
	}, out
}

// leaves walks msg and returns the decoded leaves with their names.
func leaves(t testing.TB, msg []byte) (names []string, bodies [][]byte, types []string) {
	t.Helper()
	err := Walk(bytes.NewReader(msg), DefaultLimits(), func(p *Part) error {
		if p.Container {
			return nil
		}
		b, err := io.ReadAll(p.Decoded())
		names, bodies, types = append(names, p.Filename), append(bodies, b), append(types, p.Type+"|"+p.Encoding)
		return err
	})
	if err != nil {
		t.Fatalf("walk: %v\n%s", err, msg)
	}
	return
}

func writeFiles(t testing.TB, dir string, files map[string][]byte) []string {
	var paths []string
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}

func TestBuildEncodings(t *testing.T) {
	long := strings.Repeat("x", 2000) + "\n"
	tests := []struct {
		name, file string
		data       string
		want       string // type|encoding
		charset    string
	}{
		{"ascii text", "a.txt", "hello\nworld\n", "text/plain|7bit", "us-ascii"},
		{"utf-8 text", "b.txt", "héllo\n", "text/plain|8bit", "utf-8"},
		{"latin-1 text", "c.txt", "h\xe9llo\n", "text/plain|8bit", "unknown-8bit"},
		{"long line", "d.txt", long, "text/plain|quoted-printable", "us-ascii"},
		{"NUL in text", "e.txt", "a\x00b\n", "text/plain|quoted-printable", "us-ascii"},
		{"CRLF text", "f.txt", "a\r\nb\r\n", "text/plain|base64", "us-ascii"},
		{"our delimiter prefix in text", "g.txt", "--=_abc\n", "text/plain|quoted-printable", "us-ascii"},
		{"binary", "h.bin", "\x00\x01\x02\xff", "application/octet-stream|base64", ""},
		{"png by extension", "i.png", "not really a png", "image/png|base64", ""},
		{"sniffed text", "README", "plain words\n", "text/plain|7bit", "us-ascii"},
		{"sniffed pdf", "doc", "%PDF-1.4\n\x00\x01", "application/pdf|base64", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, out := testApp(t)
			dir := t.TempDir()
			writeFiles(t, dir, map[string][]byte{tc.file: []byte(tc.data)})
			err := a.Build(out, &Message{Files: []string{filepath.Join(dir, tc.file)}})
			if err != nil {
				t.Fatal(err)
			}
			names, bodies, types := leaves(t, out.Bytes())
			if len(types) != 1 || types[0] != tc.want {
				t.Fatalf("types %v, want %s\n%s", types, tc.want, out)
			}
			if string(bodies[0]) != tc.data || names[0] != tc.file {
				t.Errorf("round trip: %q %q", names[0], bodies[0])
			}
			if tc.charset != "" && !strings.Contains(out.String(), "charset="+tc.charset) {
				t.Errorf("no charset=%s in\n%s", tc.charset, out)
			}
			for _, l := range strings.Split(out.String(), "\n") {
				if len(l) > 998 {
					t.Errorf("line of %d bytes", len(l))
				}
			}
		})
	}
}

func TestBuildStructure(t *testing.T) {
	dir := t.TempDir()
	files := writeFiles(t, dir, map[string][]byte{"body.txt": []byte("text body\n"), "page.html": []byte("<p>hi</p>\n")})
	body, html := files[0], files[1]
	if strings.HasSuffix(body, ".html") {
		body, html = html, body
	}
	msgFile := filepath.Join(dir, "m.eml")
	os.WriteFile(msgFile, []byte("Subject: inner\r\n\r\ninner body\r\n"), 0o644)
	tests := []struct {
		name string
		m    Message
		want string
	}{
		{"text only", Message{BodyText: "hi", HasText: true}, "1 text/plain"},
		{"nothing at all", Message{}, "1 text/plain"},
		{"alternative", Message{BodyFile: body, HTMLFile: html}, "TEXT multipart/alternative,1 text/plain,2 text/html"},
		{"alternative and attachment", Message{BodyFile: body, HTMLFile: html, Files: []string{body}},
			"TEXT multipart/mixed,1 multipart/alternative,1.1 text/plain,1.2 text/html,2 text/plain"},
		{"digest", Message{Digest: true, Files: []string{msgFile, msgFile}},
			"TEXT multipart/digest,1 message/rfc822,1.1 text/plain,2 message/rfc822,2.1 text/plain"},
		{"digest with text", Message{BodyText: "see", HasText: true, Digest: true, Files: []string{msgFile}},
			"TEXT multipart/mixed,1 text/plain,2 multipart/digest,2.1 message/rfc822,2.1.1 text/plain"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, out := testApp(t)
			if err := a.Build(out, &tc.m); err != nil {
				t.Fatal(err)
			}
			var got []string
			err := Walk(bytes.NewReader(out.Bytes()), DefaultLimits(), func(p *Part) error {
				got = append(got, p.Path+" "+p.Type)
				return nil
			})
			if err != nil || strings.Join(got, ",") != tc.want {
				t.Fatalf("got %v (%v), want %s\n%s", got, err, tc.want, out)
			}
		})
	}
}

func TestBuildHeaders(t *testing.T) {
	a, out := testApp(t)
	m := &Message{
		From:    "Zoé Ünïcode <zoe@example.org>",
		To:      []string{"a@example.org", `"Doe, John" <j@example.org>`},
		Cc:      []string{"c@example.org"},
		Subject: strings.Repeat("Grüße aus Köln ", 8),
		Headers: []string{"X-Mailer: mimepack", "X-Note: ünïcode"},
		HasText: true, BodyText: "hi",
	}
	if err := a.Build(out, m); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	head, _, _ := strings.Cut(s, "\n\n")
	for _, l := range strings.Split(head, "\n") {
		if len(l) > 78 {
			t.Errorf("header line of %d characters: %q", len(l), l)
		}
	}
	for _, w := range strings.Fields(head) {
		if strings.HasPrefix(w, "=?") && len(w) > 75 {
			t.Errorf("encoded-word of %d characters", len(w))
		}
	}
	pm, err := mail.ReadMessage(strings.NewReader(s))
	if err != nil {
		t.Fatal(err)
	}
	got, err := new(mime.WordDecoder).DecodeHeader(pm.Header.Get("Subject"))
	if err != nil || got != m.Subject {
		t.Errorf("subject %q, %v", got, err)
	}
	for _, want := range []string{"Date: Mon, 06 May 2024 07:08:09 +0000\n", "MIME-Version: 1.0\n",
		"Message-ID: <1714979289.", "@test.example>\n", "X-Mailer: mimepack\n", `"Doe, John" <j@example.org>`,
		"From: =?utf-8?q?Zo=C3=A9_=C3=9Cn=C3=AFcode?= <zoe@example.org>\n"} {
		if !strings.Contains(s, want) {
			t.Errorf("missing %q in\n%s", want, head)
		}
	}
	for _, bad := range [][]string{{"X-Bad: a\nBcc: victim@example.org"}, {"No colon"}, {"Content-Type: text/html"}, {"Bad Name: x"}} {
		a, out := testApp(t)
		if err := a.Build(out, &Message{Headers: bad}); err == nil {
			t.Errorf("-H %q accepted", bad)
		}
	}
	a, out = testApp(t)
	if err := a.Build(out, &Message{Subject: "a\r\nBcc: x@y"}); err == nil {
		t.Error("subject with a line break accepted")
	}
}

func TestFileParams(t *testing.T) {
	ct, cd := fileParams("résumé été.txt")
	if ct != ";\n name=\"=?utf-8?b?csOpc3Vtw6kgw6l0w6kudHh0?=\"" || cd != ";\n filename*=UTF-8''r%C3%A9sum%C3%A9%20%C3%A9t%C3%A9.txt" {
		t.Errorf("%q %q", ct, cd)
	}
	long := strings.Repeat("é", 100) + ".pdf"
	_, cd = fileParams(long)
	_, params, err := mime.ParseMediaType("attachment" + strings.ReplaceAll(cd, "\n", ""))
	if err != nil || params["filename"] != long {
		t.Errorf("continuations do not parse back: %v %q", err, params["filename"])
	}
	for _, l := range strings.Split(cd, "\n") {
		if len(l) > 76 {
			t.Errorf("line of %d", len(l))
		}
	}
	if ct, cd := fileParams(`a "b".txt`); ct != `; name="a \"b\".txt"` || cd != `; filename="a \"b\".txt"` {
		t.Errorf("%q %q", ct, cd)
	}
}

func TestSanitizeFilename(t *testing.T) {
	tests := []struct{ in, want string }{
		{"report.pdf", "report.pdf"},
		{"../../x", "x"},
		{"/etc/passwd", "passwd"},
		{`C:\x`, "x"},
		{`C:x`, "x"},
		{`..\..\windows\system32\evil.dll`, "evil.dll"},
		{"a\x00b", "a_b"},
		{"a\nb\tc", "a_b_c"},
		{"..", ""},
		{".", ""},
		{"...hidden", "hidden"},
		{".bashrc", "bashrc"},
		{"trailing. . ", "trailing"},
		{"CON", "_CON"},
		{"nul.txt", "_nul.txt"},
		{"x\u202egpj.exe", "x_gpj.exe"},
		{"a:b", "b"},
		{"ab:c", "ab_c"},
		{"\xff\xfe.txt", "_.txt"},
		{"résumé.txt", "résumé.txt"},
		{"", ""},
	}
	for _, tc := range tests {
		if got := SanitizeFilename(tc.in); got != tc.want {
			t.Errorf("SanitizeFilename(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	long := SanitizeFilename(strings.Repeat("é", 300) + ".tar.gz")
	if len(long) > maxName || !strings.HasSuffix(long, ".gz") || !strings.HasPrefix(long, "é") {
		t.Errorf("long name %d bytes: %q", len(long), long)
	}
}

// TestBuildUnpackRandom builds messages of random files and unpacks them.
func TestBuildUnpackRandom(t *testing.T) {
	r := mrand.New(mrand.NewPCG(1, 2))
	for i := 0; i < 30; i++ {
		dir := t.TempDir()
		files := map[string][]byte{}
		for j := 0; j < 1+r.IntN(4); j++ {
			data := make([]byte, r.IntN(200000))
			switch r.IntN(3) {
			case 0:
				for k := range data {
					data[k] = byte(r.IntN(256))
				}
			case 1:
				for k := range data {
					data[k] = " abc\n-=_é"[r.IntN(10)]
				}
			}
			files[[]string{"a.bin", "b.txt", "c", "d.html", "é.dat"}[j]] = data
		}
		paths := writeFiles(t, dir, files)
		a, out := testApp(t)
		if err := a.Build(out, &Message{Files: paths, CRLF: i%2 == 1}); err != nil {
			t.Fatal(err)
		}
		names, bodies, types := leaves(t, out.Bytes())
		if len(names) != len(paths) {
			t.Fatalf("%d leaves for %d files", len(names), len(paths))
		}
		for k, n := range names {
			want := files[n]
			if i%2 == 1 && strings.HasPrefix(types[k], "text/") && !strings.HasSuffix(types[k], "base64") {
				// Text line breaks are CRLF in a CRLF message (RFC 2046 §4.1.1).
				want = bytes.ReplaceAll(want, []byte("\n"), []byte("\r\n"))
			}
			if !bytes.Equal(bodies[k], want) {
				t.Errorf("file %s differs after the round trip", n)
			}
		}
	}
}

func TestStdinTwice(t *testing.T) {
	a, out := testApp(t)
	if err := a.Build(out, &Message{BodyFile: "-", Files: []string{"-"}}); err == nil {
		t.Fatal("standard input accepted twice")
	}
	a, out = testApp(t)
	a.Stdin = strings.NewReader("from stdin\n")
	if err := a.Build(out, &Message{BodyFile: "-"}); err != nil {
		t.Fatal(err)
	}
	if _, b, _ := leaves(t, out.Bytes()); string(b[0]) != "from stdin\n" {
		t.Errorf("%q", b[0])
	}
}
