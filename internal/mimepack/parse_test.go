package mimepack

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

// walkAll lists "path type size" for every part, and the error.
func walkAll(t *testing.T, msg string, lim Limits) ([]string, error) {
	t.Helper()
	var out []string
	err := Walk(strings.NewReader(msg), lim, func(p *Part) error {
		if p.Container {
			out = append(out, p.Path+" "+p.Type)
			return nil
		}
		b, err := io.ReadAll(p.Decoded())
		s := fmt.Sprintf("%s %s %q", p.Path, p.Type, b)
		if p.Filename != "" {
			s += " " + p.Filename
		}
		out = append(out, s)
		return err
	})
	return out, err
}

func TestWalk(t *testing.T) {
	tests := []struct {
		name string
		msg  string
		want []string
		err  string // substring of the error, "" for none
	}{
		{"single part", "Subject: x\n\nhello\n", []string{`1 text/plain "hello\n"`}, ""},
		{"no body", "Subject: x\n", []string{`1 text/plain ""`}, ""},
		{"crlf multipart",
			"Content-Type: multipart/mixed; boundary=b\r\n\r\npreamble\r\n--b\r\n\r\none\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>\r\n--b--\r\nepilogue\r\n",
			[]string{"TEXT multipart/mixed", `1 text/plain "one"`, `2 text/html "<p>"`}, ""},
		{"lf multipart, body ends in newline",
			"Content-Type: multipart/mixed; boundary=b\n\n--b\n\none\n\n--b--\n",
			[]string{"TEXT multipart/mixed", `1 text/plain "one\n"`}, ""},
		{"transport padding after delimiters",
			"Content-Type: multipart/mixed; boundary=b\n\n--b  \t\n\none\n--b-- \n",
			[]string{"TEXT multipart/mixed", `1 text/plain "one"`}, ""},
		{"boundary that prefixes another",
			"Content-Type: multipart/mixed; boundary=abc\n\n--abc\nContent-Type: multipart/alternative; boundary=abcdef\n\n--abcdef\n\none\n--abcdef\n\ntwo\n--abcdef--\n--abc\n\nthree\n--abc--\n",
			[]string{"TEXT multipart/mixed", "1 multipart/alternative", `1.1 text/plain "one"`, `1.2 text/plain "two"`, `2 text/plain "three"`}, ""},
		{"delimiter-like text is content",
			"Content-Type: multipart/mixed; boundary=b\n\n--b\n\n--bx\n-- b\n--b--x\n--b--\n",
			[]string{"TEXT multipart/mixed", `1 text/plain "--bx\n-- b\n--b--x"`}, ""},
		{"empty part", "Content-Type: multipart/mixed; boundary=b\n\n--b\n--b\n\nx\n--b--\n",
			[]string{"TEXT multipart/mixed", `1 text/plain ""`, `2 text/plain "x"`}, ""},
		{"close delimiter at end of input without newline",
			"Content-Type: multipart/mixed; boundary=b\n\n--b\n\nx\n--b--",
			[]string{"TEXT multipart/mixed", `1 text/plain "x"`}, ""},
		{"missing final boundary",
			"Content-Type: multipart/mixed; boundary=b\n\n--b\n\none\n--b\n\ntwo\n",
			[]string{"TEXT multipart/mixed", `1 text/plain "one"`, `2 text/plain "two\n"`}, "part 2: missing final boundary"},
		{"no delimiter at all",
			"Content-Type: multipart/mixed; boundary=b\n\njust text\n",
			[]string{"TEXT multipart/mixed"}, "part TEXT: no boundary delimiter"},
		{"base64 and quoted-printable",
			"Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Transfer-Encoding: base64\n\naGVs\nbG8=\n--b\nContent-Transfer-Encoding: Quoted-Printable\n\na=3Db=\nc\nd\n--b--\n",
			[]string{"TEXT multipart/mixed", `1 text/plain "hello"`, `2 text/plain "a=bc\nd"`}, ""},
		{"base64 with garbage characters ignored (RFC 2045 6.8)",
			"Content-Transfer-Encoding: base64\n\naG Vs*bG8=\n",
			[]string{`1 text/plain "hello"`}, ""},
		{"misplaced base64 padding is skipped (lenient, RFC 2045 6.8)",
			"Content-Transfer-Encoding: base64\n\naGVsbG8=aGVs\n",
			[]string{`1 text/plain "hellohel"`}, ""},
		{"control byte in quoted-printable",
			"Content-Transfer-Encoding: quoted-printable\n\na\x01b\n",
			[]string{`1 text/plain "a"`}, "part 1: quoted-printable"},
		{"message/rfc822 numbering",
			"Content-Type: multipart/mixed; boundary=b\n\n--b\n\nbody\n--b\nContent-Type: message/rfc822\n\nSubject: in\nContent-Type: multipart/alternative; boundary=c\n\n--c\n\nx\n--c\n\ny\n--c--\n--b\nContent-Type: message/rfc822\n\nSubject: single\n\nz\n--b--\n",
			[]string{"TEXT multipart/mixed", `1 text/plain "body"`, "2 message/rfc822", "2.TEXT multipart/alternative",
				`2.1 text/plain "x"`, `2.2 text/plain "y"`, "3 message/rfc822", `3.1 text/plain "z"`}, ""},
		{"digest parts default to message/rfc822",
			"Content-Type: multipart/digest; boundary=b\n\n--b\n\nSubject: a\n\nA\n--b--\n",
			[]string{"TEXT multipart/digest", "1 message/rfc822", `1.1 text/plain "A"`}, ""},
		{"multipart without boundary is one leaf",
			"Content-Type: multipart/mixed\n\nopaque\n",
			[]string{`1 multipart/mixed "opaque\n"`}, ""},
		{"invalid content type is text/plain (RFC 2045 5.2)",
			"Content-Type: garbage\n\nx",
			[]string{`1 text/plain "x"`}, ""},
		{"mbox From line skipped",
			"From a@b Mon Jan  1 00:00:00 2024\nSubject: x\n\nhi\n",
			[]string{`1 text/plain "hi\n"`}, ""},
		{"RFC 2231 file name in Latin-1",
			"Content-Type: application/octet-stream\nContent-Disposition: attachment; filename*=iso-8859-1''caf%E9.txt\n\nx",
			[]string{`1 application/octet-stream "x" café.txt`}, ""},
		{"RFC 2047 name in Latin-1 (QUIRK of Outlook)",
			"Content-Type: application/octet-stream; name=\"=?iso-8859-1?q?caf=E9.txt?=\"\n\nx",
			[]string{`1 application/octet-stream "x" café.txt`}, ""},
		{"malformed header", "Subject x\n\nhi\n", []string{}, "part TEXT: message: malformed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := walkAll(t, tc.msg, DefaultLimits())
			if tc.err == "" && err != nil {
				t.Fatalf("error %v", err)
			}
			if tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("error %v, want %q", err, tc.err)
			}
			var pe *PartError
			if err != nil && !errors.As(err, &pe) {
				t.Errorf("error %T is not a *PartError", err)
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestLimits(t *testing.T) {
	deep := func(n int) string {
		var b strings.Builder
		b.WriteString("Content-Type: multipart/mixed; boundary=b0\n\n")
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, "--b%d\nContent-Type: multipart/mixed; boundary=b%d\n\n", i, i+1)
		}
		fmt.Fprintf(&b, "--b%d\n\nleaf\n--b%d--\n", n, n)
		for i := n - 1; i >= 0; i-- {
			fmt.Fprintf(&b, "--b%d--\n", i)
		}
		return b.String()
	}
	many := func(n int) string {
		var b strings.Builder
		b.WriteString("Content-Type: multipart/mixed; boundary=z\n\n")
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, "--z\n\n%d\n", i)
		}
		b.WriteString("--z--\n")
		return b.String()
	}
	lim := DefaultLimits()
	if _, err := walkAll(t, deep(10000), lim); err == nil || !strings.Contains(err.Error(), "nested deeper than 64") {
		t.Errorf("10,000 levels: %v", err)
	}
	if got, err := walkAll(t, deep(60), lim); err != nil || len(got) != 62 {
		t.Errorf("60 levels: %d parts, %v", len(got), err)
	}
	if _, err := walkAll(t, many(100000), lim); err == nil || !strings.Contains(err.Error(), "more than 10000 parts") {
		t.Errorf("100,000 parts: %v", err)
	}
	lim.MaxParts = 200000
	if got, err := walkAll(t, many(100000), lim); err != nil || len(got) != 100001 {
		t.Errorf("100,000 parts allowed: %d, %v", len(got), err)
	}
	big := "Subject: " + strings.Repeat("x", 300<<10) + "\n\nbody\n"
	if _, err := walkAll(t, big, DefaultLimits()); err == nil || !strings.Contains(err.Error(), "header longer than") {
		t.Errorf("huge header: %v", err)
	}
	noNL := "Subject: x\n\n" + strings.Repeat("y", 1<<20)
	if got, err := walkAll(t, noNL, DefaultLimits()); err != nil || len(got) != 1 {
		t.Errorf("long body line: %v", err)
	}
}

