package smtp

import (
	"bytes"
	"context"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailtk/internal/testutil"
)

func testConfig(host string) Config {
	return Config{Hostname: host, VRFY: PolicyLocal, EXPN: PolicyLocal}
}

// runPipe serves one session over net.Pipe and returns the client end.
func runPipe(t *testing.T, cfg Config, be Backend, peer Peer) net.Conn {
	t.Helper()
	srv, cli := net.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		Serve(context.Background(), cfg, be, peer, Conn{R: srv, W: srv, SetDeadline: srv.SetDeadline})
		srv.Close()
	}()
	t.Cleanup(func() { cli.Close(); <-done })
	return cli
}

func TestSeedTranscripts(t *testing.T) {
	local := Peer{Addr: "127.0.0.1", Local: true}
	tests := []struct {
		file string
		host string
		peer Peer
	}{
		{"seed-normal.txt", "foo.com", local},
		{"seed-abort.txt", "foo.com", local},
		{"seed-relay1.txt", "foo.com", Peer{Addr: "192.0.2.9", RelayClient: true}},
		{"seed-relay2.txt", "xyz.com", Peer{Addr: "192.0.2.10"}},
		{"seed-verify.txt", "foo.com", local},
		{"seed-vrfy-expn.txt", "foo.com", local},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			be := &fakeBackend{}
			c := runPipe(t, testConfig(tt.host), be, tt.peer)
			testutil.RunTranscriptFile(t, filepath.Join("testdata", tt.file), c, c)
			if got := len(be.messages()); got != 1 && !strings.Contains(tt.file, "abort") && !strings.Contains(tt.file, "expn") {
				t.Errorf("%d messages delivered, want 1", got)
			}
		})
	}
}

// dialog feeds input (with "\n" turned into CRLF unless raw) to a session
// and returns everything the server wrote.
func dialog(t *testing.T, cfg Config, be Backend, peer Peer, input string) string {
	t.Helper()
	var out bytes.Buffer
	if cfg.Hostname == "" {
		cfg.Hostname = "foo.com"
	}
	Serve(context.Background(), cfg, be, peer, Conn{R: strings.NewReader(input), W: &out})
	return out.String()
}

func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

