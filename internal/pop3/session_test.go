package pop3

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"mailtk/internal/testutil"
)

// body returns a one-line message whose CRLF size is n octets.
func body(n int) string { return strings.Repeat("a", n-2) + "\n" }

func seedDrop() *fakeDrop { return newFakeDrop(body(3000), body(7124), body(14749-7124-3000)) }

func secureOpts(d *fakeDrop) Options {
	return Options{
		Hostname: "pop.example.org", Secure: true, Implementation: "mailtk",
		Auth: &fakeAuth{users: map[string]string{"cousin": "monmotdepasseclair", "u": "p w"}, drop: d},
	}
}

func TestSeedTranscript(t *testing.T) {
	d := seedDrop()
	cli := pipeSession(t, NewSession(secureOpts(d)))
	testutil.RunTranscriptFile(t, "testdata/seed.txt", cli, cli)
	if !d.committed || len(d.deleted) != 0 || d.closed != 1 {
		t.Fatalf("committed=%v deleted=%v closed=%d", d.committed, d.deleted, d.closed)
	}
}

// transcripts are table tests: each is a dialogue against a fresh
// session over the seed maildrop, secure unless the name says otherwise.
var transcripts = []struct {
	name   string
	opts   func(*Options)
	script string
}{
	{"user pass with spaces in password", nil, `
C: USER u
S: +OK *
C: PASS p w
S: +OK Logged in, 3 messages*`},
	{"wrong password then right", nil, `
C: USER cousin
S: +OK *
C: PASS nope
S: -ERR [AUTH] Authentication failed
C: PASS monmotdepasseclair
S: -ERR No user name given*
C: USER cousin
S: +OK *
C: PASS monmotdepasseclair
S: +OK *`},
	{"three auth failures close", nil, `
C: USER x
C: PASS y
C: USER x
C: PASS y
C: USER x
C: PASS y
S: +OK *
S: -ERR [AUTH] Authentication failed
S: +OK *
S: -ERR [AUTH] Authentication failed
S: +OK *
S: -ERR [AUTH] Authentication failed; too many failures, closing connection`},
	{"capa secure", nil, `
C: CAPA
S: +OK Capability list follows
S: CAPA
S: TOP
S: UIDL
S: RESP-CODES
S: AUTH-RESP-CODE
S: PIPELINING
S: USER
S: SASL PLAIN
S: IMPLEMENTATION mailtk
S: .`},
	{"capa insecure offers stls only", func(o *Options) { o.Secure = false; o.CanStartTLS = true; o.Implementation = "" }, `
C: capa
S: +OK Capability list follows
S: CAPA
S: TOP
S: UIDL
S: RESP-CODES
S: AUTH-RESP-CODE
S: PIPELINING
S: STLS
S: .
C: USER cousin
S: -ERR [AUTH] Plaintext authentication disallowed*
C: AUTH PLAIN
S: -ERR [AUTH] Plaintext authentication disallowed*
C: STLS
S: +OK Begin TLS negotiation`},
	{"stls unavailable", nil, `
C: STLS
S: -ERR STLS not available`},
	{"capa in transaction", nil, `
C: USER cousin
C: PASS monmotdepasseclair
S: +OK *
S: +OK *
C: CAPA
S: +OK Capability list follows
S: CAPA
S: TOP
S: UIDL
S: RESP-CODES
S: AUTH-RESP-CODE
S: PIPELINING
S: IMPLEMENTATION mailtk
S: .`},
	{"auth plain initial response", nil, `
C: AUTH PLAIN AGNvdXNpbgBtb25tb3RkZXBhc3NlY2xhaXI=
S: +OK Logged in, 3 messages*`},
	{"auth plain continuation", nil, `
C: AUTH plain
S: + 
C: AGNvdXNpbgBtb25tb3RkZXBhc3NlY2xhaXI=
S: +OK Logged in*`},
	{"auth plain authzid equal", nil, `
C: AUTH PLAIN Y291c2luAGNvdXNpbgBtb25tb3RkZXBhc3NlY2xhaXI=
S: +OK Logged in*`},
	{"auth plain other authzid", nil, `
C: AUTH PLAIN YWRtaW4AY291c2luAG1vbm1vdGRlcGFzc2VjbGFpcg==
S: -ERR [AUTH] Authorization identity not permitted`},
	{"auth plain cancel and bad", nil, `
C: AUTH PLAIN
S: + 
C: *
S: -ERR Authentication cancelled
C: AUTH PLAIN !!!
S: -ERR [AUTH] Invalid base64*
C: AUTH PLAIN =
S: -ERR [AUTH] Malformed SASL PLAIN response*
C: AUTH CRAM-MD5
S: -ERR Unsupported authentication mechanism`},
	{"auth list", nil, `
C: AUTH
S: +OK *
S: PLAIN
S: .`},
	{"auth plain control char in user", nil, `
C: AUTH PLAIN AGNvdQFzaW4AcA==
S: -ERR [AUTH] Authentication failed`},
	{"transaction commands before login", nil, `
C: STAT
S: -ERR STAT is not valid in the AUTHORIZATION state
C: XYZZY
S: -ERR Unknown command
C: NOOP
S: -ERR NOOP is not valid in the AUTHORIZATION state; too many errors, closing connection`},
	{"quit before login", nil, `
C: QUIT
S: +OK pop.example.org POP3 server signing off`},
	{"list uidl retr dele rset", nil, `
C: USER cousin
C: PASS monmotdepasseclair
S: +OK *
S: +OK *
C: LIST
S: +OK 3 messages (14749 octets)
S: 1 3000
S: 2 7124
S: 3 4625
S: .
C: UIDL
S: +OK *
S: 1 uida
S: 2 uidb
S: 3 uidc
S: .
C: UIDL 2
S: +OK 2 uidb
C: DELE 2
S: +OK Message 2 deleted
C: DELE 2
S: -ERR Message 2 already deleted
C: LIST 2
S: -ERR Message 2 already deleted
C: STAT
S: +OK 2 7625
C: LIST
S: +OK 2 messages (7625 octets)
S: 1 3000
S: 3 4625
S: .
C: RSET
S: +OK Maildrop has 3 messages (14749 octets)
C: LIST 2
S: +OK 2 7124
C: NOOP
S: +OK`},
	{"bad message numbers", nil, `
C: USER cousin
C: PASS monmotdepasseclair
S: +OK *
S: +OK *
C: RETR 0
S: -ERR No such message
C: RETR 4
S: -ERR No such message
C: RETR 99999999999999999999999
S: -ERR No such message
C: LIST 00
S: -ERR No such message
C: RETR -1
S: -ERR Invalid message number
C: TOP 1 x
S: -ERR Invalid number of lines
C: DELE 1x
S: -ERR Invalid message number; too many errors, closing connection`},
	{"argument counts", nil, `
C: USER cousin
C: PASS monmotdepasseclair
S: +OK *
S: +OK *
C: STAT 1
S: -ERR Usage: STAT
C: RETR
S: -ERR Usage: RETR msg
C: USER cousin
S: -ERR USER is not valid in the TRANSACTION state; too many errors*`},
	{"last", nil, `
C: USER cousin
C: PASS monmotdepasseclair
S: +OK *
S: +OK *
C: LAST
S: +OK 0
C: TOP 2 0
S: +OK *
S: *
S: .
C: LAST
S: +OK 0
C: RETR 2
S: +OK 7124 octets
S: *
S: .
C: LAST
S: +OK 2
C: RSET
S: +OK *
C: LAST
S: +OK 0`},
	{"empty line and trailing space", nil, `
C:
S: -ERR Invalid command: empty command
C: CAPA 
S: +OK *
S: CAPA
S: TOP
S: UIDL
S: RESP-CODES
S: AUTH-RESP-CODE
S: PIPELINING
S: USER
S: SASL PLAIN
S: IMPLEMENTATION mailtk
S: .`},
}

