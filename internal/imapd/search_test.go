package imapd

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailtk/internal/testutil"
	"mailtk/maildir"
)

// TestSearchKeys reads as the RFC 3501 §6.4.4 list of keys.
func TestSearchKeys(t *testing.T) {
	dir := testutil.TempMaildir(t)
	d, _ := maildir.Open(dir)
	msgs := []struct {
		body  string
		flags string
		when  time.Time
	}{
		{"From: Alice <alice@example.org>\nTo: bob@example.org\nSubject: Lunch\nDate: Mon, 1 Jan 2024 10:00:00 +0000\n\nsee you at noon\n", "S", time.Date(2024, 1, 1, 10, 0, 0, 0, time.UTC)},
		{"From: =?utf-8?q?J=C3=BCrgen?= <j@example.org>\nTo: alice@example.org\nCc: carol@example.org\nSubject: =?utf-8?b?R3LDvMOfZQ==?=\nDate: Tue, 2 Jan 2024 10:00:00 +0000\nX-Tag: blue\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\nSch=F6ne Stra=DFe\n", "FR", time.Date(2024, 1, 2, 10, 0, 0, 0, time.UTC)},
		{"From: bob@example.org\nSubject: big\nDate: Wed, 3 Jan 2024 10:00:00 +0000\nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n\n" + strings.Repeat("aGVsbG8gd29ybGQgaGVsbG8gd29ybGQK\n", 40), "T", time.Date(2024, 1, 3, 10, 0, 0, 0, time.UTC)},
	}
	for _, m := range msgs {
		o := maildir.DeliverOptions{Time: m.when, Cur: true, Flags: m.flags}
		if _, err := d.DeliverWith(strings.NewReader(m.body), o); err != nil {
			t.Fatal(err)
		}
	}
	c := startSession(t, testConfig(t, dir))
	c.ok("LOGIN u p")
	c.ok("SELECT INBOX")
	c.ok(`STORE 3 +FLAGS ($Big)`)
	tests := []struct{ key, want string }{
		{"ALL", "1 2 3"},
		{"SEEN", "1"},
		{"UNSEEN", "2 3"},
		{"FLAGGED", "2"},
		{"ANSWERED", "2"},
		{"DELETED", "3"},
		{"UNDELETED", "1 2"},
		{"KEYWORD $Big", "3"},
		{"UNKEYWORD $Big", "1 2"},
		{"FROM alice", "1"},
		{`FROM "jürgen"`, "2"},
		{`FROM "JÜRGEN"`, "2"},
		{"TO alice", "2"},
		{"CC carol", "2"},
		{`SUBJECT "grüße"`, "2"},
		{`SUBJECT "GRÜSSE"`, "2"},
		{`HEADER X-Tag blue`, "2"},
		{`HEADER X-Tag ""`, "2"},
		{"BODY noon", "1"},
		{`BODY "schöne"`, "2"},
		{`BODY "straße"`, "2"},
		{"BODY STRASSE", "2"},
		{"BODY world", "3"},
		{"TEXT alice", "1 2"},
		{"LARGER 1000", "3"},
		{"SMALLER 200", "1"},
		{"SINCE 2-Jan-2024", "2 3"},
		{"BEFORE 2-Jan-2024", "1"},
		{"ON 2-Jan-2024", "2"},
		{"SENTSINCE 3-Jan-2024", "3"},
		{"SENTBEFORE 2-Jan-2024", "1"},
		{"SENTON 1-Jan-2024", "1"},
		{"NOT SEEN", "2 3"},
		{"OR SEEN DELETED", "1 3"},
		{"OR (FROM alice) (SUBJECT big)", "1 3"},
		{"2:*", "2 3"},
		{"*", "3"},
		{"1,3", "1 3"},
		{"5:9", ""},
		{"UID 2", "2"},
		{"UID 1:*", "1 2 3"},
		{"NOT (UID 1 OR SEEN FLAGGED)", "2 3"},
		{"NEW", ""},
		{"OLD", "1 2 3"},
	}
	for _, tt := range tests {
		got := ""
		for _, l := range c.ok("SEARCH CHARSET UTF-8 %s", tt.key) {
			if strings.HasPrefix(l, "* SEARCH") {
				got = strings.TrimSpace(strings.TrimPrefix(l, "* SEARCH"))
			}
		}
		if got != tt.want {
			t.Errorf("SEARCH %s = %q, want %q", tt.key, got, tt.want)
		}
	}
	// ESEARCH (RFC 4731) and SEARCHRES (RFC 5182).
	es := joined(c.ok("SEARCH RETURN (MIN MAX COUNT SAVE) UNSEEN"))
	if !strings.Contains(es, "MIN 2 MAX 3 COUNT 2") {
		t.Errorf("ESEARCH: %q", es)
	}
	if got := joined(c.ok("FETCH $ (UID)")); !strings.Contains(got, "* 2 FETCH") || !strings.Contains(got, "* 3 FETCH") {
		t.Errorf("FETCH $: %q", got)
	}
}

// FuzzCRLF: the CRLF form has exactly the size crlfSize predicts, keeps
// every CRLF, and has no bare LF.
func FuzzCRLF(f *testing.F) {
	for _, s := range []string{"", "a\nb\n", "a\r\nb", "\r\r\n\n", "x\r"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := io.ReadAll(newCRLFReader(bytes.NewReader(b)))
		if err != nil {
			t.Fatal(err)
		}
		n, err := crlfSize(bytes.NewReader(b))
		if err != nil || n != int64(len(out)) {
			t.Fatalf("crlfSize %d, converted %d bytes", n, len(out))
		}
		if bytes.Count(out, []byte("\n")) != bytes.Count(out, []byte("\r\n")) {
			t.Fatalf("bare LF left in %q", out)
		}
		if !bytes.Equal(bytes.ReplaceAll(out, []byte("\r\n"), []byte("\n")), bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))) {
			t.Fatalf("content changed: %q -> %q", b, out)
		}
	})
}

// FuzzSnapshot: a damaged imapd-snapshot is refused or read, never a crash.
func FuzzSnapshot(f *testing.F) {
	f.Add([]byte(snapshotMagic + "\x00\x00"))
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		for _, sub := range []string{"tmp", "new", "cur"} {
			os.Mkdir(filepath.Join(dir, sub), 0o700)
		}
		os.WriteFile(filepath.Join(dir, snapshotFile), b, 0o600)
		d, err := maildir.Open(dir)
		if err != nil {
			t.Skip()
		}
		mb := &mailbox{dir: d, now: time.Now}
		st, _ := folderStamps(dir, time.Now())
		loadSnapshot(mb, st)
	})
}
