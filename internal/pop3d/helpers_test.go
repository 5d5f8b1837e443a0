package pop3d

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"mailtk/internal/testutil"
	"mailtk/maildir"
)

// env is a test installation: a users file with user "cousin" (password
// "secret", uid/gid of the unprivileged test user) whose Maildir is
// Maildir under the directory.
type env struct {
	dir     string
	users   string
	maildir string
	md      *maildir.Dir
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dir := testutil.UnprivDir(t)
	e := &env{dir: dir, users: filepath.Join(dir, "users"), maildir: filepath.Join(dir, "Maildir")}
	uid, gid := os.Getuid(), os.Getgid()
	if uid == 0 {
		uid, gid = testutil.Nobody, testutil.Nobody
	}
	lines := fmt.Sprintf("cousin:{PLAIN}secret:%d:%d:Cousin:%s::userdb_mail=maildir:%s\n", uid, gid, dir, e.maildir)
	lines += fmt.Sprintf("other:{PLAIN}pw:%d:%d::%s::userdb_mail=maildir:%s/Other\n", uid, gid, dir, dir)
	lines += fmt.Sprintf("toor:{PLAIN}pw:0:0::%s::userdb_mail=maildir:%s/Root\n", dir, dir)
	if err := os.WriteFile(e.users, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	md, err := maildir.Create(e.maildir)
	if err != nil {
		t.Fatal(err)
	}
	e.md = md
	testutil.ChownTree(t, dir)
	return e
}

// deliver stores messages (as the test user, then hands them to the
// unprivileged user).
func (e *env) deliver(t *testing.T, bodies ...string) []maildir.Message {
	t.Helper()
	var out []maildir.Message
	for _, b := range bodies {
		m, err := e.md.Deliver(strings.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	testutil.ChownTree(t, e.dir)
	return out
}

// scan lists the Maildir.
func (e *env) scan(t *testing.T) []maildir.Message {
	t.Helper()
	msgs, err := e.md.Scan()
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

// server is a pop3d started with --listen on a free loopback port.
type server struct {
	addr   string
	cmd    *exec.Cmd
	mu     sync.Mutex
	stderr bytes.Buffer
}

func (s *server) log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stderr.String()
}

// startServer runs the pop3d binary unprivileged with --listen
// 127.0.0.1:0 and args, and returns once it listens.
func startServer(t *testing.T, args ...string) *server {
	t.Helper()
	bin := testutil.Binary(t, "pop3d")
	cmd := exec.Command(bin, append([]string{"--listen", "127.0.0.1:0", "--hostname", "pop.test", "--auth-penalty", "1ms"}, args...)...)
	testutil.Unprivileged(cmd)
	pr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd}
	addrc := make(chan string, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			l := sc.Text()
			s.mu.Lock()
			s.stderr.WriteString(l + "\n")
			s.mu.Unlock()
			if strings.Contains(l, "msg=listening") {
				for _, f := range strings.Fields(l) {
					if a, ok := strings.CutPrefix(f, "addr="); ok {
						addrc <- a
					}
				}
			}
		}
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		<-done
		cmd.Wait()
		if t.Failed() {
			t.Logf("pop3d log:\n%s", s.log())
		}
	})
	select {
	case s.addr = <-addrc:
	case <-done:
		t.Fatalf("pop3d exited: %s", s.log())
	case <-time.After(20 * time.Second):
		t.Fatalf("pop3d did not start listening: %s", s.log())
	}
	return s
}

// stdio runs the pop3d binary unprivileged with one end of a socketpair
// as its stdin/stdout and returns the other end, as inetd would.
func stdio(t *testing.T, extraEnv []string, unpriv bool, args ...string) (net.Conn, *bytes.Buffer, func() error) {
	t.Helper()
	bin := testutil.Binary(t, "pop3d")
	srv, cli := testutil.SocketPairFiles(t)
	cmd := exec.Command(bin, append([]string{"--hostname", "pop.test", "--auth-penalty", "1ms"}, args...)...)
	cmd.Stdin, cmd.Stdout = srv, srv
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Env = append(os.Environ(), extraEnv...)
	if unpriv {
		testutil.Unprivileged(cmd)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	c, err := net.FileConn(cli)
	if err != nil {
		t.Fatal(err)
	}
	cli.Close()
	var once sync.Once
	var werr error
	wait := func() error {
		once.Do(func() { werr = cmd.Wait() })
		return werr
	}
	t.Cleanup(func() {
		c.Close()
		wait()
		if t.Failed() {
			t.Logf("pop3d stderr:\n%s", stderr.String())
		}
	})
	return c, &stderr, wait
}

// client is a minimal line-level POP3 client for tests.
type client struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dial(t *testing.T, addr string) *client {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	cl := &client{t: t, c: c, br: bufio.NewReader(c)}
	cl.expect("+OK *")
	return cl
}

func newClient(t *testing.T, c net.Conn) *client { return &client{t: t, c: c, br: bufio.NewReader(c)} }

func (c *client) line() string {
	c.t.Helper()
	c.c.SetReadDeadline(time.Now().Add(20 * time.Second))
	l, err := c.br.ReadString('\n')
	if err != nil {
		c.t.Fatalf("read: %v (got %q)", err, l)
	}
	return strings.TrimSuffix(l, "\r\n")
}

func (c *client) send(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.c, s+"\r\n"); err != nil {
		c.t.Fatal(err)
	}
}

func (c *client) expect(pattern string) string {
	c.t.Helper()
	l := c.line()
	if !testutil.Glob(pattern, l) {
		c.t.Fatalf("got %q, want %q", l, pattern)
	}
	return l
}

// cmd sends a command and checks the status line.
func (c *client) cmd(line, pattern string) string {
	c.t.Helper()
	c.send(line)
	return c.expect(pattern)
}

// multi reads a multi-line body up to the "." line, unstuffed.
func (c *client) multi() []string {
	c.t.Helper()
	var out []string
	for {
		l := c.line()
		if l == "." {
			return out
		}
		out = append(out, strings.TrimPrefix(l, "."))
	}
}

func (c *client) login(user, pass string) {
	c.t.Helper()
	c.cmd("USER "+user, "+OK*")
	c.cmd("PASS "+pass, "+OK*")
}

func assertOwner(t *testing.T, path string, uid int) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || int(st.Uid) != uid {
		t.Fatalf("%s is owned by %v, want %d", path, fi.Sys(), uid)
	}
}