func TestTranscripts(t *testing.T) {
	for _, tt := range transcripts {
		t.Run(tt.name, func(t *testing.T) {
			o := secureOpts(seedDrop())
			if tt.opts != nil {
				tt.opts(&o)
			}
			cli := sockSession(t, NewSession(o))
			steps := append(testutil.ParseTranscript("S: +OK *"), testutil.ParseTranscript(tt.script)...)
			testutil.RunTranscript(t, steps, cli, cli, 5*time.Second)
		})
	}
}

func TestQuitCommits(t *testing.T) {
	d := newFakeDrop("a\n", "b\n", "c\n", "d\n")
	d.seen[0] = true
	s := NewSession(secureOpts(d))
	ctx := context.Background()
	for _, l := range []string{"USER cousin", "PASS monmotdepasseclair", "RETR 2", "RETR 3", "DELE 3", "DELE 4"} {
		r := s.Handle(ctx, []byte(l))
		if !r.OK {
			t.Fatalf("%s: %s", l, r.StatusLine())
		}
		if r.Body != nil {
			r.WriteTo(io.Discard)
		}
	}
	if r := s.Handle(ctx, []byte("LAST")); r.Text != "3" {
		t.Fatalf("LAST = %q", r.Text)
	}
	r := s.Handle(ctx, []byte("QUIT"))
	if !r.OK || !r.Close || r.Text != "pop.example.org POP3 server signing off (2 messages left)" {
		t.Fatalf("QUIT: %s", r.StatusLine())
	}
	if got := d.deleted; len(got) != 2 || got[0] != 2 || got[1] != 3 {
		t.Errorf("deleted = %v", got)
	}
	if got := d.retrieved; len(got) != 1 || got[0] != 1 {
		t.Errorf("retrieved = %v (a deleted message is not also marked)", got)
	}
	s.Close()
	if d.closed != 1 || s.State() != Update || s.Stats().Deleted != 2 || s.Stats().Retrieved != 2 {
		t.Errorf("closed=%d state=%v stats=%+v", d.closed, s.State(), s.Stats())
	}
}

