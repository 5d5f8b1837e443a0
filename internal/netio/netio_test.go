package netio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"mailtk/internal/exitcode"
	"mailtk/internal/lineio"
	"mailtk/internal/testutil"
)

// echo is the in-process test session: the same little protocol as
// internal/echoserver.
func echo(ctx context.Context, c *Conn) {
	r := lineio.NewReader(c, 512)
	say := func(s string) { io.WriteString(c, s+"\r\n") }
	say("220 " + describe(c))
	for {
		line, _, err := r.ReadLine()
		if errors.Is(err, lineio.ErrTooLong) {
			say("500 line too long")
			continue
		}
		if err != nil {
			return
		}
		switch string(line) {
		case "PEER":
			say("250 " + describe(c))
		case "STARTTLS":
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
			say("250 " + string(line))
		}
	}
}

func describe(c *Conn) string {
	p := c.Peer
	or := func(s string) string {
		if s == "" || s == "invalid AddrPort" {
			return "-"
		}
		return s
	}
	return fmt.Sprintf("remote=%s local=%s rhost=%s lhost=%s stdio=%t net=%s relay=%t tls=%t localok=%t",
		or(p.RemoteAddr.String()), or(p.LocalAddr.String()), or(p.RemoteHost), or(p.LocalHost),
		p.Stdio, p.Network, p.RelayClient, c.TLS(), p.Local())
}

