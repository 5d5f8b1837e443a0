package imapd

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"mailtk/internal/testutil"
)

const multipartMsg = "From: a@example.org\n" +
	"Subject: parts\n" +
	"MIME-Version: 1.0\n" +
	"Content-Type: multipart/mixed; boundary=XX\n" +
	"\n" +
	"preamble\n" +
	"--XX\n" +
	"Content-Type: text/plain; charset=utf-8\n" +
	"Content-Transfer-Encoding: quoted-printable\n" +
	"\n" +
	"Gr=C3=BC=C3=9Fe\n" +
	"--XX\n" +
	"Content-Type: application/octet-stream\n" +
	"Content-Transfer-Encoding: base64\n" +
	"\n" +
	"AAECAwQ=\n" +
	"--XX--\n"

// TestFetchSections checks BODY[section]<partial> and BINARY on a
// multipart message stored with LF line ends: the client sees CRLF.
func TestFetchSections(t *testing.T) {
	dir := testutil.TempMaildir(t)
	deliver(t, dir, multipartMsg)
	crlf := strings.ReplaceAll(multipartMsg, "\n", "\r\n")
	c := startSession(t, testConfig(t, dir))
	c.ok("AUTHENTICATE PLAIN %s", base64.StdEncoding.EncodeToString([]byte("\x00u\x00p")))
	c.ok("SELECT INBOX")
	tests := []struct{ item, want string }{
		{"BODY.PEEK[]", crlf},
		{"BODY.PEEK[]<5.10>", crlf[5:15]},
		{"BODY.PEEK[]<400.10>", ""},
		{"BODY.PEEK[HEADER.FIELDS (Subject)]", "Subject: parts\r\n\r\n"},
		{"BODY.PEEK[1]", "Gr=C3=BC=C3=9Fe"},
		{"BODY.PEEK[1.MIME]", "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"},
		{"BODY.PEEK[2]", "AAECAwQ="},
		{"BODY.PEEK[TEXT]<0.8>", "preamble"},
		{"BINARY.PEEK[1]", "Grüße"},
		{"BINARY.PEEK[2]", "\x00\x01\x02\x03\x04"},
	}
	for _, tt := range tests {
		got := joined(c.ok("FETCH 1 (%s)", tt.item))
		i := strings.Index(got, "}\n")
		if i < 0 {
			t.Errorf("%s: no literal in %q", tt.item, got)
			continue
		}
		body := got[i+2:]
		body = body[:strings.LastIndex(body, ")")]
		if body != tt.want {
			t.Errorf("%s = %q, want %q", tt.item, body, tt.want)
		}
	}
	size := joined(c.ok("FETCH 1 (RFC822.SIZE BINARY.SIZE[2] FLAGS)"))
	if !strings.Contains(size, fmt.Sprintf("RFC822.SIZE %d", len(crlf))) || !strings.Contains(size, "BINARY.SIZE[2] 5") || strings.Contains(size, `\Seen`) {
		t.Errorf("sizes/flags: %q (PEEK must not set \\Seen; CRLF size %d)", size, len(crlf))
	}
	seen := joined(c.ok("FETCH 1 BODY[1]"))
	if !strings.Contains(seen, `\Seen`) {
		t.Errorf("BODY[1] did not set \\Seen: %q", seen)
	}
	bs := joined(c.ok("FETCH 1 BODYSTRUCTURE"))
	for _, want := range []string{`("text" "plain" ("charset" "utf-8") NIL NIL "quoted-printable" 15 0`, `("application" "octet-stream" NIL NIL NIL "base64" 8`, `"mixed" ("boundary" "XX")`} {
		if !strings.Contains(bs, want) {
			t.Errorf("BODYSTRUCTURE lacks %s: %s", want, bs)
		}
	}
}