func TestNoQuitNoCommit(t *testing.T) {
	d := seedDrop()
	s := NewSession(secureOpts(d))
	ctx := context.Background()
	s.Handle(ctx, []byte("USER cousin"))
	s.Handle(ctx, []byte("PASS monmotdepasseclair"))
	s.Handle(ctx, []byte("DELE 1"))
	s.Close()
	s.Close()
	if d.committed || d.closed != 1 {
		t.Fatalf("committed=%v closed=%d", d.committed, d.closed)
	}
}

func TestCommitError(t *testing.T) {
	d := seedDrop()
	d.commitErr = errors.New("disk on fire")
	s := NewSession(secureOpts(d))
	ctx := context.Background()
	s.Handle(ctx, []byte("USER cousin"))
	s.Handle(ctx, []byte("PASS monmotdepasseclair"))
	s.Handle(ctx, []byte("DELE 1"))
	r := s.Handle(ctx, []byte("QUIT"))
	if r.StatusLine() != "-ERR [SYS/TEMP] Some deleted messages not removed" || !r.Close {
		t.Fatalf("%s", r.StatusLine())
	}
}

func TestLoginErrors(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{ErrInUse, "-ERR [IN-USE] Maildrop is locked*"},
		{&Error{Code: CodeLoginDelay, Text: "Wait 5 minutes"}, "-ERR [LOGIN-DELAY] Wait 5 minutes"},
		{&Error{Code: CodeSysPerm, Text: "Mailbox damaged", Err: io.ErrUnexpectedEOF}, "-ERR [SYS/PERM] Mailbox damaged"},
		{&Error{Code: CodeAuth, Text: "x"}, "-ERR [AUTH] Authentication failed"},
		{errors.New("secret detail"), "-ERR [SYS/TEMP] Temporary server failure, try again later"},
		{&Error{Err: ErrAuth}, "-ERR [AUTH] Authentication failed"},
	}
	for _, tt := range tests {
		o := secureOpts(nil)
		o.Auth = &fakeAuth{err: tt.err}
		s := NewSession(o)
		s.Handle(context.Background(), []byte("USER a"))
		r := s.Handle(context.Background(), []byte("PASS b"))
		if !testutil.Glob(tt.want, r.StatusLine()) || s.State() != Authorization {
			t.Errorf("%v: got %q, want %q", tt.err, r.StatusLine(), tt.want)
		}
	}
}

func TestGoneMessage(t *testing.T) {
	d := seedDrop()
	d.gone[1] = true
	s := NewSession(secureOpts(d))
	ctx := context.Background()
	s.Handle(ctx, []byte("USER cousin"))
	s.Handle(ctx, []byte("PASS monmotdepasseclair"))
	if r := s.Handle(ctx, []byte("RETR 2")); r.StatusLine() != "-ERR Message 2 is gone: removed by another client" {
		t.Fatal(r.StatusLine())
	}
	if r := s.Handle(ctx, []byte("RETR 1")); !r.OK {
		t.Fatal(r.StatusLine())
	}
	if r := s.Handle(ctx, []byte("LAST")); r.Text != "1" {
		t.Fatal(r.StatusLine())
	}
}