func TestReplies(t *testing.T) {
	local := Peer{Addr: "127.0.0.1", Local: true}
	remote := Peer{Addr: "192.0.2.7"}
	const hello = "EHLO bar.com\nMAIL FROM:<a@bar.com>\n"
	tests := []struct {
		name  string
		peer  Peer
		cfg   Config
		input string
		want  []string // substrings, in order
		not   []string
	}{
		{"case-insensitive verbs", local, Config{}, "ehlo x\nmail from:<a@b.c>\nrcpt to:<jones@FOO.com>\nquit\n",
			[]string{"250 HELP", "250 2.1.0", "250 2.1.5", "221 2.0.0"}, nil},
		{"unknown command", local, Config{}, "FROB\n", []string{"500 5.5.1 Command unrecognized"}, nil},
		{"obsolete commands", local, Config{}, "HELO x\nSOML FROM:<a@b>\nSAML FROM:<a@b>\nTURN\nSEND FROM:<a@b>\n",
			[]string{"502 5.5.1", "502 5.5.1", "502 5.5.1", "502 5.5.1"}, nil},
		{"mail before helo", local, Config{}, "MAIL FROM:<a@b.c>\n", []string{"503 5.5.1 Send EHLO or HELO first"}, nil},
		{"rcpt before mail", local, Config{}, "EHLO x\nRCPT TO:<jones@foo.com>\n", []string{"503 5.5.1 Need MAIL"}, nil},
		{"nested mail", local, Config{}, hello + "MAIL FROM:<a@b.c>\n", []string{"250 2.1.0", "503 5.5.1 Nested"}, nil},
		{"data without rcpt", local, Config{}, hello + "DATA\n", []string{"554 5.5.1 No valid recipients"}, []string{"354"}},
		{"bad mail syntax", local, Config{}, "EHLO x\nMAIL FROM:<a@b\n", []string{"501 5.5.4"}, nil},
		{"null sender", local, Config{}, "EHLO x\nMAIL FROM:<>\n", []string{"250 2.1.0"}, nil},
		{"unknown param", local, Config{}, "EHLO x\nMAIL FROM:<a@b.c> FOO=1\n", []string{"555 5.5.4 Unsupported parameter FOO"}, nil},
		{"params need EHLO", local, Config{}, "HELO x\nMAIL FROM:<a@b.c> SIZE=10\n", []string{"555 5.5.4"}, nil},
		{"declared size too big", local, Config{MaxSize: 100}, "EHLO x\nMAIL FROM:<a@b.c> SIZE=101\n", []string{"552 5.3.4"}, nil},
		{"dsn params", local, Config{}, "EHLO x\nMAIL FROM:<a@b.c> RET=HDRS ENVID=QQ+2B1\nRCPT TO:<jones@foo.com> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;jones@foo.com\n",
			[]string{"250 2.1.0", "250 2.1.5"}, nil},
		{"bad notify", local, Config{}, hello + "RCPT TO:<jones@foo.com> NOTIFY=SOMETIMES\n", []string{"501 5.5.4"}, nil},
		{"postmaster without domain", remote, Config{}, hello + "RCPT TO:<Postmaster>\n", []string{"250 2.1.5"}, nil},
		{"relay denied", remote, Config{}, hello + "RCPT TO:<x@elsewhere.org>\n", []string{"550 5.7.1"}, nil},
		{"relay client", Peer{Addr: "192.0.2.7", RelayClient: true}, Config{}, hello + "RCPT TO:<x@elsewhere.org>\n", []string{"250 2.1.5"}, nil},
		{"too many recipients", local, Config{MaxRcpt: 2}, hello + "RCPT TO:<jones@foo.com>\nRCPT TO:<brown@foo.com>\nRCPT TO:<jsmith@foo.com>\n",
			[]string{"250 2.1.5", "250 2.1.5", "452 4.5.3 Too many recipients"}, nil},
		{"vrfy hidden from remote", remote, Config{}, "EHLO x\nVRFY jones\n", []string{"252 2.5.0"}, []string{"Bill"}},
		{"expn hidden from remote", remote, Config{}, "EHLO x\nEXPN exemple-email-list\n", []string{"502 5.7.0"}, []string{"Smith"}},
		{"vrfy on for all", remote, Config{VRFY: PolicyOn}, "EHLO x\nVRFY jones\n", []string{"250 2.1.5 Bill Jones <jones@foo.com>"}, nil},
		{"vrfy off for local", local, Config{VRFY: PolicyOff}, "EHLO x\nVRFY jones\n", []string{"252 2.5.0"}, nil},
		{"help", local, Config{}, "HELP\nHELP mail\nHELP xyzzy\n", []string{"214-2.0.0 Commands:", "214 2.0.0 End of HELP info", "214 2.0.0 MAIL FROM:", "504 5.5.1"}, nil},
		{"three strikes", remote, Config{}, "FOO\nBAR\nBAZ\nNOOP\n", []string{"500", "500", "500", "421 4.7.0"}, []string{"250"}},
		{"http verb", remote, Config{}, "GET / HTTP/1.1\nHost: x\n", []string{"421 4.7.0"}, []string{"500"}},
		{"bare LF command not executed", local, Config{}, "EHLO x\r\nMAIL FROM:<a@b.c>\n", []string{"500 5.5.2 Syntax error: command must end with CRLF"}, []string{"2.1.0"}},
		{"long command line", local, Config{}, "NOOP " + strings.Repeat("x", 3000) + "\nNOOP\n", []string{"500 5.5.2 Line too long", "250 2.0.0 OK"}, nil},
		{"512 octet command accepted", local, Config{}, "NOOP " + strings.Repeat("x", 505) + "\n", []string{"250 2.0.0 OK"}, nil},
		{"starttls not offered", local, Config{}, "EHLO x\nSTARTTLS\n", []string{"502 5.5.1"}, []string{"250-STARTTLS"}},
		{"auth offered to local", local, Config{Auth: true}, "EHLO x\n", []string{"250-AUTH PLAIN LOGIN"}, nil},
		{"auth not offered in clear", remote, Config{Auth: true}, "EHLO x\nAUTH PLAIN AGpvbmVzAHNlY3JldA==\n", []string{"538 5.7.11"}, []string{"AUTH PLAIN LOGIN", "235"}},
		{"auth plain", local, Config{Auth: true}, "EHLO x\nAUTH PLAIN AGpvbmVzAHNlY3JldA==\nMAIL FROM:<a@b.c>\nRCPT TO:<x@elsewhere.org>\n",
			[]string{"235 2.7.0", "250 2.1.0", "250 2.1.5"}, nil},
		{"auth plain challenge", local, Config{Auth: true}, "EHLO x\nAUTH PLAIN\nAGpvbmVzAHNlY3JldA==\n", []string{"334 \r\n", "235 2.7.0"}, nil},
		{"auth login", local, Config{Auth: true}, "EHLO x\nAUTH LOGIN\nam9uZXM=\nc2VjcmV0\n", []string{"334 VXNlcm5hbWU6", "334 UGFzc3dvcmQ6", "235 2.7.0"}, nil},
		{"auth bad password", local, Config{Auth: true}, "EHLO x\nAUTH PLAIN AGpvbmVzAHdyb25n\n", []string{"535 5.7.8"}, []string{"235"}},
		{"auth cancelled", local, Config{Auth: true}, "EHLO x\nAUTH LOGIN\n*\n", []string{"501 5.0.0"}, nil},
		{"auth twice", local, Config{Auth: true}, "EHLO x\nAUTH PLAIN AGpvbmVzAHNlY3JldA==\nAUTH PLAIN AGpvbmVzAHNlY3JldA==\n", []string{"235", "503 5.5.1 Already"}, nil},
		{"smtputf8 needed", local, Config{}, "EHLO x\nMAIL FROM:<ö@b.c>\nMAIL FROM:<ö@b.c> SMTPUTF8\n", []string{"553 5.6.7", "250 2.1.0"}, nil},
		{"lmtp needs lhlo", local, Config{LMTP: true}, "EHLO x\nLHLO x\n", []string{"220 foo.com LMTP", "500 5.5.1", "250-foo.com greets x"}, nil},
		{"rset with args", local, Config{}, "RSET x\n", []string{"501 5.5.4"}, nil},
		{"trailing dot relay", remote, Config{}, hello + "RCPT TO:<x@elsewhere.org.>\n", []string{"550 5.7.1"}, nil},
		{"route to remote", remote, Config{}, hello + "RCPT TO:<@foo.com:x@elsewhere.org>\n", []string{"550 5.7.1"}, nil},
		{"ip literal", remote, Config{}, hello + "RCPT TO:<x@[192.0.2.1]>\n", []string{"550 5.7.1"}, nil},
		{"quoted at", remote, Config{}, hello + "RCPT TO:<\"x@elsewhere.org\"@foo.com>\n", []string{"550 5.1.1"}, []string{"250 2.1.5"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			input := tt.input
			if !strings.Contains(input, "\r") {
				input = crlf(input)
			}
			out := dialog(t, tt.cfg, &fakeBackend{}, tt.peer, input)
			rest := out
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("reply %q missing (in order) from:\n%s", w, out)
				}
				rest = rest[i+len(w):]
			}
			for _, n := range tt.not {
				if strings.Contains(out, n) {
					t.Errorf("unexpected %q in:\n%s", n, out)
				}
			}
		})
	}
}

