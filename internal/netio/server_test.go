package netio

import (
	"context"
	"errors"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/urfave/cli/v2"
)

// startListen runs Serve on addrs in the background and returns the bound
// addresses and a function that shuts it down and checks its result.
func startListen(t *testing.T, o Options, addrs ...string) ([]net.Addr, func()) {
	t.Helper()
	o.Listen = addrs
	o.NoSignals = true
	if o.Grace == 0 {
		o.Grace = -1 // close open test sessions at once
	}
	if o.Logger == nil {
		o.Logger = quietLogger(t)
	}
	if o.Getenv == nil && o.LookupEnv == nil {
		o.LookupEnv = envMap(nil)
	}
	ready := make(chan []net.Addr, 1)
	o.Ready = func(a []net.Addr) { ready <- a }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, o, echo) }()
	var got []net.Addr
	select {
	case got = <-ready:
	case err := <-done:
		t.Fatalf("Serve: %v", err)
	}
	stopped := false
	return got, func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("Serve did not return after cancel")
		}
	}
}

func dial(t *testing.T, a net.Addr) *client {
	t.Helper()
	nc, err := net.Dial(a.Network(), a.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return newClient(t, nc)
}

func TestListenTCPAndUnix(t *testing.T) {
	sock := t.TempDir() + "/s"
	addrs, stop := startListen(t, Options{}, "127.0.0.1:0", "unix:"+sock)
	defer stop()
	c := dial(t, addrs[0])
	c.expect("220 ", "remote="+c.c.LocalAddr().String(), "local="+addrs[0].String(), "stdio=false", "net=tcp", "localok=true")
	u := dial(t, addrs[1])
	u.expect("220 ", "remote=-", "net=unix", "localok=true")
	c.send("QUIT\r\n")
	c.expect("221 ")
	u.send("QUIT\r\n")
	u.expect("221 ")
}

// TestListenEnvironmentIgnored: in listener mode the process environment
// is the daemon's own and says nothing about clients (a RELAYCLIENT there
// must not make every client a relay client).
func TestListenEnvironmentIgnored(t *testing.T) {
	addrs, stop := startListen(t, Options{LookupEnv: envMap(map[string]string{"RELAYCLIENT": "", "TCPREMOTEIP": "192.0.2.1"})}, "127.0.0.1:0")
	defer stop()
	dial(t, addrs[0]).expect("220 ", "relay=false", "localok=true")
}

func TestMaxPerIP(t *testing.T) {
	addrs, stop := startListen(t, Options{MaxPerIP: 1, Refuse: func(c *Conn) {
		c.Write([]byte("421 too many\r\n"))
	}}, "127.0.0.1:0")
	defer stop()
	first := dial(t, addrs[0])
	first.expect("220 ")
	second := dial(t, addrs[0])
	second.expect("421 too many")
	if _, err := second.br.ReadByte(); err == nil {
		t.Fatal("refused connection stayed open")
	}
	first.send("QUIT\r\n")
	first.expect("221 ")
	first.br.ReadByte() // wait for the server to close it
	// The slot is free again once the first session has ended; the
	// count is released after Close, so retry until it is.
	for i := 0; ; i++ {
		third := dial(t, addrs[0])
		if l := third.line(); strings.HasPrefix(l, "220 ") {
			break
		} else if i > 200 {
			t.Fatalf("slot never freed: %q", l)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestMaxConns: past the limit, connections wait in the backlog and are
// served when a slot frees.
func TestMaxConns(t *testing.T) {
	addrs, stop := startListen(t, Options{MaxConns: 1, MaxPerIP: -1}, "127.0.0.1:0")
	defer stop()
	first := dial(t, addrs[0])
	first.expect("220 ")
	second := dial(t, addrs[0]) // connects (backlog) but is not served yet
	first.send("QUIT\r\n")
	first.expect("221 ")
	second.expect("220 ")
}

// TestGracefulShutdown: after the context ends, the server stops
// accepting, a running session sees Draining and finishes, and Serve
// returns once it has.
func TestGracefulShutdown(t *testing.T) {
	addrs, stop := startListen(t, Options{Grace: time.Hour}, "127.0.0.1:0")
	c := dial(t, addrs[0])
	c.expect("220 ")
	c.send("WAIT\r\n")
	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	c.expect("421 draining")
	// The listener is closed: new clients are refused.
	for i := 0; ; i++ {
		nc, err := net.Dial("tcp", addrs[0].String())
		if err != nil {
			if !errors.Is(err, syscall.ECONNREFUSED) {
				t.Fatalf("dial after shutdown: %v", err)
			}
			break
		}
		nc.Close()
		if i > 200 {
			t.Fatal("listener still accepting after shutdown")
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.send("still here\r\nQUIT\r\n")
	c.expect("250 still here")
	c.expect("221 ")
	<-stopped
}

// TestGraceExpires: a session that does not finish is closed when the
// grace period ends, and Serve returns.
func TestGraceExpires(t *testing.T) {
	addrs, stop := startListen(t, Options{Grace: time.Millisecond}, "127.0.0.1:0")
	c := dial(t, addrs[0])
	c.expect("220 ")
	stop() // returns only after the session was closed
	c.br.ReadString('\n')
	if _, err := c.br.ReadByte(); err == nil {
		t.Fatal("session still open after the grace period")
	}
}

func TestFlags(t *testing.T) {
	var got Options
	app := &cli.App{
		Name:  "x",
		Flags: Flags(),
		Action: func(c *cli.Context) error {
			got = OptionsFromCLI(c)
			return nil
		},
	}
	err := app.Run([]string{"x", "--listen", "127.0.0.1:25", "--listen", "[::1]:25", "--tls-cert", "c.pem",
		"--tls-key", "k.pem", "--tls-implicit", "--max-conns", "7", "--max-per-ip", "-1", "--grace", "5s"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got.Listen, ",") != "127.0.0.1:25,[::1]:25" || got.TLSCertFile != "c.pem" || got.TLSKeyFile != "k.pem" ||
		!got.TLSImplicit || got.MaxConns != 7 || got.MaxPerIP != -1 || got.Grace != 5*time.Second || got.HandshakeTimeout != DefaultHandshakeTimeout {
		t.Fatalf("%+v", got)
	}
	app.Action = func(c *cli.Context) error { got = OptionsFromCLI(c); return nil }
	app.Run([]string{"x"})
	if got.MaxConns != DefaultMaxConns || got.MaxPerIP != DefaultMaxPerIP || got.Grace != DefaultGrace || len(got.Listen) != 0 {
		t.Fatalf("defaults: %+v", got)
	}
}

// TestMaxConnsIdleListener: an idle listener holds no session slot, so
// with MaxConns 1 and two listeners the busy one is still served.
func TestMaxConnsIdleListener(t *testing.T) {
	addrs, stop := startListen(t, Options{MaxConns: 1, MaxPerIP: -1}, "127.0.0.1:0", "127.0.0.1:0")
	defer stop()
	for range 3 {
		c := dial(t, addrs[1])
		c.expect("220 ")
		c.send("QUIT\r\n")
		c.expect("221 ")
		c.br.ReadByte() // the session has ended
	}
}
