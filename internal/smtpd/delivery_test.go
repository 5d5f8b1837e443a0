package smtpd

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// body strips the trace block (Return-Path, Delivered-To, Received and
// its continuation lines) that smtpd adds in front of a stored message.
func body(t *testing.T, stored string) string {
	t.Helper()
	lines := strings.SplitAfter(stored, "\n")
	i := 0
	for i < len(lines) {
		l := lines[i]
		if strings.HasPrefix(l, "Return-Path: ") || strings.HasPrefix(l, "Delivered-To: ") ||
			strings.HasPrefix(l, "Received: ") || strings.HasPrefix(l, "\t") {
			i++
			continue
		}
		break
	}
	return strings.Join(lines[i:], "")
}

// TestConcurrentLoad: many sessions deliver at once into a few
// Maildirs; every accepted message is present exactly once and
// byte-identical to what was sent (plus the trace headers).
func TestConcurrentLoad(t *testing.T) {
	w := newWorld(t)
	addr, _ := w.listen(w.args("--max-per-ip", "-1")...)
	users := []string{"jones", "brown", "hsmith"}
	const sessions, perSession = 8, 25
	type sent struct {
		rcpts []string
		body  string
	}
	var mu sync.Mutex
	var all []sent
	var wg sync.WaitGroup
	for s := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := dial(t, addr)
			c.expect("220 ")
			c.send("EHLO load.example\r\n")
			c.expect("250-")
			for m := range perSession {
				rb := make([]byte, 300+m*37)
				rand.Read(rb)
				text := fmt.Sprintf("Subject: load %d/%d\n\n", s, m)
				hexed := hex.EncodeToString(rb)
				for len(hexed) > 0 {
					n := min(len(hexed), 70)
					text += hexed[:n] + "\n"
					hexed = hexed[n:]
				}
				text += ".dot line\n"
				rcpts := []string{users[(s+m)%3]}
				if m%4 == 0 {
					rcpts = append(rcpts, users[(s+m+1)%3])
				}
				c.send("MAIL FROM:<l@load.example>\r\n")
				for _, r := range rcpts {
					c.send("RCPT TO:<" + r + "@foo.com>\r\n")
				}
				c.send("DATA\r\n")
				c.expect("250 ")
				for range rcpts {
					c.expect("250 ")
				}
				c.expect("354 ")
				wire := strings.ReplaceAll(text, "\n.", "\n..")
				c.send(strings.ReplaceAll(wire, "\n", "\r\n") + ".\r\n")
				c.expect("250 2.0.0")
				mu.Lock()
				all = append(all, sent{rcpts, text})
				mu.Unlock()
			}
			c.send("QUIT\r\n")
			c.expect("221 ")
		}()
	}
	wg.Wait()
	want := map[string]map[string]int{}
	for _, u := range users {
		want[u] = map[string]int{}
	}
	for _, s := range all {
		for _, r := range s.rcpts {
			want[r][s.body]++
		}
	}
	for _, u := range users {
		got := map[string]int{}
		for _, m := range w.messages(u) {
			got[body(t, m)]++
		}
		if len(got) != len(want[u]) {
			t.Errorf("%s: %d distinct messages, want %d", u, len(got), len(want[u]))
		}
		for b, n := range want[u] {
			if got[b] != n {
				t.Errorf("%s: message %q present %d times, want %d", u, b[:30], got[b], n)
			}
		}
	}
}

