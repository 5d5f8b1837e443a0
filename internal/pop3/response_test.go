package pop3

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func render(t testing.TB, body string, top int, chunk bool) string {
	t.Helper()
	var r io.Reader = strings.NewReader(body)
	if chunk {
		r = iotest.OneByteReader(r)
	}
	resp := Response{OK: true, Text: "x", Multi: true, Body: io.NopCloser(r), TopLines: top}
	var b bytes.Buffer
	if _, err := resp.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(b.String(), "+OK x\r\n")
}

func TestDotStuffing(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ".\r\n"},
		{"lf to crlf", "a\nb\n", "a\r\nb\r\n.\r\n"},
		{"crlf kept", "a\r\nb\r\n", "a\r\nb\r\n.\r\n"},
		{"mixed", "a\r\nb\nc\r\n", "a\r\nb\r\nc\r\n.\r\n"},
		{"no final newline", "a\nb", "a\r\nb\r\n.\r\n"},
		{"dot lines", ".\n..\n.a\na.\n", "..\r\n...\r\n..a\r\na.\r\n.\r\n"},
		{"first line dot", ".", "..\r\n.\r\n"},
		{"bare cr stays", "a\rb\n\r\n\r.x\n", "a\rb\r\n\r\n\r.x\r\n.\r\n"},
		{"cr before lf is a crlf", "a\r\n.\r\n", "a\r\n..\r\n.\r\n"},
		{"nul", "a\x00b\n\x00\n", "a\x00b\r\n\x00\r\n.\r\n"},
		{"blank lines", "\n\n", "\r\n\r\n.\r\n"},
		{"terminator inside", "a\n.\nb\n", "a\r\n..\r\nb\r\n.\r\n"},
		{"trailing cr", "a\r", "a\r\r\n.\r\n"},
	}
	for _, tt := range tests {
		for _, chunk := range []bool{false, true} {
			if got := render(t, tt.in, -1, chunk); got != tt.want {
				t.Errorf("%s (one byte reads %v): got %q, want %q", tt.name, chunk, got, tt.want)
			}
		}
	}
}

func TestTop(t *testing.T) {
	msg := "Subject: a\nFrom: b\n\nline1\n.line2\nline3\n"
	tests := []struct {
		name string
		in   string
		n    int
		want string
	}{
		{"zero lines", msg, 0, "Subject: a\r\nFrom: b\r\n\r\n.\r\n"},
		{"one line", msg, 1, "Subject: a\r\nFrom: b\r\n\r\nline1\r\n.\r\n"},
		{"two lines stuffed", msg, 2, "Subject: a\r\nFrom: b\r\n\r\nline1\r\n..line2\r\n.\r\n"},
		{"more than there are", msg, 10, "Subject: a\r\nFrom: b\r\n\r\nline1\r\n..line2\r\nline3\r\n.\r\n"},
		{"crlf separator", "S: a\r\n\r\nb\r\nc\r\n", 1, "S: a\r\n\r\nb\r\n.\r\n"},
		{"no body", "S: a\n", 0, "S: a\r\n.\r\n"},
		{"cr only line is not the separator", "S: a\n\r\r\nX: y\n\nb\n", 0, "S: a\r\n\r\r\nX: y\r\n\r\n.\r\n"},
		{"unterminated last body line", "S: a\n\nb", 5, "S: a\r\n\r\nb\r\n.\r\n"},
	}
	for _, tt := range tests {
		for _, chunk := range []bool{false, true} {
			if got := render(t, tt.in, tt.n, chunk); got != tt.want {
				t.Errorf("%s (one byte reads %v): got %q, want %q", tt.name, chunk, got, tt.want)
			}
		}
	}
}