func TestPeerLocal(t *testing.T) {
	ap := netip.MustParseAddrPort
	tests := []struct {
		name string
		p    Peer
		want bool
	}{
		{"loopback v4", Peer{RemoteAddr: ap("127.0.0.1:1"), Network: "tcp"}, true},
		{"loopback v4 other", Peer{RemoteAddr: ap("127.3.4.5:1"), Network: "tcp"}, true},
		{"loopback v6", Peer{RemoteAddr: ap("[::1]:1"), Network: "tcp"}, true},
		{"remote v4", Peer{RemoteAddr: ap("192.0.2.1:25"), Network: "tcp"}, false},
		{"remote v4 on stdio (tcpserver)", Peer{RemoteAddr: ap("192.0.2.1:25"), Stdio: true, Network: "tcp"}, false},
		{"pipe without address (sendmail -bs, ssh)", Peer{Stdio: true, Network: "pipe"}, true},
		{"unix listener", Peer{Network: "unix"}, true},
		{"tcp listener without address", Peer{Network: "tcp"}, false},
		{"rejected TCPREMOTEIP", Peer{Stdio: true, Network: "pipe", envRejected: true}, false},
	}
	for _, tt := range tests {
		if got := tt.p.Local(); got != tt.want {
			t.Errorf("%s: Local() = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestEnvPeer(t *testing.T) {
	ap := netip.MustParseAddrPort
	tests := []struct {
		name  string
		env   map[string]string
		start Peer // what the socket gave
		want  Peer
	}{
		{"nothing", nil, Peer{Stdio: true}, Peer{Stdio: true}},
		{"tcpserver v4",
			map[string]string{"TCPREMOTEIP": "192.0.2.7", "TCPREMOTEPORT": "4242", "TCPLOCALIP": "198.51.100.1", "TCPLOCALPORT": "25",
				"TCPLOCALHOST": "mx.example.org", "TCPREMOTEHOST": "client.example.net"},
			Peer{}, Peer{RemoteAddr: ap("192.0.2.7:4242"), LocalAddr: ap("198.51.100.1:25"), LocalHost: "mx.example.org", RemoteHost: "client.example.net"}},
		{"tcpserver v6 and mapped v4",
			map[string]string{"TCPREMOTEIP": "::ffff:192.0.2.7", "TCPREMOTEPORT": "1", "TCPLOCALIP": "2001:db8::1", "TCPLOCALPORT": "143"},
			Peer{}, Peer{RemoteAddr: ap("192.0.2.7:1"), LocalAddr: ap("[2001:db8::1]:143")}},
		{"socket address wins over environment",
			map[string]string{"TCPREMOTEIP": "192.0.2.7", "TCPREMOTEPORT": "1"},
			Peer{RemoteAddr: ap("127.0.0.1:5")}, Peer{RemoteAddr: ap("127.0.0.1:5")}},
		{"RELAYCLIENT empty counts", map[string]string{"RELAYCLIENT": ""}, Peer{}, Peer{RelayClient: true}},
		{"RELAYCLIENT with value", map[string]string{"RELAYCLIENT": "@example.org"}, Peer{}, Peer{RelayClient: true}},
		{"CR in remote IP", map[string]string{"TCPREMOTEIP": "192.0.2.7\r\nX-Evil: 1"}, Peer{}, Peer{envRejected: true}},
		{"garbage remote IP", map[string]string{"TCPREMOTEIP": "not-an-ip"}, Peer{}, Peer{envRejected: true}},
		{"bad port keeps address", map[string]string{"TCPREMOTEIP": "192.0.2.7", "TCPREMOTEPORT": "99999"}, Peer{}, Peer{RemoteAddr: ap("192.0.2.7:0")}},
		{"LF in host name", map[string]string{"TCPREMOTEHOST": "a.example\nReceived: forged"}, Peer{}, Peer{}},
		{"NUL in host name", map[string]string{"TCPLOCALHOST": "mx\x00.example"}, Peer{}, Peer{}},
		{"space in host name", map[string]string{"TCPREMOTEHOST": "a b"}, Peer{}, Peer{}},
		{"over-long host name", map[string]string{"TCPREMOTEHOST": strings.Repeat("a", 254)}, Peer{}, Peer{}},
		{"DEL in RELAYCLIENT", map[string]string{"RELAYCLIENT": "\x7f"}, Peer{}, Peer{}},
		{"zone dropped", map[string]string{"TCPREMOTEIP": "fe80::1%eth0", "TCPREMOTEPORT": "7"}, Peer{}, Peer{RemoteAddr: ap("[fe80::1]:7")}},
	}
	for _, tt := range tests {
		o := Options{LookupEnv: envMap(tt.env), Logger: quietLogger(t)}.withDefaults()
		p := tt.start
		o.env().fillPeer(&p)
		if p != tt.want {
			t.Errorf("%s:\n got  %+v\n want %+v", tt.name, p, tt.want)
		}
	}
}

func TestGetenvOnlyTreatsEmptyAsUnset(t *testing.T) {
	o := Options{Getenv: func(k string) string {
		if k == "TCPREMOTEIP" {
			return "192.0.2.1"
		}
		return ""
	}, Logger: quietLogger(t)}.withDefaults()
	var p Peer
	o.env().fillPeer(&p)
	if p.RemoteAddr.Addr() != netip.MustParseAddr("192.0.2.1") || p.RelayClient {
		t.Fatalf("%+v", p)
	}
}

// serveStdio runs Serve in stdin/stdout mode on in/out in the background.
func serveStdio(t *testing.T, o Options, in, out *os.File) chan error {
	t.Helper()
	o.Stdin, o.Stdout = in, out
	if o.Logger == nil {
		o.Logger = quietLogger(t)
	}
	if o.LookupEnv == nil {
		o.LookupEnv = envMap(nil)
	}
	done := make(chan error, 1)
	go func() { done <- Serve(context.Background(), o, echo) }()
	return done
}

func wait(t *testing.T, done chan error) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Serve did not return")
	}
}

func TestServeStdioSocketpair(t *testing.T) {
	srv, cli := testutil.SocketPairFiles(t)
	out, err := dupFile(srv)
	if err != nil {
		t.Fatal(err)
	}
	done := serveStdio(t, Options{LookupEnv: envMap(map[string]string{"TCPREMOTEIP": "192.0.2.9", "TCPREMOTEPORT": "1025"})}, srv, out)
	nc, err := net.FileConn(cli)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	c := newClient(t, nc)
	c.expect("220 ", "remote=192.0.2.9:1025", "stdio=true", "net=unix", "localok=false", "tls=false")
	c.send("hello\r\n" + strings.Repeat("x", 600) + "\r\nafter\r\nQUIT\r\n")
	c.expect("250 hello")
	c.expect("500 line too long")
	c.expect("250 after")
	c.expect("221 bye")
	wait(t, done)
	// Serve closed fd 0/1 (here: srv and out), so the client sees EOF.
	if _, err := c.br.ReadByte(); err != io.EOF {
		t.Fatalf("after the session: %v, want EOF", err)
	}
}

func dupFile(f *os.File) (*os.File, error) {
	fd, err := fileFD(f)
	if err != nil {
		return nil, err
	}
	nfd, err := dupCloexec(fd)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(nfd), f.Name()+"-dup"), nil
}

func TestServeStdioPipes(t *testing.T) {
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer inW.Close()
	defer outR.Close()
	done := serveStdio(t, Options{}, inR, outW)
	c := &client{t: t, br: newClient(t, pipeClient{outR, inW}).br, c: pipeClient{outR, inW}}
	c.expect("220 ", "remote=-", "stdio=true", "net=pipe", "localok=true")
	c.send("one\r\nQUIT\r\n")
	c.expect("250 one")
	c.expect("221 bye")
	wait(t, done)
	if _, err := c.br.ReadByte(); err != io.EOF {
		t.Fatalf("after the session: %v, want EOF", err)
	}
}

// TestPipeDeadline shows that read deadlines work when stdin is a pipe.
func TestPipeDeadline(t *testing.T) {
	// Blocking pipes, as a parent process hands them over (os.Pipe's
	// are already non-blocking).
	inR, inW := blockingPipe(t)
	outR, outW := blockingPipe(t)
	defer inW.Close()
	defer outR.Close()
	nc, err := stdioConn(inR, outW)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	defer inR.Close()
	defer outW.Close()
	nc.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
	_, err = nc.Read(make([]byte, 1))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read with a past deadline on a pipe: %v, want a deadline error", err)
	}
	// The original descriptor stays blocking: our parent's view of it
	// must not change (see pollable).
	fd, _ := fileFD(inR)
	if nonblocking(t, fd) {
		t.Fatal("stdin's shared file description was made non-blocking")
	}
}

