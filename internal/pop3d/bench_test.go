package pop3d

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"mailtk/internal/netio"
	"mailtk/internal/testutil"
	"mailtk/maildir"
)

// benchMaildir delivers n messages of about size bytes.
func benchMaildir(b *testing.B, n, size int) string {
	b.Helper()
	path := testutil.TempMaildir(b)
	d, err := maildir.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	line := strings.Repeat("word ", 14) + "\n"
	body := "Subject: bench\n\n" + strings.Repeat(line, size/len(line))
	for range n {
		if _, err := d.DeliverWith(strings.NewReader(body), maildir.DeliverOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	return path
}

// benchSession runs one preauthenticated session in-process over a
// socketpair and sends it cmds (pipelined), reading len(cmds) answers.
func benchSession(b *testing.B, path string, cmds func(n int) []string) int64 {
	srv, cli := testutil.SocketPair(b)
	conn, err := netio.NewConn(srv, netio.Peer{Stdio: true}, netio.Options{})
	if err != nil {
		b.Fatal(err)
	}
	cfg := &Config{Hostname: "bench", Preauth: &Account{Name: "bench", Maildir: path}, Logger: slog.New(slog.DiscardHandler)}
	done := make(chan struct{})
	go func() { ServeConn(context.Background(), cfg, conn); conn.Close(); close(done) }()
	defer func() { cli.Close(); <-done }()
	br := bufio.NewReaderSize(cli, 64<<10)
	var octets int64
	status := func() string {
		l, err := br.ReadString('\n')
		if err != nil || !strings.HasPrefix(l, "+OK") {
			b.Fatalf("%q %v", l, err)
		}
		octets += int64(len(l))
		return l
	}
	multi := func() {
		for {
			l, err := br.ReadSlice('\n')
			if err != nil {
				b.Fatal(err)
			}
			octets += int64(len(l))
			if string(l) == ".\r\n" {
				return
			}
		}
	}
	status()
	io.WriteString(cli, "STAT\r\n")
	var n int
	fmt.Sscanf(status(), "+OK %d", &n)
	list := cmds(n)
	go func() {
		w := bufio.NewWriter(cli)
		for _, c := range list {
			w.WriteString(c + "\r\n")
		}
		w.Flush()
	}()
	for _, c := range list {
		status()
		if c != "QUIT" {
			multi()
		}
	}
	return octets
}

// BenchmarkUIDL: a session that lists the unique ids of 10,000 messages.
func BenchmarkUIDL(b *testing.B) {
	path := benchMaildir(b, 10000, 600)
	b.ResetTimer()
	for b.Loop() {
		benchSession(b, path, func(int) []string { return []string{"UIDL", "QUIT"} })
	}
}

// BenchmarkRetr: a session that retrieves all of 1,000 4 KiB messages.
func BenchmarkRetr(b *testing.B) {
	path := benchMaildir(b, 1000, 4096)
	var octets int64
	b.ResetTimer()
	for b.Loop() {
		octets = benchSession(b, path, func(n int) []string {
			var c []string
			for i := 1; i <= n; i++ {
				c = append(c, fmt.Sprintf("RETR %d", i))
			}
			return append(c, "QUIT")
		})
	}
	b.SetBytes(octets)
}
