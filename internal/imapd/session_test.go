package imapd

import (
	"bufio"
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"mailtk/internal/netio"

	"mailtk/internal/testutil"
)

func TestSeedSession(t *testing.T) {
	dir := testutil.TempMaildir(t)
	for i := 0; i < 11; i++ {
		deliver(t, dir, "Subject: filler\n\nfiller\n")
	}
	deliver(t, dir, seedMessage(t))
	c := startSession(t, testConfig(t, dir))
	c.ok("login u p")
	sel := joined(c.ok("select inbox"))
	for _, want := range []string{"* 12 EXISTS", "* 12 RECENT", "[UNSEEN 1]", "[UIDVALIDITY ", "[UIDNEXT 13]", `* FLAGS (\Answered \Flagged \Deleted \Seen \Draft)`} {
		if !strings.Contains(sel, want) {
			t.Errorf("SELECT: missing %q in\n%s", want, sel)
		}
	}
	full := joined(c.ok("fetch 12 full"))
	for _, want := range []string{
		`* 12 FETCH (`, `FLAGS (\Recent)`, `RFC822.SIZE `,
		`ENVELOPE ("Wed, 17 Jul 1996 02:23:25 -0700" "IMAP4rev1 WG mtg summary and minutes" (("Terry Gray" NIL "gray" "cac.washington.edu"))`,
		`((NIL NIL "imap" "cac.washington.edu")) ((NIL NIL "minutes" "CNRI.Reston.VA.US") ("John Klensin" NIL "KLENSIN" "MIT.EDU")) NIL NIL "<B27397-0100000@cac.washington.edu>")`,
		`BODY ("text" "plain" ("charset" "US-ASCII") NIL NIL "7bit" 63 2)`,
	} {
		if !strings.Contains(full, want) {
			t.Errorf("FETCH FULL: missing %q in\n%s", want, full)
		}
	}
	hdr := joined(c.ok("fetch 12 body[header]"))
	if !strings.Contains(hdr, "BODY[HEADER] {") || !strings.Contains(hdr, "Message-Id: <B27397-0100000@cac.washington.edu>\r\n") {
		t.Errorf("BODY[HEADER]: %q", hdr)
	}
	st := joined(c.ok(`store 12 +flags \deleted`))
	if !strings.Contains(st, `* 12 FETCH (FLAGS (\Seen \Deleted \Recent))`) && !strings.Contains(st, `\Deleted`) {
		t.Errorf("STORE: %q", st)
	}
	lo := joined(c.ok("logout"))
	if !strings.Contains(lo, "* BYE") {
		t.Errorf("LOGOUT: %q", lo)
	}
}

// TestIdleAndTwoSessions: one session idles while another stores flags
// and expunges and a third process delivers; the idler sees FETCH FLAGS,
// EXPUNGE and EXISTS as they happen.
func TestIdleAndTwoSessions(t *testing.T) {
	dir := testutil.TempMaildir(t)
	deliver(t, dir, "Subject: one\n\nx\n")
	deliver(t, dir, "Subject: two\n\nx\n")
	a := startSession(t, testConfig(t, dir))
	b := startSession(t, testConfig(t, dir))
	a.ok("LOGIN u p")
	b.ok("LOGIN u p")
	a.ok("SELECT INBOX")
	b.ok("SELECT INBOX")
	fmt.Fprintf(a.c, "i IDLE\r\n")
	if l := a.line(); !strings.HasPrefix(l, "+") {
		t.Fatalf("IDLE: %q", l)
	}
	b.ok(`STORE 2 +FLAGS (\Flagged)`)
	if l := a.line(); !strings.Contains(l, `* 2 FETCH`) || !strings.Contains(l, `\Flagged`) {
		t.Fatalf("idler got %q, want FETCH FLAGS", l)
	}
	b.ok(`STORE 1 +FLAGS (\Deleted)`)
	a.line() // FETCH FLAGS of message 1
	b.ok("EXPUNGE")
	if l := a.line(); l != "* 1 EXPUNGE" {
		t.Fatalf("idler got %q, want * 1 EXPUNGE", l)
	}
	deliver(t, dir, "Subject: three\n\nx\n")
	if l := a.line(); l != "* 2 EXISTS" {
		t.Fatalf("idler got %q, want * 2 EXISTS", l)
	}
	fmt.Fprintf(a.c, "DONE\r\n")
	for {
		l := a.line()
		if strings.HasPrefix(l, "i ") {
			if !strings.HasPrefix(l, "i OK") {
				t.Fatalf("IDLE ended with %q", l)
			}
			break
		}
	}
	// A FETCH must not carry an EXPUNGE (RFC 3501 §7.4.1): b deletes
	// while a fetches; a learns of it at its next NOOP.
	b.ok("NOOP")
	b.ok(`STORE 1 +FLAGS (\Deleted)`)
	b.ok("EXPUNGE")
	for _, l := range a.ok("FETCH 1:* (FLAGS)") {
		if strings.Contains(l, "EXPUNGE") {
			t.Fatalf("EXPUNGE during FETCH: %q", l)
		}
	}
	if got := joined(a.ok("NOOP")); !strings.Contains(got, "* 1 EXPUNGE") {
		t.Fatalf("NOOP after the other session's expunge: %q", got)
	}
}

// TestLoginPenalty: a failed login from an address is answered after the
// penalty delay and remembered; a success halves it.
func TestLoginPenalty(t *testing.T) {
	dir := testutil.TempMaildir(t)
	cfg := testConfig(t, dir)
	cfg.Penalty = netio.NewPenalty(netio.PenaltyOptions{Base: time.Millisecond, Max: 4 * time.Millisecond})
	srv, cli := testutil.SocketPair(t)
	ip := netip.MustParseAddr("127.0.0.2")
	nc, err := netio.NewConn(srv, netio.Peer{RemoteAddr: netip.AddrPortFrom(ip, 4000)}, netio.Options{})
	if err != nil {
		t.Fatal(err)
	}
	go ServeConn(context.Background(), cfg, nc, nil)
	c := &client{t: t, c: cli, r: bufio.NewReader(cli)}
	cli.SetDeadline(time.Now().Add(20 * time.Second))
	c.line()
	if st := c.no("LOGIN u wrong"); !strings.Contains(st, "AUTHENTICATIONFAILED") {
		t.Fatalf("failed LOGIN: %q", st)
	}
	c.no("LOGIN u wrong")
	if d := cfg.Penalty.Delay(ip); d != 2*time.Millisecond {
		t.Fatalf("penalty after two failures = %v, want 2ms", d)
	}
	// A success halves the failure count (netio.Penalty.Success): one
	// failure left, the base delay.
	c.ok("LOGIN u p")
	if d := cfg.Penalty.Delay(ip); d != time.Millisecond {
		t.Fatalf("penalty after a success = %v, want 1ms", d)
	}
}