// TestSplitBufferEdges puts delimiters at every offset around the read
// buffer's size, where a delimiter is cut between two reads.
func TestSplitBufferEdges(t *testing.T) {
	for _, nl := range []string{"\n", "\r\n"} {
		for size := bufSize - 80; size <= bufSize+10; size += 3 {
			body := bytes.Repeat([]byte("a"), size)
			msg := "Content-Type: multipart/mixed; boundary=bnd" + nl + nl + "--bnd" + nl + nl +
				string(body) + nl + "--bnd" + nl + nl + "z" + nl + "--bnd--" + nl
			var sizes []int
			err := Walk(strings.NewReader(msg), DefaultLimits(), func(p *Part) error {
				if !p.Container {
					b, err := io.ReadAll(p.Decoded())
					sizes = append(sizes, len(b))
					return err
				}
				return nil
			})
			if err != nil || len(sizes) != 2 || sizes[0] != size || sizes[1] != 1 {
				t.Fatalf("nl %q size %d: %v %v", nl, size, sizes, err)
			}
		}
	}
}

// TestReadOneByte reads parts one byte at a time through a reader that
// returns one byte per call: the splitter must not depend on read sizes.
func TestReadOneByte(t *testing.T) {
	msg := "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\none\r\n--bb\r\n--b\r\n\r\ntwo\r\n--b--\r\n"
	var got []string
	err := Walk(io.MultiReader(oneByte{strings.NewReader(msg)}), DefaultLimits(), func(p *Part) error {
		if p.Container {
			return nil
		}
		b, err := io.ReadAll(p.Decoded())
		got = append(got, string(b))
		return err
	})
	if err != nil || strings.Join(got, "|") != "one\r\n--bb|two" {
		t.Fatalf("%q %v", got, err)
	}
}

type oneByte struct{ r io.Reader }

func (o oneByte) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	return o.r.Read(p[:1])
}
