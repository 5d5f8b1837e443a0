package sendmail_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailtk/internal/queue"
	"mailtk/internal/testutil"
)

type run struct {
	stdout, stderr string
	code           int
}

func sendmail(t *testing.T, stdin string, args ...string) run {
	t.Helper()
	cmd := exec.Command(testutil.Binary(t, "sendmail"), args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Env = append(os.Environ(), "USER=tester", "NAME=Test User")
	err := cmd.Run()
	code := testutil.ExitCode(err)
	if code < 0 {
		t.Fatal(err)
	}
	return run{out.String(), errb.String(), code}
}

func queued(t *testing.T, dir string) []queue.Envelope {
	t.Helper()
	r := sendmail(t, "", "-C", "/dev/null", "--queue", dir, "-bp", "--json")
	if r.code != 0 {
		t.Fatalf("-bp: %+v", r)
	}
	var out []queue.Envelope
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	for dec.More() {
		var e queue.Envelope
		if err := dec.Decode(&e); err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

// git send-email: recipients first, -f after them, -i.
func TestGitSendEmailThroughQueueToSink(t *testing.T) {
	q := filepath.Join(t.TempDir(), "q")
	msg := "From: Me <me@example.org>\nTo: bob@example.net\nSubject: [PATCH] x\n\n.dotted line\nbody\n"
	r := sendmail(t, msg, "-C", "/dev/null", "--queue", q, "-i", "bob@example.net", "-f", "me@example.org")
	if r.code != 0 {
		t.Fatalf("submit: %+v", r)
	}
	list := queued(t, q)
	if len(list) != 1 || list[0].From != "me@example.org" || list[0].Recipients[0].Addr != "bob@example.net" {
		t.Fatalf("queue: %+v", list)
	}
	addr, dump := testutil.StartSMTPSink(t)
	r = sendmail(t, "", "-C", "/dev/null", "--queue", q, "-q", "--relay", addr, "--relay-insecure")
	if r.code != 0 {
		t.Fatalf("-q: %+v", r)
	}
	if list := queued(t, q); len(list) != 0 {
		t.Fatalf("queue not empty after delivery: %+v", list)
	}
	files := testutil.WaitFiles(t, dump, 1, 10*time.Second)
	if len(files) != 1 {
		t.Fatalf("sink got %d messages", len(files))
	}
	b, _ := os.ReadFile(files[0])
	if !strings.Contains(string(b), "X-Mail-Args: <me@example.org>") || !strings.Contains(string(b), "\n.dotted line\nbody\n") || !strings.Contains(string(b), "Message-ID: <") {
		t.Errorf("sink saw:\n%s", b)
	}
}

// PHP's mail(): "sendmail -t -i", recipients in the header, Bcc removed.
func TestPHPMailReadRecipients(t *testing.T) {
	q := filepath.Join(t.TempDir(), "q")
	msg := "To: a@example.net\nBcc: hidden@example.net\nSubject: php\n\nhello\n"
	if r := sendmail(t, msg, "-C", "/dev/null", "--queue", q, "-t", "-i"); r.code != 0 {
		t.Fatalf("%+v", r)
	}
	list := queued(t, q)
	if len(list) != 1 || len(list[0].Recipients) != 2 || list[0].From != "tester@"+mustHostname(t) {
		t.Fatalf("queue: %+v", list)
	}
	b, _ := os.ReadFile(filepath.Join(q, "msg", list[0].ID))
	if strings.Contains(string(b), "hidden") || !strings.Contains(string(b), "From: \"Test User\" <tester@") {
		t.Errorf("queued message:\n%s", b)
	}
}

func mustHostname(t *testing.T) string {
	h, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestExitStatus(t *testing.T) {
	q := filepath.Join(t.TempDir(), "q")
	tests := []struct {
		name  string
		stdin string
		args  []string
		code  int
	}{
		{"no recipients", "Subject: x\n\nx\n", nil, 64},
		{"-t without any", "Subject: x\n\nx\n", []string{"-t"}, 64},
		{"unknown option", "", []string{"-Z"}, 64},
		{"daemon mode", "", []string{"-bd"}, 64},
		{"line over 998 octets", "Subject: x\n\n" + strings.Repeat("x", 999) + "\n", []string{"a@example.net"}, 65},
		{"bad recipient", "x\n", []string{"a b@example.net"}, 65},
		{"bad config file", "x\n", []string{"-C", "/nonexistent/sendmail.conf", "a@example.net"}, 78},
	}
	for _, tt := range tests {
		args := append([]string{"--queue", q}, tt.args...)
		if tt.name != "bad config file" {
			args = append([]string{"-C", "/dev/null"}, args...)
		}
		if r := sendmail(t, tt.stdin, args...); r.code != tt.code || r.stderr == "" {
			t.Errorf("%s: exit %d (want %d), stderr %q", tt.name, r.code, tt.code, r.stderr)
		}
	}
	if list := queued(t, q); len(list) != 0 {
		t.Errorf("a failed submission was queued: %+v", list)
	}
	// An unusable queue is a temporary failure: the caller keeps the mail.
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o600)
	if r := sendmail(t, "x\n", "-C", "/dev/null", "--queue", filepath.Join(file, "q"), "a@example.net"); r.code != 75 {
		t.Errorf("unusable queue: exit %d, %q", r.code, r.stderr)
	}
}

// Settings from a -C file, with the command line winning.
func TestConfigFile(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "sendmail.conf")
	os.WriteFile(conf, []byte("# test\nqueue = "+filepath.Join(dir, "fromfile")+"\nhostname = conf.example.org\n"), 0o644)
	if r := sendmail(t, "x\n", "-C", conf, "bob"); r.code != 0 {
		t.Fatalf("%+v", r)
	}
	list := queued(t, filepath.Join(dir, "fromfile"))
	if len(list) != 1 || list[0].Recipients[0].Addr != "bob@conf.example.org" {
		t.Fatalf("%+v", list)
	}
}

// neomutt hands its mail to sendmail exactly as a user's muttrc says.
func TestNeomutt(t *testing.T) {
	nm := testutil.Peer(t, "neomutt")
	q := filepath.Join(t.TempDir(), "q")
	bin := testutil.Binary(t, "sendmail")
	cmd := exec.Command(nm, "-n", "-F", "/dev/null",
		"-e", "set sendmail=\""+bin+" -C /dev/null --queue "+q+" -oi -oem\"",
		"-e", "set from=me@example.org", "-e", "set record=\"\"", "-e", "set use_from=yes",
		"-s", "from neomutt", "bob@example.net")
	cmd.Stdin = strings.NewReader("hello from neomutt\n")
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "TERM=dumb")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("neomutt: %v\n%s", err, out)
	}
	list := queued(t, q)
	if len(list) != 1 || list[0].Recipients[0].Addr != "bob@example.net" {
		t.Fatalf("%+v", list)
	}
	b, _ := os.ReadFile(filepath.Join(q, "msg", list[0].ID))
	if !strings.Contains(string(b), "Subject: from neomutt") || !strings.Contains(string(b), "hello from neomutt") {
		t.Errorf("queued:\n%s", b)
	}
}

