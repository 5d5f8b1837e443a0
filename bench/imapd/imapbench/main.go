// Command imapbench fills a Maildir with test messages and times IMAP
// commands against a server, for bench/imapd/run.sh.
//
//	imapbench gen DIR N                  write N messages into the Maildir DIR
//	imapbench time ADDR USER PASS ROUNDS time the benchmark commands, print one line per command
package main

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: imapbench gen DIR N | imapbench time ADDR USER PASS ROUNDS")
		os.Exit(64)
	}
	var err error
	switch os.Args[1] {
	case "gen":
		n, _ := strconv.Atoi(os.Args[3])
		err = gen(os.Args[2], n)
	case "time":
		rounds, _ := strconv.Atoi(os.Args[5])
		err = timeAll(os.Args[2], os.Args[3], os.Args[4], rounds)
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "imapbench:", err)
		os.Exit(1)
	}
}

var words = strings.Fields("the quick brown fox jumps over lazy dog mail server maildir index folder message quarterly report meeting lunch budget release")

// gen writes n messages of 2-6 KiB into cur/ (half seen) with Dovecot
// style names carrying S= and W=.
func gen(dir string, n int) error {
	for _, sub := range []string{"tmp", "new", "cur"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return err
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	for i := 0; i < n; i++ {
		var b strings.Builder
		fmt.Fprintf(&b, "Date: %s\n", time.Unix(t0+int64(i)*60, 0).UTC().Format(time.RFC1123Z))
		fmt.Fprintf(&b, "From: Sender %d <sender%d@example.org>\n", i%97, i%97)
		fmt.Fprintf(&b, "To: User <user@example.com>\n")
		fmt.Fprintf(&b, "Subject: %s %s %d\n", words[r.IntN(len(words))], words[r.IntN(len(words))], i)
		fmt.Fprintf(&b, "Message-ID: <%d.bench@example.org>\n", i)
		fmt.Fprintf(&b, "MIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\n")
		lines := 30 + r.IntN(60)
		for l := 0; l < lines; l++ {
			for w := 0; w < 10; w++ {
				b.WriteString(words[r.IntN(len(words))])
				b.WriteByte(' ')
			}
			b.WriteByte('\n')
		}
		if i%1000 == 7 {
			b.WriteString("zanzibar needle\n")
		}
		body := b.String()
		size := len(body)
		crlf := size + strings.Count(body, "\n")
		flags := ""
		if i%2 == 0 {
			flags = "S"
		}
		name := fmt.Sprintf("%d.M%dP1Q%d.bench,S=%d,W=%d:2,%s", t0+int64(i)*60, i, i, size, crlf, flags)
		if err := os.WriteFile(filepath.Join(dir, "cur", name), []byte(body), 0o600); err != nil {
			return err
		}
	}
	return nil
}

type conn struct {
	c   net.Conn
	r   *bufio.Reader
	tag int
}

// cmd sends one command and reads to its tagged reply, skipping literals.
func (c *conn) cmd(s string) (time.Duration, int, error) {
	c.tag++
	tag := fmt.Sprintf("b%d", c.tag)
	start := time.Now()
	fmt.Fprintf(c.c, "%s %s\r\n", tag, s)
	lines := 0
	for {
		l, err := c.r.ReadString('\n')
		if err != nil {
			return 0, 0, err
		}
		lines++
		for strings.HasSuffix(l, "}\r\n") {
			i := strings.LastIndexByte(l, '{')
			n, err := strconv.Atoi(strings.TrimSuffix(l[i+1:len(l)-3], "+"))
			if i < 0 || err != nil {
				break
			}
			if _, err := c.r.Discard(n); err != nil {
				return 0, 0, err
			}
			if l, err = c.r.ReadString('\n'); err != nil {
				return 0, 0, err
			}
		}
		if strings.HasPrefix(l, tag+" ") {
			if !strings.HasPrefix(l, tag+" OK") {
				return 0, 0, fmt.Errorf("%s: %s", s, strings.TrimSpace(l))
			}
			return time.Since(start), lines, nil
		}
	}
}

func dial(addr, user, pass string) (*conn, error) {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	c := &conn{c: nc, r: bufio.NewReaderSize(nc, 1<<16)}
	if _, err := c.r.ReadString('\n'); err != nil {
		return nil, err
	}
	if _, _, err := c.cmd(fmt.Sprintf("LOGIN %s %s", user, pass)); err != nil {
		return nil, err
	}
	return c, nil
}

var commands = []struct{ name, cmd string }{
	{"select", "SELECT INBOX"},
	{"uid-fetch-flags-size", "UID FETCH 1:* (UID FLAGS RFC822.SIZE)"},
	{"fetch-envelope", "FETCH 1:* ENVELOPE"},
	{"search-header", "SEARCH FROM sender42"},
	{"search-body", "SEARCH BODY zanzibar"},
}

// timeAll runs each command rounds times, each time in a fresh session
// (SELECT first for the others), and prints "name first median" in ms:
// the first round is the cold cache, the median of the rest the warm one.
func timeAll(addr, user, pass string, rounds int) error {
	for _, k := range commands {
		var ds []time.Duration
		for r := 0; r < rounds; r++ {
			c, err := dial(addr, user, pass)
			if err != nil {
				return err
			}
			if k.name != "select" {
				if _, _, err := c.cmd("SELECT INBOX"); err != nil {
					return err
				}
			}
			d, _, err := c.cmd(k.cmd)
			if err != nil {
				return err
			}
			c.cmd("LOGOUT")
			c.c.Close()
			ds = append(ds, d)
		}
		first := ds[0]
		warm := append([]time.Duration(nil), ds[1:]...)
		sort.Slice(warm, func(i, j int) bool { return warm[i] < warm[j] })
		med := first
		if len(warm) > 0 {
			med = warm[len(warm)/2]
		}
		fmt.Printf("%s %.2f %.2f\n", k.name, ms(first), ms(med))
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
