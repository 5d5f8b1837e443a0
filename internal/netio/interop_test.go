package netio

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"mailtk/internal/testutil"
)

// These tests run the real internal/echoserver binary the ways a mail
// server is started: by tcpserver, by systemd-socket-activate (inetd,
// accept and listener modes), over a socketpair, over pipes and with
// --listen.

var (
	echoOnce sync.Once
	echoPath string
	echoErr  error
)

// echoBinary builds internal/netio/internal/echoserver once per test run.
func echoBinary(t *testing.T) string {
	t.Helper()
	echoOnce.Do(func() {
		dir, err := os.MkdirTemp("", "netio-echo-")
		if err != nil {
			echoErr = err
			return
		}
		os.Chmod(dir, 0o755)
		echoPath = filepath.Join(dir, "echoserver")
		cmd := exec.Command("go", "build", "-o", echoPath, "./internal/netio/internal/echoserver")
		cmd.Dir = testutil.ModuleRoot(t)
		if out, err := cmd.CombinedOutput(); err != nil {
			echoErr = fmt.Errorf("go build echoserver: %v\n%s", err, out)
		}
	})
	if echoErr != nil {
		t.Fatal(echoErr)
	}
	return echoPath
}

// proc is a started child whose stderr (or stdout) lines are collected.
type proc struct {
	t     *testing.T
	cmd   *exec.Cmd
	lines chan string
	mu    sync.Mutex
	log   strings.Builder
	done  chan error
}

func startProc(t *testing.T, cmd *exec.Cmd, watch io.Reader) *proc {
	t.Helper()
	p := &proc{t: t, cmd: cmd, lines: make(chan string, 100), done: make(chan error, 1)}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(watch)
		for sc.Scan() {
			p.mu.Lock()
			p.log.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			select {
			case p.lines <- sc.Text():
			default:
			}
		}
		close(p.lines)
	}()
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// waitLine returns the first line holding substr; "" when the process
// ended without printing one.
func (p *proc) waitLine(substr string) string {
	p.t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				return ""
			}
			if strings.Contains(l, substr) {
				return l
			}
		case <-timeout:
			p.t.Fatalf("no line with %q; output so far:\n%s", substr, p.output())
		}
	}
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// exit waits for the process and returns its exit status.
func (p *proc) exit() int {
	p.t.Helper()
	select {
	case err := <-p.done:
		p.done <- err
		code := testutil.ExitCode(err)
		if code < 0 {
			p.t.Fatalf("%v; output:\n%s", err, p.output())
		}
		return code
	case <-time.After(30 * time.Second):
		p.t.Fatalf("process did not exit; output:\n%s", p.output())
		return -1
	}
}

func dialTCP(t *testing.T, addr string) *client {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return newClient(t, nc)
}

func TestBinaryOverSocketpair(t *testing.T) {
	bin := echoBinary(t)
	srv, cli := testutil.SocketPairFiles(t)
	cmd := exec.Command(bin)
	cmd.Stdin, cmd.Stdout = srv, srv
	cmd.Env = append(os.Environ(), "TCPREMOTEIP=192.0.2.44", "TCPREMOTEPORT=2525", "TCPLOCALIP=127.0.0.1",
		"TCPLOCALPORT=25", "TCPLOCALHOST=mx.example.org", "TCPREMOTEHOST=evil\r\nX-Injected: yes")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	nc, err := net.FileConn(cli)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	testutil.RunTranscript(t, testutil.ParseTranscript(`
S: 220 remote=192.0.2.44:2525 local=127.0.0.1:25 rhost=- lhost=mx.example.org stdio=true net=unix relay=false tls=false localok=false listener=-
C: hello
S: 250 hello
C: QUIT
S: 221 bye
`), nc, nc, 20*time.Second)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v\n%s", err, stderr.String())
	}
	if strings.Contains(stderr.String(), "X-Injected") || !strings.Contains(stderr.String(), "var=TCPREMOTEHOST") {
		t.Fatalf("stderr %q", stderr.String())
	}
}

func TestBinaryOverPipes(t *testing.T) {
	cmd := exec.Command(echoBinary(t))
	cmd.Env = os.Environ()
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	testutil.RunTranscript(t, testutil.ParseTranscript(`
S: 220 remote=- local=- rhost=- lhost=- stdio=true net=pipe relay=false tls=false localok=true listener=-
C: PEER
S: 250 remote=-*
C: QUIT
S: 221 bye
`), out, in, 20*time.Second)
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
}