func TestPreauth(t *testing.T) {
	d := seedDrop()
	d.seen[0], d.seen[1] = true, true
	s := NewPreauthSession(Options{}, "me", d)
	ctx := context.Background()
	if s.State() != Transaction {
		t.Fatal(s.State())
	}
	if r := s.Handle(ctx, []byte("last")); r.Text != "2" {
		t.Fatalf("LAST = %s", r.StatusLine())
	}
	if r := s.Handle(ctx, []byte("stat")); r.Text != "3 14749" {
		t.Fatal(r.StatusLine())
	}
}

func TestLineTooLong(t *testing.T) {
	s := NewSession(secureOpts(seedDrop()))
	for i := 1; i <= 3; i++ {
		r := s.LineTooLong()
		if r.OK || r.Close != (i == 3) {
			t.Fatalf("%d: %s close=%v", i, r.StatusLine(), r.Close)
		}
	}
}

func TestTLSStarted(t *testing.T) {
	o := secureOpts(seedDrop())
	o.Secure, o.CanStartTLS = false, true
	s := NewSession(o)
	r := s.Handle(context.Background(), []byte("STLS"))
	if !r.StartTLS {
		t.Fatal(r.StatusLine())
	}
	s.TLSStarted()
	r = s.Handle(context.Background(), []byte("CAPA"))
	capa := strings.Join(r.Lines, ",")
	if strings.Contains(capa, "STLS") || !strings.Contains(capa, "USER") || !strings.Contains(capa, "SASL PLAIN") {
		t.Fatalf("CAPA after TLS: %s", capa)
	}
	if r := s.Handle(context.Background(), []byte("STLS")); r.OK {
		t.Fatal("second STLS accepted")
	}
}

func TestUIDString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"1700000000.M1P2.host,S=10,W=11", "1700000000.M1P2.host,S=10,W=11"},
		{`a\057b`, `a\057b`},
		{"a b", `a\040b`},
		{"é", `\303\251`},
		{"", `\000`},
		{"x\x00\x7f", `x\000\177`},
	}
	for _, tt := range tests {
		if got := UIDString(tt.in); got != tt.want {
			t.Errorf("UIDString(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzSession feeds arbitrary command lines to a session on the seed
// maildrop. Properties: no panic; every status line is one line (no CR
// or LF, so a client can never be fed a forged response); nothing is
// committed unless the last handled command was a QUIT in TRANSACTION;
// the maildrop is released exactly once.
func FuzzSession(f *testing.F) {
	for _, s := range []string{
		"USER cousin\nPASS monmotdepasseclair\nLIST\nRETR 1\nDELE 2\nQUIT",
		"AUTH PLAIN\nAGNvdXNpbgBtb25tb3RkZXBhc3NlY2xhaXI=\nTOP 1 0\nUIDL\nLAST\nRSET\nQUIT",
		"CAPA\nSTLS\nUSER \x01\nPASS x",
		"USER cousin\nPASS monmotdepasseclair\nDELE 1\nDELE 1\nRETR 0\nLIST 99999999999999",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		d := seedDrop()
		o := secureOpts(d)
		o.CanStartTLS = true
		s := NewSession(o)
		ctx := context.Background()
		lastQuit := false
		for _, l := range strings.Split(in, "\n") {
			r := s.Handle(ctx, []byte(l))
			if strings.ContainsAny(r.StatusLine(), "\r\n") {
				t.Fatalf("status line %q", r.StatusLine())
			}
			for _, ml := range r.Lines {
				if strings.ContainsAny(ml, "\r\n") {
					t.Fatalf("response line %q", ml)
				}
			}
			if r.Body != nil {
				r.Body.Close()
			}
			lastQuit = false
			if r.StartTLS {
				s.TLSStarted()
			}
			if r.Close {
				lastQuit = s.State() == Update && d.committed
				break
			}
		}
		s.Close()
		if d.committed && !lastQuit {
			t.Fatalf("committed without QUIT")
		}
		if want := map[bool]int{true: 1}[s.md != nil]; d.closed != want {
			t.Fatalf("maildrop closed %d times", d.closed)
		}
	})
}
