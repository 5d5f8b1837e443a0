// Command echoserver is the test program of package netio: a tiny line
// protocol served through netio.Serve, so the tests can run it under
// tcpserver, systemd-socket-activate, a socketpair, a pipe and --listen.
//
// It greets with "220 " and a description of the peer, then answers:
//
//	PEER      "250 " and the peer description again
//	STARTTLS  "220 go ahead", TLS handshake, then "250 tls discarded=N"
//	WAIT      waits until the server drains (SIGTERM), then "421 draining"
//	QUIT      "221 bye" and ends the session
//	anything  "250 " and the line
//
// A line over 512 octets is answered "500 line too long".
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"mailtk/internal/cmdutil"
	"mailtk/internal/lineio"
	"mailtk/internal/netio"
)

func main() { os.Exit(cmdutil.Main(newApp(), os.Args)) }

func newApp() *cli.App {
	return &cli.App{
		Name:  "echoserver",
		Usage: "netio test server",
		Flags: netio.Flags(),
		Action: func(c *cli.Context) error {
			opts := netio.OptionsFromCLI(c)
			opts.Refuse = func(c *netio.Conn) { io.WriteString(c, "421 too many connections from your address\r\n") }
			return netio.Serve(c.Context, opts, session)
		},
	}
}

func describe(c *netio.Conn) string {
	p := c.Peer
	or := func(s string) string {
		if s == "" || s == "invalid AddrPort" {
			return "-"
		}
		return s
	}
	return fmt.Sprintf("remote=%s local=%s rhost=%s lhost=%s stdio=%t net=%s relay=%t tls=%t localok=%t listener=%s",
		or(p.RemoteAddr.String()), or(p.LocalAddr.String()), or(p.RemoteHost), or(p.LocalHost),
		p.Stdio, p.Network, p.RelayClient, c.TLS(), p.Local(), or(p.Listener))
}

func session(ctx context.Context, c *netio.Conn) {
	r := lineio.NewReader(c, 512)
	say := func(s string) bool {
		c.SetWriteDeadline(time.Now().Add(time.Minute))
		_, err := io.WriteString(c, s+"\r\n")
		return err == nil
	}
	if !say("220 " + describe(c)) {
		return
	}
	for {
		c.SetReadDeadline(time.Now().Add(time.Minute))
		line, _, err := r.ReadLine()
		if errors.Is(err, lineio.ErrTooLong) {
			if !say("500 line too long") {
				return
			}
			continue
		}
		if err != nil {
			return
		}
		switch cmd := strings.ToUpper(string(line)); cmd {
		case "PEER":
			say("250 " + describe(c))
		case "STARTTLS":
			if !c.CanStartTLS() {
				say("454 TLS not available")
				continue
			}
			say("220 go ahead")
			n, err := c.StartTLSLines(nil, r)
			if err != nil {
				return
			}
			say(fmt.Sprintf("250 tls discarded=%d", n))
		case "WAIT":
			select {
			case <-c.Draining():
				say("421 draining")
			case <-ctx.Done():
				say("421 context done")
			}
		case "QUIT":
			say("221 bye")
			return
		default:
			if !say("250 " + string(line)) {
				return
			}
		}
	}
}
