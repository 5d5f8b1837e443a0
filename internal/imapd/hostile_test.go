package imapd

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"mailtk/internal/netio"
	"mailtk/internal/testutil"
)

// listTree returns every path under root.
func listTree(t *testing.T, root string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	filepath.Walk(root, func(p string, _ os.FileInfo, err error) error {
		if err == nil {
			out[p] = true
		}
		return nil
	})
	return out
}

func TestHostileMailboxNames(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "user", "Maildir")
	for _, sub := range []string{"tmp", "new", "cur"} {
		os.MkdirAll(filepath.Join(dir, sub), 0o700)
	}
	deliver(t, dir, "Subject: x\n\nx\n")
	before := listTree(t, base)
	c := startSession(t, testConfig(t, dir))
	c.ok("login u p")
	names := []string{
		`"../x"`, `"../../etc"`, `".."`, `"/etc/passwd"`, `"/tmp/x"`, `"a/../../b"`,
		`"a..b"`, `".hidden"`, `"&Jjo"`, `"&AGE-"`, `"&Jjo-&Jjo-"`,
		`"` + strings.Repeat("x", 300) + `"`, `"` + strings.Repeat("a.", 150) + `a"`,
		`"*"`, `"%"`,
	}
	for _, n := range names {
		n = strings.TrimSuffix(n, "\r\n")
		cmds := []string{"CREATE %s", "SELECT %s", "DELETE %s", "RENAME INBOX %s", "STATUS %s (MESSAGES)", "SUBSCRIBE %s"}
		if !strings.HasPrefix(n, `"&`) {
			// go-imap rejects bad modified UTF-7 before reading the
			// message literal, and then loses sync (see TestLiteral...).
			cmds = append(cmds, "APPEND %s {1+}\r\nx")
		}
		for _, cmd := range cmds {
			st := c.no(cmd, n)
			if !strings.HasPrefix(st, "NO") && !strings.HasPrefix(st, "BAD") {
				t.Errorf("%s: %s", fmt.Sprintf(cmd, n), st)
			}
		}
	}
	c.ok("SELECT INBOX")
	for _, n := range names[:6] {
		c.no("COPY 1 %s", n)
		c.no("MOVE 1 %s", n)
	}
	c.ok("LOGOUT")
	// Control characters in a literal: go-imap's modified UTF-7 decoder
	// refuses them, but answers with a server error and loses sync, so
	// each gets a session of its own.
	for _, n := range []string{"a\x01b", "a\x00b", "a\rb", "a\nb", "\x1b[2J"} {
		c := startSession(t, testConfig(t, dir))
		c.ok("login u p")
		c.no("CREATE {%d+}\r\n%s", len(n), n)
	}
	after := listTree(t, base)
	for p := range after {
		if !before[p] && !strings.HasPrefix(p, dir+"/") {
			t.Errorf("created outside the Maildir: %s", p)
		}
		if !before[p] && strings.HasPrefix(filepath.Base(p), ".") && filepath.Dir(p) == dir {
			t.Errorf("created a folder: %s", p)
		}
	}
}

func TestLiteralAndNestingAbuse(t *testing.T) {
	dir := testutil.TempMaildir(t)
	cfg := testConfig(t, dir)
	cfg.AppendLimit = 1000
	c := startSession(t, cfg)
	// A huge literal where a string is expected is refused before
	// anything is read or allocated. QUIRK: go-imap sends no answer until
	// the next line arrives (see docs/VIOLATIONS.md), so the client
	// here ends the line itself.
	fmt.Fprintf(c.c, "a1 LOGIN {4294967295}\r\n\r\n")
	if l := c.line(); !strings.HasPrefix(l, "a1 NO") && !strings.HasPrefix(l, "a1 BAD") {
		t.Fatalf("huge literal: %q", l)
	}
	c.ok("login u p")
	// APPEND over APPENDLIMIT: refused without asking for the data.
	fmt.Fprintf(c.c, "a2 APPEND INBOX {5000}\r\n")
	if l := c.line(); !strings.Contains(l, "TOOBIG") {
		t.Fatalf("APPEND over the limit: %q", l)
	}

	c.ok("SELECT INBOX")
	// Deep nesting of search keys and of lists.
	c.no("SEARCH %s", strings.Repeat("(", 5000)+"ALL"+strings.Repeat(")", 5000))
	c.no("SEARCH %sALL", strings.Repeat("NOT ", 3000))
	c.no("FETCH 1 (%s", strings.Repeat("(", 10000))
	// A command longer than go-imap's limit ends the session (it cannot
	// resynchronise inside an unterminated line).
	fmt.Fprintf(c.c, "a4 NOOP %s\r\n", strings.Repeat("x", 100000))
	c.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	io.Copy(io.Discard, c.r)
	c = startSession(t, cfg)
	c.ok("login u p")
	// Non-synchronising literal over the limit: the server cannot refuse
	// it before it arrives. QUIRK: go-imap answers NO and then reads the
	// literal's bytes as commands (docs/VIOLATIONS.md); the test
	// only checks nothing is stored and the session stays bounded.
	fmt.Fprintf(c.c, "a3 APPEND INBOX {5000+}\r\n%s\r\n", strings.Repeat("x", 5000))
	c.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	io.Copy(io.Discard, c.r)
	if msgs, _ := os.ReadDir(filepath.Join(dir, "new")); len(msgs) != 0 {
		t.Errorf("APPEND over the limit stored %d messages", len(msgs))
	}
}