func TestDataDelivery(t *testing.T) {
	be := &fakeBackend{}
	in := crlf("EHLO bar.com\nMAIL FROM:<a@bar.com>\nRCPT TO:<jones@foo.com>\nDATA\nSubject: x\n\n..dot\nline\n.\nQUIT\n")
	out := dialog(t, Config{}, be, Peer{Addr: "192.0.2.1", Port: 4000}, in)
	if !strings.Contains(out, "250 2.0.0 OK id=") {
		t.Fatal(out)
	}
	msgs := be.messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	if got, want := msgs[0].body, "Subject: x\n\n.dot\nline\n"; got != want {
		t.Errorf("body %q, want %q", got, want)
	}
	rcv := msgs[0].env.Received
	for _, w := range []string{"Received: from bar.com ([192.0.2.1]:4000)\n\tby foo.com (mailtk smtpd) with ESMTP id ", "\n\tfor <jones@foo.com>;\n\t"} {
		if !strings.Contains(rcv, w) {
			t.Errorf("Received %q lacks %q", rcv, w)
		}
	}
}

func TestHeloSanitized(t *testing.T) {
	be := &fakeBackend{}
	in := crlf("EHLO evil(x)\tby;x\nMAIL FROM:<a@bar.com>\nRCPT TO:<jones@foo.com>\nDATA\nx\n.\n")
	dialog(t, Config{}, be, Peer{}, in)
	msgs := be.messages()
	if len(msgs) != 1 || !strings.HasPrefix(msgs[0].env.Received, "Received: from evil_x_") {
		t.Fatalf("%+v", msgs)
	}
}