// A smarthost that refuses temporarily: the message stays queued with
// the reason shown by mailq.
func TestDeferredShowsInMailq(t *testing.T) {
	q := filepath.Join(t.TempDir(), "q")
	sendmail(t, "x\n", "-C", "/dev/null", "--queue", q, "-f", "a@example.org", "bob@example.net")
	addr, _ := testutil.StartSMTPSink(t, "-r", "RCPT")
	if r := sendmail(t, "", "-C", "/dev/null", "--queue", q, "-q", "--relay", addr, "--relay-insecure"); r.code != 0 {
		t.Fatalf("%+v", r)
	}
	r := sendmail(t, "", "-C", "/dev/null", "--queue", q, "-bp")
	if !strings.Contains(r.stdout, "bob@example.net") || !strings.Contains(r.stdout, "(450 4.3.0") || !strings.Contains(r.stdout, "in 1 Request.") {
		t.Errorf("mailq:\n%s", r.stdout)
	}
	// mailq, by that name, lists the same.
	link := filepath.Join(t.TempDir(), "mailq")
	os.Symlink(testutil.Binary(t, "sendmail"), link)
	out, _ := exec.Command(link, "-C", "/dev/null", "--queue", q).Output()
	if !strings.Contains(string(out), "bob@example.net") {
		t.Errorf("mailq by name:\n%s", out)
	}
}

// Every long option of --help is documented in the man page.
func TestHelpMatchesManPage(t *testing.T) {
	r := sendmail(t, "", "--help")
	page, err := os.ReadFile(filepath.Join(testutil.ModuleRoot(t), "docs", "man", "sendmail.8.md"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range strings.Fields(r.stdout) {
		f = strings.TrimRight(f, ",.)")
		if !strings.HasPrefix(f, "--") || f == "--help" || f == "--" {
			continue
		}
		n++
		if !strings.Contains(string(page), "`"+f) {
			t.Errorf("option %s is in --help but not in sendmail.8.md", f)
		}
	}
	if n < 20 {
		t.Errorf("only %d options found in --help:\n%s", n, r.stdout)
	}
	for _, sec := range []string{"## SYNOPSIS", "## OPTIONS", "## EXIT STATUS", "## EXAMPLES"} {
		if !strings.Contains(string(page), sec) {
			t.Errorf("man page lacks %s", sec)
		}
	}
}