func TestDeepMIME(t *testing.T) {
	dir := testutil.TempMaildir(t)
	var b strings.Builder
	b.WriteString("Subject: deep\nMIME-Version: 1.0\n")
	const depth = 10000
	for i := 0; i < depth; i++ {
		fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=\"b%d\"\n\n--b%d\n", i, i)
	}
	b.WriteString("Content-Type: text/plain\n\nneedle in the deepest part\n")
	for i := depth - 1; i >= 0; i-- {
		fmt.Fprintf(&b, "--b%d--\n", i)
	}
	deliver(t, dir, b.String())
	c := startSession(t, testConfig(t, dir))
	c.ok("login u p")
	c.ok("SELECT INBOX")
	bs := joined(c.ok("FETCH 1 BODYSTRUCTURE"))
	if !strings.Contains(bs, `"application" "octet-stream"`) {
		t.Errorf("BODYSTRUCTURE of a 10000-deep message should end in an opaque part, got %d bytes", len(bs))
	}
	if n := strings.Count(bs, "("); n > 3*maxMIMEDepth+50 {
		t.Errorf("BODYSTRUCTURE nests %d parentheses", n)
	}
	c.ok("FETCH 1 (BODY.PEEK[1.1.1.1.1] BODY.PEEK[%s] BODY)", strings.TrimSuffix(strings.Repeat("1.", 200), "."))
	c.ok("SEARCH BODY needle")
	c.ok("FETCH 1 BODY.PEEK[]")
}

// TestStartTLSInjection: commands pipelined after STARTTLS in plaintext
// are never run (CVE-2011-0411 class), and LOGIN is disabled before TLS
// for a client that is not local.
func TestStartTLSInjection(t *testing.T) {
	dir := testutil.TempMaildir(t)
	cfg := testConfig(t, dir)
	var logins atomic.Int32
	auth := cfg.Auth
	cfg.Auth = func(ctx context.Context, u, p string) (*Account, error) {
		logins.Add(1)
		return auth(ctx, u, p)
	}
	srv, cli := testutil.SocketPair(t)
	cert, key := testutil.TLSCert(t, t.TempDir())
	peer := netio.Peer{RemoteAddr: netip.MustParseAddrPort("192.0.2.1:1234")}
	nc, err := netio.NewConn(srv, peer, netio.Options{TLSCertFile: cert, TLSKeyFile: key})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { ServeConn(context.Background(), cfg, nc, nil); close(done) }()
	c := &client{t: t, c: cli, r: bufio.NewReader(cli)}
	cli.SetDeadline(time.Now().Add(20 * time.Second))
	g := c.line()
	if !strings.Contains(g, "LOGINDISABLED") || !strings.Contains(g, "STARTTLS") {
		t.Fatalf("greeting on a non-local plaintext connection: %q", g)
	}
	c.no("LOGIN u p")
	fmt.Fprintf(cli, "a STARTTLS\r\nb LOGIN u p\r\n")
	if l := c.line(); !strings.HasPrefix(l, "a OK") {
		t.Fatalf("STARTTLS: %q", l)
	}
	cli.Close()
	<-done
	if n := logins.Load(); n != 0 {
		t.Fatalf("the injected LOGIN ran (%d calls)", n)
	}
}

// TestImplicitTLS: on a TLS connection (port 993) from a remote client,
// LOGIN is allowed and STARTTLS is not offered again.
func TestImplicitTLS(t *testing.T) {
	dir := testutil.TempMaildir(t)
	srv, cli := testutil.SocketPair(t)
	cert, key := testutil.TLSCert(t, t.TempDir())
	peer := netio.Peer{RemoteAddr: netip.MustParseAddrPort("192.0.2.1:1234")}
	nc, err := netio.NewConn(srv, peer, netio.Options{TLSCertFile: cert, TLSKeyFile: key, TLSImplicit: true})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := nc.StartTLS(nil); err != nil {
			t.Error(err)
			return
		}
		ServeConn(context.Background(), testConfig(t, dir), nc, nil)
	}()
	tc := tls.Client(cli, &tls.Config{InsecureSkipVerify: true})
	tc.SetDeadline(time.Now().Add(20 * time.Second))
	c := &client{t: t, c: tc, r: bufio.NewReader(tc)}
	g := c.line()
	if strings.Contains(g, "STARTTLS") || strings.Contains(g, "LOGINDISABLED") {
		t.Fatalf("greeting over TLS: %q", g)
	}
	c.ok("LOGIN u p")
	c.ok("LOGOUT")
	tc.Close()
	<-done
}
