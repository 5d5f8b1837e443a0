package imapd

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailtk/internal/netio"
	"mailtk/internal/testutil"
	"mailtk/maildir"
)

// testConfig serves the Maildir dir for user "u" password "p".
func testConfig(t testing.TB, dir string) *Config {
	t.Helper()
	return &Config{
		Auth: func(_ context.Context, user, pass string) (*Account, error) {
			if user == "u" && pass == "p" {
				return &Account{Name: "u", Maildir: dir}, nil
			}
			return nil, ErrAuth
		},
		AppendLimit:  1 << 20,
		Logger:       slog.New(slog.NewTextHandler(testLogOut, nil)),
		PollInterval: 200 * time.Millisecond,
	}
}

// client is a raw IMAP client for tests.
type client struct {
	t   testing.TB
	c   net.Conn
	r   *bufio.Reader
	tag int
}

// startSession serves one in-process session over a socketpair.
func startSession(t testing.TB, cfg *Config) *client {
	t.Helper()
	srv, cli := testutil.SocketPair(t)
	nc, err := netio.NewConn(srv, netio.Peer{Stdio: true}, netio.Options{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { ServeConn(context.Background(), cfg, nc, nil); close(done) }()
	t.Cleanup(func() { cli.Close(); <-done })
	c := &client{t: t, c: cli, r: bufio.NewReader(cli)}
	c.c.SetDeadline(time.Now().Add(30 * time.Second))
	if l := c.line(); !strings.HasPrefix(l, "* OK") {
		t.Fatalf("greeting %q", l)
	}
	return c
}

func (c *client) line() string {
	c.t.Helper()
	l, err := c.r.ReadString('\n')
	if err != nil {
		c.t.Fatalf("read: %v (got %q)", err, l)
	}
	return strings.TrimRight(l, "\r\n")
}

// cmd sends a command and returns the untagged lines (literals inlined)
// and the tagged status line.
func (c *client) cmd(format string, args ...any) (lines []string, status string) {
	c.t.Helper()
	c.tag++
	tag := fmt.Sprintf("t%d", c.tag)
	fmt.Fprintf(c.c, "%s %s\r\n", tag, fmt.Sprintf(format, args...))
	for {
		l := c.readResp()
		if strings.HasPrefix(l, tag+" ") {
			return lines, l[len(tag)+1:]
		}
		lines = append(lines, l)
	}
}

// readResp reads one response line, with any literals it announces.
func (c *client) readResp() string {
	c.t.Helper()
	l := c.line()
	for strings.HasSuffix(l, "}") {
		i := strings.LastIndexByte(l, '{')
		var n int
		if _, err := fmt.Sscanf(strings.TrimSuffix(l[i+1:], "+"), "%d}", &n); err != nil || i < 0 {
			break
		}
		buf := make([]byte, n)
		if _, err := io.ReadFull(c.r, buf); err != nil {
			c.t.Fatal(err)
		}
		l += "\n" + string(buf) + c.line()
	}
	return l
}

func (c *client) ok(format string, args ...any) []string {
	c.t.Helper()
	lines, st := c.cmd(format, args...)
	if !strings.HasPrefix(st, "OK") {
		c.t.Fatalf("%s: %s (untagged %q)", fmt.Sprintf(format, args...), st, lines)
	}
	return lines
}

func (c *client) no(format string, args ...any) string {
	c.t.Helper()
	lines, st := c.cmd(format, args...)
	if strings.HasPrefix(st, "OK") {
		c.t.Fatalf("%s: want NO/BAD, got %s (%q)", fmt.Sprintf(format, args...), st, lines)
	}
	return st
}

// deliver stores a message in the Maildir at dir.
func deliver(t testing.TB, dir, msg string) maildir.Message {
	t.Helper()
	d, err := maildir.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := d.Deliver(strings.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func seedMessage(t testing.TB) string {
	return readFile(t, filepath.Join("testdata", "seed.eml"))
}

func joined(lines []string) string { return strings.Join(lines, "\n") }

// testLogOut receives the servers' logs (set IMAPD_TEST_LOG=1 to see them).
var testLogOut io.Writer = func() io.Writer {
	if os.Getenv("IMAPD_TEST_LOG") != "" {
		return os.Stderr
	}
	return io.Discard
}()

func readAll(r io.Reader) (string, error) {
	b, err := io.ReadAll(r)
	return string(b), err
}