func TestLMTPRepliesPerRecipient(t *testing.T) {
	be := &fakeBackend{}
	in := crlf("LHLO x\nMAIL FROM:<a@bar.com>\nRCPT TO:<jones@foo.com>\nRCPT TO:<nobody@foo.com>\nRCPT TO:<brown@foo.com>\nDATA\nhi\n.\nQUIT\n")
	out := dialog(t, Config{LMTP: true}, be, Peer{Local: true}, in)
	if n := strings.Count(out, "250 2.0.0 <"); n != 2 {
		t.Fatalf("want 2 per-recipient replies:\n%s", out)
	}
}

func TestDataErrorsKeepSync(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		data string // raw, between DATA and the final CRLF.CRLF
		want string
	}{
		{"too big", Config{MaxSize: 50}, strings.Repeat("0123456789\r\n", 20), "552 5.3.4"},
		{"bare LF", Config{}, "a\nb\r\n", "550 5.6.0 Message refused: bare LF"},
		{"bare CR", Config{}, "a\rb\r\n", "550 5.6.0 Message refused: bare CR"},
		{"long line", Config{}, strings.Repeat("x", DataLineMax+10) + "\r\n", "500 5.5.2 Message refused: text line too long"},
		{"hops", Config{}, strings.Repeat("Received: x\r\n", 101) + "\r\nbody\r\n", "554 5.4.6 Too many hops"},
		{"delivered-to loop", Config{}, "Delivered-To: Jones@foo.com\r\n\r\nbody\r\n", "554 5.4.6 Mail loop"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			be := &fakeBackend{}
			in := crlf("EHLO x\nMAIL FROM:<a@b.c>\nRCPT TO:<jones@foo.com>\nDATA\n") + tt.data + crlf(".\nNOOP\nQUIT\n")
			out := dialog(t, tt.cfg, be, Peer{Local: true}, in)
			if !strings.Contains(out, tt.want) {
				t.Fatalf("want %q in:\n%s", tt.want, out)
			}
			if !strings.Contains(out, "250 2.0.0 OK\r\n221 2.0.0") {
				t.Fatalf("session lost sync:\n%s", out)
			}
			if n := len(be.messages()); n != 0 {
				t.Fatalf("%d messages delivered", n)
			}
		})
	}
}

// TestSmuggling sends every known SMTP smuggling end-of-data variant
// (CVE-2023-51764/51765/51766 and the SEC Consult list): a first message
// whose text hides a fake end followed by a second transaction. The
// server must never deliver the hidden second message.
func TestSmuggling(t *testing.T) {
	ends := []string{
		"\n.\n", "\n.\r\n", "\r.\r", "\r.\r\n", "\r\n.\r", "\r\n.\n", "\n.\r", "\r\n\x00.\r\n",
		"\r\n.\x00\r\n", "\n..\n", "\r\r\n.\r\r\n", "\r\n.\n\r\n", ".\n", "\n.\n\r\n",
	}
	for _, end := range ends {
		t.Run(strings.NewReplacer("\r", "CR", "\n", "LF", "\x00", "NUL").Replace(end), func(t *testing.T) {
			be := &fakeBackend{}
			smuggled := "MAIL FROM:<admin@foo.com>\r\nRCPT TO:<brown@foo.com>\r\nDATA\r\nSubject: smuggled\r\n\r\nevil\r\n"
			in := crlf("EHLO x\nMAIL FROM:<a@b.c>\nRCPT TO:<jones@foo.com>\nDATA\n") +
				"Subject: first\r\n\r\nhello" + end + smuggled + "\r\n.\r\nQUIT\r\n"
			out := dialog(t, Config{}, be, Peer{Local: true}, in)
			for _, m := range be.messages() {
				if strings.Contains(m.body, "Subject: smuggled") && !strings.Contains(m.body, "Subject: first") {
					t.Fatalf("smuggled message delivered on its own: %+v\n%s", m, out)
				}
				for _, r := range m.env.Rcpts {
					if strings.EqualFold(r.Path.Addr(), "brown@foo.com") {
						t.Fatalf("smuggled recipient accepted:\n%s", out)
					}
				}
			}
			if n := strings.Count(out, "354 "); n != 1 {
				t.Fatalf("%d DATA commands accepted, want 1:\n%s", n, out)
			}
		})
	}
}