// TestRegularFileStdin: a file on stdin (smtpd < transcript) works, and
// deadlines on it are a no-op rather than an error.
func TestRegularFileStdin(t *testing.T) {
	path := t.TempDir() + "/in"
	os.WriteFile(path, []byte("a\r\nQUIT\r\n"), 0o600)
	in, _ := os.Open(path)
	outR, outW, _ := os.Pipe()
	defer outR.Close()
	done := serveStdio(t, Options{}, in, outW)
	b, err := io.ReadAll(outR)
	if err != nil {
		t.Fatal(err)
	}
	wait(t, done)
	if !strings.Contains(string(b), "250 a\r\n221 bye\r\n") {
		t.Fatalf("output %q", b)
	}
	in, _ = os.Open(path)
	defer in.Close()
	nc := &pipeConn{r: in, w: in}
	if err := nc.SetReadDeadline(time.Now()); err != nil {
		t.Fatalf("deadline on a regular file: %v", err)
	}
}

type pipeClient struct {
	r *os.File
	w *os.File
}

func (p pipeClient) Read(b []byte) (int, error)         { return p.r.Read(b) }
func (p pipeClient) Write(b []byte) (int, error)        { return p.w.Write(b) }
func (p pipeClient) Close() error                       { p.w.Close(); return p.r.Close() }
func (p pipeClient) LocalAddr() net.Addr                { return pipeAddr{} }
func (p pipeClient) RemoteAddr() net.Addr               { return pipeAddr{} }
func (p pipeClient) SetDeadline(t time.Time) error      { p.r.SetDeadline(t); return nil }
func (p pipeClient) SetReadDeadline(t time.Time) error  { return nil }
func (p pipeClient) SetWriteDeadline(t time.Time) error { return nil }

func TestSystemdPIDMismatch(t *testing.T) {
	err := Serve(context.Background(), Options{
		LookupEnv: envMap(map[string]string{"LISTEN_FDS": "1", "LISTEN_PID": "1"}),
		Logger:    quietLogger(t),
	}, echo)
	if exitcode.Of(err) != exitcode.Config || !strings.Contains(err.Error(), "LISTEN_PID=1 is not this process") {
		t.Fatalf("err = %v (exit %d)", err, exitcode.Of(err))
	}
	for _, env := range []map[string]string{
		{"LISTEN_FDS": "1", "LISTEN_PID": "x"},
		{"LISTEN_FDS": "0", "LISTEN_PID": fmt.Sprint(os.Getpid())},
		{"LISTEN_FDS": "many", "LISTEN_PID": fmt.Sprint(os.Getpid())},
	} {
		err := Serve(context.Background(), Options{LookupEnv: envMap(env), Logger: quietLogger(t)}, echo)
		if exitcode.Of(err) != exitcode.Config {
			t.Errorf("%v: err = %v, want a configuration error", env, err)
		}
	}
}

func TestListenErrors(t *testing.T) {
	for _, addr := range []string{"nonsense", "127.0.0.1", "unix:", "127.0.0.1:99999", "bad\r\n:25"} {
		err := Serve(context.Background(), Options{Listen: []string{addr}, Logger: quietLogger(t)}, echo)
		if err == nil {
			t.Errorf("--listen %q: no error", addr)
		}
	}
	err := Serve(context.Background(), Options{Listen: []string{"127.0.0.1:0"}, TLSImplicit: true, Logger: quietLogger(t)}, echo)
	if exitcode.Of(err) != exitcode.Config {
		t.Errorf("--tls-implicit without a certificate: %v", err)
	}
}

func TestOptionsMulti(t *testing.T) {
	for _, tt := range []struct {
		name string
		o    Options
		want bool
	}{
		{"stdio", Options{LookupEnv: envMap(nil)}, false},
		{"listen", Options{Listen: []string{"127.0.0.1:0"}, LookupEnv: envMap(nil)}, true},
		{"LISTEN_FDS", Options{LookupEnv: envMap(map[string]string{"LISTEN_FDS": "1"})}, true},
		{"LISTEN_FDS via Getenv", Options{Getenv: func(k string) string { return map[string]string{"LISTEN_FDS": "2"}[k] }}, true},
		{"other variables", Options{LookupEnv: envMap(map[string]string{"TCPREMOTEIP": "192.0.2.1"})}, false},
	} {
		if got := tt.o.Multi(); got != tt.want {
			t.Errorf("%s: Multi() = %v, want %v", tt.name, got, tt.want)
		}
	}
}