// TestSharedCopy: recipients in one transaction share one hard-linked
// file, without Delivered-To; a single recipient's copy has one.
func TestSharedCopy(t *testing.T) {
	w := newWorld(t)
	c, _, _ := w.stdio(w.args())
	s := newClient(t, c)
	s.expect("220 ")
	s.send("EHLO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<jones@foo.com>\r\nRCPT TO:<brown@foo.com>\r\nRCPT TO:<JONES@foo.com>\r\nDATA\r\n")
	for _, p := range []string{"250-", "250 ", "250 ", "250 ", "250 ", "354 "} {
		s.expect(p)
	}
	s.send("Subject: shared\r\n\r\nx\r\n.\r\n")
	s.expect("250 2.0.0")
	s.send("MAIL FROM:<a@b.example>\r\nRCPT TO:<jones@foo.com>\r\nDATA\r\n")
	s.expect("250 ")
	s.expect("250 ")
	s.expect("354 ")
	s.send("Subject: single\r\n\r\ny\r\n.\r\nQUIT\r\n")
	s.expect("250 2.0.0")
	s.expect("221 ")
	var inodes []uint64
	for _, u := range []string{"jones", "brown"} {
		es, _ := os.ReadDir(filepath.Join(w.maildir(u), "new"))
		for _, e := range es {
			p := filepath.Join(w.maildir(u), "new", e.Name())
			b, _ := os.ReadFile(p)
			fi, _ := os.Stat(p)
			st := fi.Sys().(*syscall.Stat_t)
			if strings.Contains(string(b), "Subject: shared") {
				inodes = append(inodes, st.Ino)
				if strings.Contains(string(b), "Delivered-To:") {
					t.Errorf("shared copy names a recipient:\n%s", b)
				}
				if st.Nlink != 2 {
					t.Errorf("shared copy has %d links, want 2", st.Nlink)
				}
			} else if !strings.Contains(string(b), "Delivered-To: jones@foo.com\n") {
				t.Errorf("single copy lacks Delivered-To:\n%s", b)
			}
		}
	}
	if len(inodes) != 2 || inodes[0] != inodes[1] {
		t.Errorf("shared copies: inodes %v, want two names of one file", inodes)
	}
	if n := len(w.messages("jones")); n != 2 {
		t.Errorf("jones has %d messages, want 2 (duplicate RCPT delivered once)", n)
	}
}

// TestLoops: too many Received: headers, or a Delivered-To: naming the
// recipient, is refused with 554 5.4.6.
func TestLoops(t *testing.T) {
	w := newWorld(t)
	c, _, _ := w.stdio(w.args())
	s := newClient(t, c)
	s.expect("220 ")
	s.send("EHLO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<jones@foo.com>\r\nDATA\r\n")
	for _, p := range []string{"250-", "250 ", "250 ", "354 "} {
		s.expect(p)
	}
	s.send("Delivered-To: Jones@Foo.com\r\nSubject: loop\r\n\r\nx\r\n.\r\n")
	s.expect("554 5.4.6")
	s.send("MAIL FROM:<a@b.example>\r\nRCPT TO:<jones@foo.com>\r\nDATA\r\n")
	s.expect("250 ")
	s.expect("250 ")
	s.expect("354 ")
	s.send(strings.Repeat("Received: from x by y; date\r\n", 101) + "\r\nx\r\n.\r\nQUIT\r\n")
	s.expect("554 5.4.6")
	s.expect("221 ")
	if n := len(w.messages("jones")); n != 0 {
		t.Errorf("%d looping messages stored", n)
	}
}

