package imapd

import (
	"strings"
	"testing"

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
