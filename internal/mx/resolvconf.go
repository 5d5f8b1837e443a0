package mx

import (
	"bufio"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// ResolvConf is what mail resolution takes from resolv.conf(5).
type ResolvConf struct {
	// Servers are the nameservers, "addr:53" (IPv6 in brackets), at most
	// three, in file order, as the C library uses them (MAXNS = 3).
	Servers []string
	// Timeout is options timeout:N, zero when absent.
	Timeout time.Duration
	// Attempts is options attempts:N, zero when absent.
	Attempts int
	// Rotate is options rotate.
	Rotate bool
}

// resolv.conf(5) limits: at most 3 servers, timeout capped at 30 s,
// attempts at 5.
const (
	maxResolvServers = 3
	maxResolvTimeout = 30
	maxResolvAttempt = 5
	maxResolvLine    = 4096
	maxResolvLines   = 10000
)

// ParseResolvConf reads a resolv.conf(5) file. The "search", "domain" and
// "ndots" settings are read past on purpose: a mail domain is always
// absolute (RFC 5321 §2.3.5), so MX lookups never qualify names. Unknown
// lines and malformed values are ignored as the C library ignores them; a
// file with no usable nameserver gives the C library's default, the
// server on the local machine (127.0.0.1:53).
func ParseResolvConf(r io.Reader) ResolvConf {
	var c ResolvConf
	br := bufio.NewReaderSize(r, maxResolvLine)
	for n := 0; n < maxResolvLines; n++ {
		line, err := readBoundedLine(br)
		if i := strings.IndexAny(line, "#;"); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) >= 2 {
			switch f[0] {
			case "nameserver":
				if len(c.Servers) < maxResolvServers {
					if a, ok := parseNameserver(f[1]); ok {
						c.Servers = append(c.Servers, a)
					}
				}
			case "options":
				c.options(f[1:])
			}
		}
		if err != nil {
			break
		}
	}
	if len(c.Servers) == 0 {
		c.Servers = []string{"127.0.0.1:53"}
	}
	return c
}

func (c *ResolvConf) options(opts []string) {
	for _, o := range opts {
		name, val, _ := strings.Cut(o, ":")
		switch name {
		case "timeout":
			if n, err := strconv.Atoi(val); err == nil && n >= 1 {
				c.Timeout = time.Duration(min(n, maxResolvTimeout)) * time.Second
			}
		case "attempts":
			if n, err := strconv.Atoi(val); err == nil && n >= 1 {
				c.Attempts = min(n, maxResolvAttempt)
			}
		case "rotate":
			c.Rotate = true
		}
	}
}

// parseNameserver accepts an IPv4 or IPv6 address (with an optional
// %zone), as resolv.conf(5) allows, and returns it with port 53.
func parseNameserver(s string) (string, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return "", false
	}
	return netip.AddrPortFrom(a, 53).String(), true
}

// readBoundedLine returns the next line without its terminator, discarding
// whatever exceeds the reader's buffer.
func readBoundedLine(br *bufio.Reader) (string, error) {
	b, err := br.ReadSlice('\n')
	line := string(b)
	for err == bufio.ErrBufferFull {
		_, err = br.ReadSlice('\n')
	}
	return strings.TrimRight(line, "\r\n"), err
}