// TestBinaryListenSIGTERM: --listen, then SIGTERM drains and exits 0.
func TestBinaryListenSIGTERM(t *testing.T) {
	cmd := exec.Command(echoBinary(t), "--listen", "127.0.0.1:0", "--grace", "1h")
	stderr, _ := cmd.StderrPipe()
	p := startProc(t, cmd, stderr)
	l := p.waitLine("msg=listening")
	addr := fieldValue(l, "addr")
	c := dialTCP(t, addr)
	c.expect("220 ", "stdio=false", "net=tcp", "listener=127.0.0.1:0")
	c.send("WAIT\r\n")
	cmd.Process.Signal(syscall.SIGTERM)
	c.expect("421 draining")
	c.send("QUIT\r\n")
	c.expect("221 bye")
	if code := p.exit(); code != 0 {
		t.Fatalf("exit %d\n%s", code, p.output())
	}
}

func TestBinaryListenPIDMismatch(t *testing.T) {
	cmd := exec.Command(echoBinary(t))
	cmd.Env = append(os.Environ(), "LISTEN_FDS=1", "LISTEN_PID=1")
	out, err := cmd.CombinedOutput()
	if testutil.ExitCode(err) != 78 || !strings.Contains(string(out), "LISTEN_PID=1 is not this process") {
		t.Fatalf("err %v, output %q", err, out)
	}
}

func fieldValue(line, key string) string {
	for _, f := range strings.Fields(line) {
		if v, ok := strings.CutPrefix(f, key+"="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return ""
}

// TestTcpserver runs the binary under ucspi-tcp's tcpserver: the socket
// is fd 0/1, the TCP* variables are set, tcprules sets RELAYCLIENT, and
// STARTTLS works on the inherited socket.
func TestTcpserver(t *testing.T) {
	tcpserver := testutil.Peer(t, "tcpserver")
	tcprules := testutil.Peer(t, "tcprules")
	dir := t.TempDir()
	certFile, keyFile := testutil.TLSCert(t, dir)
	pool := certPool(t, certFile)
	rules := filepath.Join(dir, "rules.cdb")
	rc := exec.Command(tcprules, rules, rules+".tmp")
	rc.Stdin = strings.NewReader("127.0.0.1:allow,RELAYCLIENT=\"\"\n:allow\n")
	if out, err := rc.CombinedOutput(); err != nil {
		t.Fatalf("tcprules: %v\n%s", err, out)
	}
	// -1 prints the bound port; -R -H: no ident or DNS lookups.
	cmd := exec.Command(tcpserver, "-1", "-R", "-H", "-l", "localhost", "-x", rules, "127.0.0.1", "0",
		echoBinary(t), "--tls-cert", certFile, "--tls-key", keyFile)
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	p := startProc(t, cmd, stdout)
	port := p.waitLine("")
	if _, err := strconv.Atoi(port); err != nil {
		t.Fatalf("tcpserver -1 printed %q", port)
	}
	addr := "127.0.0.1:" + port
	c := dialTCP(t, addr)
	c.expect("220 ", "remote="+c.c.LocalAddr().String(), "local="+addr, "lhost=localhost", "stdio=true", "net=tcp",
		"relay=true", "localok=true", "tls=false")
	c.send("STARTTLS\r\n")
	c.expect("220 go ahead")
	c.startTLS(pool)
	c.expect("250 tls discarded=0")
	c.send("PEER\r\n")
	c.expect("250 ", "tls=true", "relay=true")
	c.send("QUIT\r\n")
	c.expect("221 bye")
	// A second, independent connection: one process per connection.
	d := dialTCP(t, addr)
	d.expect("220 ", "stdio=true")
	d.send("QUIT\r\n")
	d.expect("221 ")
}

// startSocketActivate starts systemd-socket-activate on a free loopback
// port (it cannot bind port 0), retrying when another process took the
// port in between. extra are its options before the program.
func startSocketActivate(t *testing.T, extra []string, prog ...string) (*proc, string) {
	t.Helper()
	ssa := testutil.Peer(t, "systemd-socket-activate")
	for attempt := 0; attempt < 10; attempt++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		args := append([]string{"-l", addr}, extra...)
		cmd := exec.Command(ssa, append(args, prog...)...)
		stderr, _ := cmd.StderrPipe()
		p := startProc(t, cmd, stderr)
		if l := p.waitLine("Listening on " + addr); l != "" {
			return p, addr
		}
		p.exit()
	}
	t.Fatal("systemd-socket-activate could not bind a free port")
	return nil, ""
}

// TestSocketActivateInetd: systemd-socket-activate --inetd -a, like
// systemd Accept=yes with StandardInput=socket: the socket is fd 0/1 and
// there are no TCP* variables, so the addresses come from the socket.
func TestSocketActivateInetd(t *testing.T) {
	_, addr := startSocketActivate(t, []string{"--inetd", "-a"}, echoBinary(t))
	c := dialTCP(t, addr)
	c.expect("220 ", "remote="+c.c.LocalAddr().String(), "local="+addr, "stdio=true", "net=tcp", "relay=false", "localok=true")
	c.send("QUIT\r\n")
	c.expect("221 bye")
}

// TestSocketActivateAccept: -a without --inetd, like systemd Accept=yes
// without StandardInput=socket: the connection is fd 3, LISTEN_FDS=1.
func TestSocketActivateAccept(t *testing.T) {
	_, addr := startSocketActivate(t, []string{"-a", "--fdname=smtp"}, echoBinary(t))
	c := dialTCP(t, addr)
	c.expect("220 ", "remote="+c.c.LocalAddr().String(), "local="+addr, "stdio=true", "net=tcp", "listener=smtp")
	c.send("hi\r\nQUIT\r\n")
	c.expect("250 hi")
	c.expect("221 bye")
}

// TestSocketActivateListeners: Accept=no, two listening sockets (TCP and
// a Unix socket) passed as LISTEN_FDS=2 with names, then SIGTERM.
func TestSocketActivateListeners(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "echo.sock")
	p, addr := startSocketActivate(t, []string{"-l", sock, "--fdname=tcp:local"}, echoBinary(t), "--grace", "1h")
	c := dialTCP(t, addr)
	c.expect("220 ", "remote="+c.c.LocalAddr().String(), "local="+addr, "stdio=false", "net=tcp", "listener=tcp")
	uc, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer uc.Close()
	u := newClient(t, uc)
	u.expect("220 ", "stdio=false", "net=unix", "localok=true", "listener=local")
	u.send("QUIT\r\n")
	u.expect("221 ")
	c.send("WAIT\r\n")
	p.cmd.Process.Signal(syscall.SIGTERM) // the same pid: it execs the server
	c.expect("421 draining")
	c.send("QUIT\r\n")
	c.expect("221 bye")
	if code := p.exit(); code != 0 {
		t.Fatalf("exit %d\n%s", code, p.output())
	}
}

