package smtpd

import (
	"bufio"
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
)

// world is a test installation: a users file, an aliases file and the
// Maildirs under one directory the unprivileged server user owns.
type world struct {
	t       *testing.T
	root    string
	users   string
	aliases string
	bin     string
}

var testUsers = []struct{ name, gecos string }{
	{"jones", "Bill Jones"},
	{"brown", "Ann Brown"},
	{"Admin.MRC", "Mark Crispin"},
	{"jsmith", "John Smith"},
	{"hsmith", "Harry Smith"},
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{t: t, root: testutil.UnprivDir(t), bin: testutil.Binary(t, "smtpd")}
	var b strings.Builder
	for _, u := range testUsers {
		fmt.Fprintf(&b, "%s:{PLAIN}secret:%d:%d:%s,,,:%s:/bin/false:userdb_mail=maildir:%s\n",
			u.name, testutil.Nobody, testutil.Nobody, u.gecos, filepath.Join(w.root, "home", u.name), w.maildir(u.name))
	}
	w.users = w.write("users", b.String())
	w.aliases = w.write("aliases", "postmaster: jones\nexemple-email-list: jsmith, hsmith\nstaff: jones, :include:"+
		w.write("staff.list", "brown\n# comment\nAdmin.MRC\n")+"\nfar: someone@remote.example\n")
	return w
}

func (w *world) write(name, content string) string {
	p := filepath.Join(w.root, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		w.t.Fatal(err)
	}
	testutil.ChownTree(w.t, p)
	return p
}

func (w *world) maildir(user string) string {
	return filepath.Join(w.root, "mail", strings.ToLower(user), "Maildir")
}

// args are the flags of a typical installation for foo.com.
func (w *world) args(extra ...string) []string {
	return append([]string{"--hostname", "foo.com", "--users", w.users, "--aliases", w.aliases, "--local-domain", "foo.com"}, extra...)
}

// messages returns the contents of the messages in user's Maildir new/.
func (w *world) messages(user string) []string {
	return readNew(w.t, w.maildir(user))
}

func readNew(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(filepath.Join(dir, "new"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		b, err := os.ReadFile(filepath.Join(dir, "new", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}

// stdio starts the binary on one end of a socketpair, as inetd would, and
// returns the other end. env adds environment variables.
func (w *world) stdio(args []string, env ...string) (net.Conn, *exec.Cmd, *syncBuf) {
	w.t.Helper()
	srv, cli := testutil.SocketPairFiles(w.t)
	cmd := exec.Command(w.bin, args...)
	cmd.Stdin, cmd.Stdout = srv, srv
	stderr := &syncBuf{}
	cmd.Stderr = stderr
	cmd.Env = append([]string{"PATH=/usr/bin:/bin"}, env...)
	testutil.Unprivileged(cmd)
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	srv.Close()
	c, err := net.FileConn(cli)
	cli.Close()
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() {
		c.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if w.t.Failed() {
			w.t.Logf("smtpd stderr:\n%s", stderr.String())
		}
	})
	return c, cmd, stderr
}

// listen starts the binary with --listen 127.0.0.1:0 and returns the
// address it listens on; it is stopped with SIGTERM at cleanup.
func (w *world) listen(args ...string) (string, *syncBuf) {
	w.t.Helper()
	cmd := exec.Command(w.bin, append(args, "--listen", "127.0.0.1:0")...)
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	pr, pw := io.Pipe()
	stderr := &syncBuf{}
	cmd.Stderr = io.MultiWriter(pw, stderr)
	testutil.Unprivileged(cmd)
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if l := sc.Text(); strings.Contains(l, "msg=listening") {
				for _, f := range strings.Fields(l) {
					if a, ok := strings.CutPrefix(f, "addr="); ok {
						addr <- a
					}
				}
			}
		}
	}()
	done := make(chan struct{})
	go func() { cmd.Wait(); pw.Close(); close(done) }()
	w.t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if w.t.Failed() {
			w.t.Logf("smtpd stderr:\n%s", stderr.String())
		}
	})
	select {
	case a := <-addr:
		return a, stderr
	case <-done:
		w.t.Fatalf("smtpd exited: %s", stderr.String())
	case <-time.After(30 * time.Second):
		w.t.Fatalf("smtpd did not start listening: %s", stderr.String())
	}
	return "", nil
}

type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// cert writes a self-signed certificate for localhost/127.0.0.1 into the
// world's directory and returns the file names.
func (w *world) cert() (certFile, keyFile string) {
	w.t.Helper()
	return testutil.TLSCert(w.t, w.root)
}

// dial connects to addr and returns a line-oriented client.
type client struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dial(t *testing.T, addr string) *client {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return newClient(t, c)
}

func newClient(t *testing.T, c net.Conn) *client {
	c.SetDeadline(time.Now().Add(30 * time.Second))
	return &client{t: t, c: c, r: bufio.NewReader(c)}
}

func (c *client) send(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.c, s); err != nil {
		c.t.Fatal(err)
	}
}

// reply reads one complete (possibly multi-line) reply.
func (c *client) reply() string {
	c.t.Helper()
	var all strings.Builder
	for {
		l, err := c.r.ReadString('\n')
		all.WriteString(l)
		if err != nil {
			return all.String()
		}
		if len(l) < 4 || l[3] != '-' {
			return all.String()
		}
	}
}

func (c *client) expect(prefix string) string {
	c.t.Helper()
	r := c.reply()
	if !strings.HasPrefix(r, prefix) {
		c.t.Fatalf("got %q, want %q...", r, prefix)
	}
	return r
}