// TestStartTLSInjection: commands pipelined after STARTTLS in plaintext
// are discarded, never run after the upgrade (CVE-2011-0411 class).
func TestStartTLSInjection(t *testing.T) {
	srv, cli := net.Pipe()
	defer cli.Close()
	upgraded := make(chan struct{})
	conn := Conn{R: srv, W: srv, SetDeadline: srv.SetDeadline,
		StartTLS: func() (io.Reader, io.Writer, string, error) {
			close(upgraded)
			return srv, srv, "TEST", nil // a pretend TLS layer
		}}
	be := &fakeBackend{}
	go func() {
		Serve(context.Background(), Config{Hostname: "foo.com"}, be, Peer{Local: true}, conn)
		srv.Close()
	}()
	r := newLineReader(cli)
	r.expect(t, "220 ")
	io.WriteString(cli, "EHLO x\r\n")
	r.until(t, "250 HELP")
	io.WriteString(cli, "STARTTLS\r\nMAIL FROM:<evil@x.y>\r\n")
	r.expect(t, "220 2.0.0")
	<-upgraded
	// After the upgrade, the injected MAIL must not have run: MAIL now
	// needs a new EHLO.
	io.WriteString(cli, "MAIL FROM:<a@b.c>\r\n")
	r.expect(t, "503 5.5.1 Send EHLO")
	io.WriteString(cli, "EHLO x\r\n")
	r.until(t, "250 HELP")
	io.WriteString(cli, "QUIT\r\n")
	r.expect(t, "221")
}

type lineReader struct{ lines chan string }

func newLineReader(c net.Conn) *lineReader {
	lr := &lineReader{lines: make(chan string, 100)}
	go func() {
		buf := make([]byte, 4096)
		var acc []byte
		for {
			n, err := c.Read(buf)
			acc = append(acc, buf[:n]...)
			for {
				i := bytes.Index(acc, []byte("\r\n"))
				if i < 0 {
					break
				}
				lr.lines <- string(acc[:i])
				acc = acc[i+2:]
			}
			if err != nil {
				close(lr.lines)
				return
			}
		}
	}()
	return lr
}

func (r *lineReader) expect(t *testing.T, prefix string) {
	t.Helper()
	select {
	case l := <-r.lines:
		if !strings.HasPrefix(l, prefix) {
			t.Fatalf("got %q, want %q...", l, prefix)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no reply, want %q", prefix)
	}
}

func (r *lineReader) until(t *testing.T, line string) {
	t.Helper()
	for {
		select {
		case l, ok := <-r.lines:
			if !ok {
				t.Fatalf("closed before %q", line)
			}
			if l == line {
				return
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no %q", line)
		}
	}
}

func TestTimeout(t *testing.T) {
	srv, cli := net.Pipe()
	defer cli.Close()
	done := make(chan error, 1)
	go func() {
		done <- Serve(context.Background(), Config{Hostname: "foo.com", GreetingTimeout: 50 * time.Millisecond}, &fakeBackend{}, Peer{},
			Conn{R: srv, W: srv, SetDeadline: srv.SetDeadline})
		srv.Close()
	}()
	r := newLineReader(cli)
	r.expect(t, "220 ")
	r.expect(t, "421 4.4.2")
	if err := <-done; err == nil {
		t.Error("Serve returned nil after a timeout")
	}
}

func TestShutdown(t *testing.T) {
	srv, cli := net.Pipe()
	defer cli.Close()
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		Serve(ctx, Config{Hostname: "foo.com"}, &fakeBackend{}, Peer{}, Conn{R: srv, W: srv, SetDeadline: srv.SetDeadline})
		srv.Close()
	}()
	r := newLineReader(cli)
	r.expect(t, "220 ")
	cancel()
	r.expect(t, "421 4.3.2")
}

// TestDraining: when the server drains, an idle session gets 421 4.3.2
// at once, and a message in progress is finished first.
func TestDraining(t *testing.T) {
	srv, cli := net.Pipe()
	defer cli.Close()
	drain := make(chan struct{})
	be := &fakeBackend{}
	go func() {
		Serve(context.Background(), Config{Hostname: "foo.com"}, be, Peer{Local: true},
			Conn{R: srv, W: srv, SetDeadline: srv.SetDeadline, Draining: drain})
		srv.Close()
	}()
	r := newLineReader(cli)
	r.expect(t, "220 ")
	io.WriteString(cli, "HELO x\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<jones@foo.com>\r\nDATA\r\n")
	r.expect(t, "250 ")
	r.expect(t, "250 ")
	r.expect(t, "250 ")
	r.expect(t, "354 ")
	close(drain)
	io.WriteString(cli, "Subject: x\r\n\r\nbody\r\n.\r\n")
	r.expect(t, "250 2.0.0")
	r.expect(t, "421 4.3.2")
	if len(be.messages()) != 1 {
		t.Fatal("message in progress lost")
	}
}