// TestDeliverCmd: --deliver-cmd gets the message and qmail-command's
// environment; its exit status decides the reply (LMTP shows each).
func TestDeliverCmd(t *testing.T) {
	w := newWorld(t)
	out := filepath.Join(w.root, "out")
	os.Mkdir(out, 0o755)
	os.Chown(out, 65534, 65534)
	script := w.write("deliver.sh", `#!/bin/sh
case "$LOCAL" in
  jones) { printf 'SENDER=%s RECIPIENT=%s LOCAL=%s HOST=%s\n' "$SENDER" "$RECIPIENT" "$LOCAL" "$HOST"; printf '%s' "$RPLINE$DTLINE"; cat; } > `+out+`/$LOCAL; exit 0 ;;
  brown) echo "mailbox full" >&2; exit 75 ;;
  hsmith) echo "no such mailbox" >&2; exit 100 ;;
  jsmith) exit 67 ;;
  *) exit 111 ;;
esac
`)
	os.Chmod(script, 0o755)
	c, _, _ := w.stdio(w.args("--lmtp", "--deliver-cmd", script))
	s := newClient(t, c)
	s.expect("220 foo.com LMTP")
	s.send("LHLO mta.example\r\nMAIL FROM:<s@b.example>\r\n")
	s.expect("250-")
	s.expect("250 ")
	for _, u := range []string{"jones", "brown", "hsmith", "jsmith", "admin.mrc"} {
		s.send("RCPT TO:<" + u + "@foo.com>\r\n")
		s.expect("250 ")
	}
	s.send("DATA\r\n")
	s.expect("354 ")
	s.send("Subject: cmd\r\n\r\nhello\r\n.\r\n")
	for _, want := range []string{"250 2.0.0 <jones@foo.com>", "451 4.3.0 mailbox full", "550 5.3.0 no such mailbox",
		"550 5.3.0 delivery program exited with status 67", "451 4.3.0 delivery program exited with status 111"} {
		s.expect(want)
	}
	s.send("QUIT\r\n")
	s.expect("221 ")
	b, err := os.ReadFile(filepath.Join(out, "jones"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"SENDER=s@b.example RECIPIENT=jones@foo.com LOCAL=jones HOST=foo.com\n",
		"Return-Path: <s@b.example>\nDelivered-To: jones@foo.com\nReceived: from mta.example", "with LMTP id", "Subject: cmd\n\nhello\n"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("delivered by the command:\n%s\nlacks %q", b, want)
		}
	}
}

// TestAliasPipe: "|command" alias targets run only with --allow-pipes.
func TestAliasPipe(t *testing.T) {
	w := newWorld(t)
	out := filepath.Join(w.root, "piped")
	w.aliases = w.write("aliases2", "bot: \"|cat > "+out+"\", jones\n")
	c, _, _ := w.stdio(w.args())
	s := newClient(t, c)
	s.expect("220 ")
	s.send("HELO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<bot@foo.com>\r\nQUIT\r\n")
	s.expect("250 ")
	s.expect("250 ")
	s.expect("451 4.3.5")
	s.expect("221 ")
	c, _, _ = w.stdio(w.args("--allow-pipes"))
	s = newClient(t, c)
	s.expect("220 ")
	s.send("HELO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<bot@foo.com>\r\nDATA\r\n")
	for _, p := range []string{"250 ", "250 ", "250 ", "354 "} {
		s.expect(p)
	}
	s.send("Subject: to the bot\r\n\r\nbeep\r\n.\r\nQUIT\r\n")
	s.expect("250 2.0.0")
	s.expect("221 ")
	b, err := os.ReadFile(out)
	if err != nil || !strings.Contains(string(b), "Subject: to the bot") {
		t.Errorf("pipe got %q (%v)", b, err)
	}
	if n := len(w.messages("jones")); n != 1 {
		t.Errorf("jones has %d messages, want 1", n)
	}
}

// TestBDATBinary: a message sent in BDAT chunks (RFC 3030) is stored
// like one sent with DATA, byte for byte, dots and all.
func TestBDATBinary(t *testing.T) {
	w := newWorld(t)
	c, _, _ := w.stdio(w.args())
	s := newClient(t, c)
	s.expect("220 ")
	s.send("EHLO x\r\n")
	if r := s.expect("250-"); !strings.Contains(r, "CHUNKING") {
		t.Fatalf("CHUNKING not advertised:\n%s", r)
	}
	part1 := "Subject: chunks\r\n\r\n.leading dot\r\n"
	part2 := ".\r\nlast line\r\n"
	s.send(fmt.Sprintf("MAIL FROM:<a@b.example>\r\nRCPT TO:<jones@foo.com>\r\nBDAT %d\r\n%sBDAT %d LAST\r\n%sQUIT\r\n",
		len(part1), part1, len(part2), part2))
	s.expect("250 2.1.0")
	s.expect("250 2.1.5")
	s.expect("250 2.0.0 ")
	s.expect("250 2.0.0 OK id=")
	s.expect("221 ")
	msgs := w.messages("jones")
	if len(msgs) != 1 || body(t, msgs[0]) != "Subject: chunks\n\n.leading dot\n.\nlast line\n" {
		t.Fatalf("stored %q", msgs)
	}
}