// TestTcpserverIPv6 runs under tcpserver on ::1 (ucspi-tcp-ipv6).
func TestTcpserverIPv6(t *testing.T) {
	tcpserver := testutil.Peer(t, "tcpserver")
	ln, err := net.Listen("tcp", "[::1]:0")
	testutil.Require(t, "IPv6 loopback", err == nil)
	ln.Close()
	cmd := exec.Command(tcpserver, "-1", "-R", "-H", "-l", "localhost", "::1", "0", echoBinary(t))
	stdout, _ := cmd.StdoutPipe()
	p := startProc(t, cmd, stdout)
	port := p.waitLine("")
	addr := "[::1]:" + port
	c := dialTCP(t, addr)
	c.expect("220 ", "remote="+c.c.LocalAddr().String(), "local="+addr, "stdio=true", "net=tcp", "localok=true", "relay=false")
	c.send("QUIT\r\n")
	c.expect("221 ")
}

// TestBinaryImplicitTLSOverSocketpair: --tls-implicit in stdin/stdout
// mode (inetd on port 993 or 465).
func TestBinaryImplicitTLSOverSocketpair(t *testing.T) {
	certFile, keyFile := testutil.TLSCert(t, t.TempDir())
	pool := certPool(t, certFile)
	srv, cli := testutil.SocketPairFiles(t)
	cmd := exec.Command(echoBinary(t), "--tls-implicit", "--tls-cert", certFile, "--tls-key", keyFile)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = srv, srv, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	nc, err := net.FileConn(cli)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	c := &client{t: t, c: nc}
	c.startTLS(pool)
	c.c.SetDeadline(time.Now().Add(20 * time.Second))
	c.expect("220 ", "tls=true", "stdio=true")
	c.send("STARTTLS\r\n")
	c.expect("454 ") // already encrypted
	c.send("QUIT\r\n")
	c.expect("221 bye")
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
}
