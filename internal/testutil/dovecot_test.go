package testutil

import (
	"bufio"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStartDovecot(t *testing.T) {
	users := filepath.Join(t.TempDir(), "users")
	if err := os.WriteFile(users, []byte("alice:{PLAIN}secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mail := UnprivDir(t)
	dv := StartDovecot(t, users, mail)

	talk := func(addr string, lines ...string) []string {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		br := bufio.NewReader(c)
		var got []string
		read := func() {
			line, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("%s: %v (log:\n%s)", addr, err, dv.ReadLog())
			}
			got = append(got, strings.TrimRight(line, "\r\n"))
		}
		read() // greeting
		for _, l := range lines {
			c.Write([]byte(l + "\r\n"))
			read()
		}
		return got
	}
	imap := talk(dv.IMAP, "a LOGIN alice secret", "b SELECT INBOX")
	if !strings.HasPrefix(imap[0], "* OK") || !strings.HasPrefix(imap[1], "a OK") {
		t.Errorf("IMAP: %q\n%s", imap, dv.ReadLog())
	}
	pop := talk(dv.POP3, "USER alice", "PASS wrong")
	if !strings.HasPrefix(pop[0], "+OK") || !strings.HasPrefix(pop[2], "-ERR") {
		t.Errorf("POP3: %q", pop)
	}
	// The INBOX was created where Maildir says.
	if _, err := os.Stat(filepath.Join(dv.Maildir("alice"), "cur")); err != nil {
		t.Errorf("no Maildir for alice: %v", err)
	}
}
