// Command popbench is the POP3 client of bench/pop3d/run.sh: it times
// one session against a server, the same way for pop3d and Dovecot.
//
//	popbench -addr 127.0.0.1:110 -user u -pass p -mode uidl   # login + STAT + UIDL + QUIT
//	popbench -addr 127.0.0.1:110 -user u -pass p -mode retr   # login + RETR of every message (pipelined) + QUIT
//
// It prints the elapsed seconds, the message count and the octets read.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:110", "server address")
	user := flag.String("user", "", "user name")
	pass := flag.String("pass", "", "password")
	mode := flag.String("mode", "uidl", "uidl or retr")
	flag.Parse()
	start := time.Now()
	n, octets, err := session(*addr, *user, *pass, *mode)
	if err != nil {
		fmt.Fprintln(os.Stderr, "popbench:", err)
		os.Exit(1)
	}
	fmt.Printf("%.4f %d %d\n", time.Since(start).Seconds(), n, octets)
}

type conn struct {
	c  net.Conn
	br *bufio.Reader
	n  int64
}

func (c *conn) status() (string, error) {
	l, err := c.br.ReadSlice('\n')
	c.n += int64(len(l))
	if err != nil {
		return "", err
	}
	s := strings.TrimRight(string(l), "\r\n")
	if !strings.HasPrefix(s, "+OK") {
		return s, fmt.Errorf("server: %s", s)
	}
	return s, nil
}

// multi reads a multi-line body to its "." line and returns its lines.
func (c *conn) multi(count *int) error {
	for {
		l, err := c.br.ReadSlice('\n')
		c.n += int64(len(l))
		if err != nil {
			return err
		}
		if bytes.Equal(l, []byte(".\r\n")) {
			return nil
		}
		*count++
	}
}

func session(addr, user, pass, mode string) (int, int64, error) {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return 0, 0, err
	}
	defer nc.Close()
	c := &conn{c: nc, br: bufio.NewReaderSize(nc, 64<<10)}
	if _, err := c.status(); err != nil {
		return 0, 0, err
	}
	fmt.Fprintf(nc, "USER %s\r\nPASS %s\r\nSTAT\r\n", user, pass)
	for range 2 {
		if _, err := c.status(); err != nil {
			return 0, 0, err
		}
	}
	st, err := c.status()
	if err != nil {
		return 0, 0, err
	}
	f := strings.Fields(st)
	if len(f) < 3 {
		return 0, 0, fmt.Errorf("STAT: %s", st)
	}
	n, _ := strconv.Atoi(f[1])
	switch mode {
	case "uidl":
		io.WriteString(nc, "UIDL\r\n")
		if _, err := c.status(); err != nil {
			return 0, 0, err
		}
		var lines int
		if err := c.multi(&lines); err != nil {
			return 0, 0, err
		}
		if lines != n {
			return 0, 0, fmt.Errorf("UIDL gave %d lines for %d messages", lines, n)
		}
	case "retr":
		// Pipelined (RFC 2449): a writer sends every RETR while the
		// reader consumes the answers.
		go func() {
			w := bufio.NewWriter(nc)
			for i := 1; i <= n; i++ {
				fmt.Fprintf(w, "RETR %d\r\n", i)
			}
			w.Flush()
		}()
		var lines int
		for i := 1; i <= n; i++ {
			if _, err := c.status(); err != nil {
				return 0, 0, err
			}
			if err := c.multi(&lines); err != nil {
				return 0, 0, err
			}
		}
	default:
		return 0, 0, fmt.Errorf("unknown mode %q", mode)
	}
	io.WriteString(nc, "QUIT\r\n")
	if _, err := c.status(); err != nil {
		return 0, 0, err
	}
	return n, c.n, nil
}
