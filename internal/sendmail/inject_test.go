package sendmail

import (
	"io"
	"strings"
	"testing"
	"time"

	"mailtk/internal/exitcode"
)

var fixed = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func prep(t *testing.T, in string, s Submission) (*Prepared, string) {
	t.Helper()
	s.Now = func() time.Time { return fixed }
	s.Hostname = "host.example.org"
	p, err := Prepare(strings.NewReader(in), s)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(p.Message())
	if err != nil {
		t.Fatal(err)
	}
	return p, string(b)
}

func TestPrepareCompletesHeader(t *testing.T) {
	env := map[string]string{"USER": "alice", "NAME": "Alice Example"}
	p, msg := prep(t, "Subject: hi\r\n\r\nbody\r\n", Submission{Getenv: func(k string) string { return env[k] }})
	if p.Sender != "alice@host.example.org" {
		t.Errorf("sender %q", p.Sender)
	}
	for _, want := range []string{
		"Subject: hi\n",
		"From: \"Alice Example\" <alice@host.example.org>\n",
		"Date: Wed, 25 Nov 2026 12:00:00 +0000\n",
		"Message-ID: <1795608000.",
		"@host.example.org>\n\nbody\n",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("missing %q in\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "\r") || strings.Contains(msg, "MIME-Version") {
		t.Errorf("unexpected CR or MIME-Version:\n%s", msg)
	}
}

func TestPrepareKeepsExistingAndAddsMIMEVersion(t *testing.T) {
	in := "From: Bob <bob@example.org>\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <x@y>\nContent-Type: text/plain; charset=utf-8\nSubject: folded\n  subject\n\nbody\n"
	_, msg := prep(t, in, Submission{From: "bob@example.org"})
	want := strings.Replace(in, "\n\nbody", "\nMIME-Version: 1.0\n\nbody", 1)
	if msg != want {
		t.Errorf("got\n%s\nwant\n%s", msg, want)
	}
}

func TestPrepareReadRecipients(t *testing.T) {
	in := "To: a@example.org, \"B, Person\" <b@example.org>\nCc: c@example.org\nBcc: secret@example.org\nSubject: x\n\nhello\n"
	p, msg := prep(t, in, Submission{ReadRecipients: true, From: "me"})
	if got := strings.Join(p.Recipients, " "); got != "a@example.org b@example.org c@example.org secret@example.org" {
		t.Errorf("recipients %q", got)
	}
	if strings.Contains(msg, "secret") || strings.Contains(msg, "Bcc") {
		t.Errorf("Bcc left in message:\n%s", msg)
	}
	if p.Sender != "me@host.example.org" {
		t.Errorf("sender %q", p.Sender)
	}
	// Resent-* recipients win for a resent message.
	p, _ = prep(t, "To: old@example.org\nResent-To: new@example.org\n\nx\n", Submission{ReadRecipients: true})
	if len(p.Recipients) != 1 || p.Recipients[0] != "new@example.org" {
		t.Errorf("resent recipients %q", p.Recipients)
	}
}

func TestPrepareDots(t *testing.T) {
	in := "Subject: x\n\nline\n.\nafter\n"
	_, msg := prep(t, in, Submission{})
	if strings.Contains(msg, "after") {
		t.Errorf("a lone dot did not end input without -i:\n%s", msg)
	}
	_, msg = prep(t, in, Submission{IgnoreDots: true})
	if !strings.HasSuffix(msg, "line\n.\nafter\n") {
		t.Errorf("-i: lone dot ended input:\n%s", msg)
	}
}

func TestPrepareHeaderlessBody(t *testing.T) {
	_, msg := prep(t, "just a body line\nsecond\n", Submission{From: "a@b"})
	if !strings.HasSuffix(msg, "\n\njust a body line\nsecond\n") {
		t.Errorf("got\n%s", msg)
	}
}

func TestPrepareLongLine(t *testing.T) {
	in := "Subject: x\n\nok\n" + strings.Repeat("x", 999) + "\n"
	p, err := Prepare(strings.NewReader(in), Submission{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(p.Message())
	if exitcode.Of(err) != exitcode.DataErr || !strings.Contains(err.Error(), "line 4") {
		t.Errorf("err %v (code %d)", err, exitcode.Of(err))
	}
	// Exactly 998 is fine.
	_, msg := prep(t, "Subject: x\n\n"+strings.Repeat("y", 998)+"\n", Submission{})
	if !strings.Contains(msg, strings.Repeat("y", 998)+"\n") {
		t.Error("998-octet line lost")
	}
}

func TestPrepareBadRecipients(t *testing.T) {
	_, err := Prepare(strings.NewReader("To: <<<\n\nx\n"), Submission{ReadRecipients: true})
	if exitcode.Of(err) != exitcode.DataErr {
		t.Errorf("err %v", err)
	}
}

func TestPrepareMaxSize(t *testing.T) {
	p, err := Prepare(strings.NewReader("Subject: x\n\n"+strings.Repeat("y\n", 100)), Submission{MaxSize: 50})
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(p.Message())
	if exitcode.Of(err) != exitcode.DataErr || !strings.Contains(err.Error(), "larger than 50 octets") {
		t.Errorf("err %v", err)
	}
}