func TestLinesStuffed(t *testing.T) {
	r := Response{OK: true, Text: "t", Multi: true, Lines: []string{"a", ".b", "."}}
	var b bytes.Buffer
	r.WriteTo(&b)
	if b.String() != "+OK t\r\na\r\n..b\r\n..\r\n.\r\n" {
		t.Fatalf("%q", b.String())
	}
	c := Response{Continue: true}
	if c.StatusLine() != "+ " {
		t.Fatalf("%q", c.StatusLine())
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }

func TestBodyReadError(t *testing.T) {
	r := Response{OK: true, Multi: true, Body: io.NopCloser(io.MultiReader(strings.NewReader("a\n"), errReader{})), TopLines: -1}
	var b bytes.Buffer
	if _, err := r.WriteTo(&b); err == nil {
		t.Fatal("no error")
	}
	if strings.HasSuffix(b.String(), ".\r\n") {
		t.Fatalf("a cut message was terminated: %q", b.String())
	}
}

// unstuff undoes the wire form: it removes the status line, the final
// "." line and the stuffed dots, and returns the CRLF text.
func unstuff(wire string) (string, bool) {
	if !strings.HasSuffix(wire, ".\r\n") {
		return "", false
	}
	wire = wire[:len(wire)-3]
	var out strings.Builder
	for wire != "" {
		i := strings.Index(wire, "\n")
		if i < 0 {
			return "", false
		}
		line := wire[:i+1]
		wire = wire[i+1:]
		if strings.HasPrefix(line, ".") {
			if line == ".\r\n" {
				return "", false // a terminator inside the body
			}
			line = line[1:]
		}
		out.WriteString(line)
	}
	return out.String(), true
}

func TestCRLFSize(t *testing.T) {
	for _, in := range []string{"", "a", "a\n", "a\r\n", "\n\n", "a\rb\n", "\r", "\r\n\n.\n"} {
		n, err := CRLFSize(iotest.OneByteReader(strings.NewReader(in)))
		if err != nil {
			t.Fatal(err)
		}
		want := int64(len(strings.ReplaceAll(strings.ReplaceAll(in, "\r\n", "\n"), "\n", "\r\n")))
		if n != want {
			t.Errorf("CRLFSize(%q) = %d, want %d", in, n, want)
		}
	}
}

// FuzzDotWriter checks that the wire form of any message is a valid
// multi-line response whose unstuffed text is the message with every
// line end made CRLF, that the chunking of reads changes nothing, and
// that CRLFSize counts exactly the octets sent for a message ending in
// a line end.
func FuzzDotWriter(f *testing.F) {
	for _, s := range []string{"", "a\n", ".\n", "a\r\n.\r\nb", "\r\r\n", "x\x00\n..\n", "\n.\n.\r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		wire := render(t, in, -1, false)
		if w2 := render(t, in, -1, true); w2 != wire {
			t.Fatalf("chunking changed the output: %q vs %q", wire, w2)
		}
		text, good := unstuff(wire)
		if !good {
			t.Fatalf("not a valid multi-line body: %q", wire)
		}
		want := strings.ReplaceAll(strings.ReplaceAll(in, "\r\n", "\n"), "\n", "\r\n")
		if in != "" && !strings.HasSuffix(in, "\n") {
			want += "\r\n"
		}
		if text != want {
			t.Fatalf("unstuffed %q, want %q", text, want)
		}
		if strings.HasSuffix(in, "\n") || in == "" {
			n, _ := CRLFSize(strings.NewReader(in))
			if n != int64(len(text)) {
				t.Fatalf("CRLFSize %d, sent %d", n, len(text))
			}
		}
	})
}

// BenchmarkDotWriter measures the LF→CRLF and byte-stuffing conversion
// of a 1 MiB message with short lines, some starting with ".".
func BenchmarkDotWriter(b *testing.B) {
	var sb strings.Builder
	for sb.Len() < 1<<20 {
		sb.WriteString("the quick brown fox jumps over the lazy dog 0123456789\n.dot line\n")
	}
	msg := sb.String()
	w := NewWriter(io.Discard)
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		r := Response{OK: true, Multi: true, Body: io.NopCloser(strings.NewReader(msg)), TopLines: -1}
		if _, err := w.Write(&r); err != nil {
			b.Fatal(err)
		}
	}
}
