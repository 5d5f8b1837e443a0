package pop3d

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"mailtk/internal/testutil"
)

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func exampleDir(t *testing.T) string {
	return filepath.Join(testutil.ModuleRoot(t), "examples", "pop3d")
}

// exampleConf writes examples/pop3d/pop3d.conf into a config directory
// with the test's users file and certificate in place of /etc paths.
func (e *env) exampleConf(t *testing.T) string {
	t.Helper()
	conf := filepath.Join(e.dir, "etc")
	if err := os.Mkdir(conf, 0o755); err != nil {
		t.Fatal(err)
	}
	cert, key := testutil.TLSCert(t, conf)
	text := strings.NewReplacer("/etc/mailtk/users", e.users, "/etc/ssl/mail.example.org.pem", cert,
		"/etc/ssl/mail.example.org.key", key).Replace(mustRead(t, filepath.Join(exampleDir(t), "pop3d.conf")))
	if err := os.WriteFile(filepath.Join(conf, "pop3d.conf"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	testutil.ChownTree(t, conf)
	return conf
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

// TestTcpserverExample runs examples/pop3d/tcpserver/run: tcpserver
// starts pop3d per connection (as root when the test is root, so pop3d
// must switch to the user's uid/gid itself).
func TestTcpserverExample(t *testing.T) {
	testutil.Peer(t, "tcpserver")
	e := newEnv(t)
	e.deliver(t, "Subject: via tcpserver\n\nhello\n")
	conf := e.exampleConf(t)
	cmd := exec.Command("/bin/sh", filepath.Join(exampleDir(t), "tcpserver", "run"))
	cmd.Env = []string{"PATH=/usr/bin:/bin:/usr/sbin", "POP3D=" + testutil.Binary(t, "pop3d"), "CONF=" + conf,
		"ADDR=127.0.0.1", "PORT=0", "POP3HOST=pop.test", "TCPSERVER_OPTS=-1"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM); cmd.Wait() })
	port := make(chan string, 1)
	var log syncBuf
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			log.Write([]byte(sc.Text() + "\n"))
			if _, err := strconv.Atoi(sc.Text()); err == nil {
				port <- sc.Text()
			}
		}
	}()
	var addr string
	select {
	case p := <-port:
		addr = "127.0.0.1:" + p
	case <-time.After(20 * time.Second):
		t.Fatalf("tcpserver printed no port:\n%s", log.String())
	}
	c := dial(t, addr)
	c.cmd("CAPA", "+OK *")
	if capa := strings.Join(c.multi(), ","); !strings.Contains(capa, "STLS") {
		t.Errorf("the example's certificate is not used: %s", capa)
	}
	c.login("cousin", "secret")
	c.cmd("RETR 1", "+OK *")
	if body := strings.Join(c.multi(), "\n"); !strings.Contains(body, "via tcpserver") {
		t.Fatalf("RETR: %q", body)
	}
	c.cmd("QUIT", "+OK mail.example.org POP3 server signing off*")
	if os.Getuid() == 0 {
		for _, m := range e.scan(t) {
			assertOwner(t, e.md.MessagePath(m), testutil.Nobody)
		}
	}
	// The session's log line follows its last answer.
	for i := 0; i < 200 && !strings.Contains(log.String(), "user=cousin"); i++ {
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(log.String(), "user=cousin") {
		t.Errorf("no session log line:\n%s", log.String())
	}
}

var execStart = regexp.MustCompile(`(?m)^ExecStart=(.*)$`)

// unitCommand returns the ExecStart= of an example unit with the test's
// paths.
func unitCommand(t *testing.T, unit, conf string) []string {
	t.Helper()
	m := execStart.FindStringSubmatch(mustRead(t, filepath.Join(exampleDir(t), "systemd", unit)))
	if m == nil {
		t.Fatalf("%s has no ExecStart", unit)
	}
	return strings.Fields(strings.NewReplacer("/usr/local/bin/pop3d", testutil.Binary(t, "pop3d"), "/etc/mailtk", conf).Replace(m[1]))
}

// TestSystemdExamples runs the units' commands under
// systemd-socket-activate: --inetd -a (Accept=yes, pop3d@.service, as
// root when the test is) and LISTEN_FDS (Accept=no, pop3d-daemon.service,
// as the mail user).
func TestSystemdExamples(t *testing.T) {
	ssa := testutil.Peer(t, "systemd-socket-activate")
	e := newEnv(t)
	e.deliver(t, "Subject: systemd\n\nhi\n")
	conf := e.exampleConf(t)
	for _, tc := range []struct {
		unit   string
		extra  []string
		unpriv bool
	}{
		{"pop3d@.service", []string{"--inetd", "-a"}, false},
		{"pop3d-daemon.service", []string{"--fdname=pop3"}, true},
	} {
		t.Run(tc.unit, func(t *testing.T) {
			addr := activate(t, ssa, tc.extra, unitCommand(t, tc.unit, conf), tc.unpriv)
			c := dial(t, addr)
			c.login("cousin", "secret")
			c.cmd("STAT", "+OK 1 *")
			c.cmd("QUIT", "+OK *")
		})
	}
}

// activate starts systemd-socket-activate on a free loopback port.
func activate(t *testing.T, ssa string, extra, prog []string, unpriv bool) string {
	t.Helper()
	for range 10 {
		port := testutil.FreePort(t)
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		cmd := exec.Command(ssa, append(append([]string{"-l", addr}, extra...), prog...)...)
		cmd.Env = []string{"PATH=/usr/bin:/bin"}
		if unpriv {
			testutil.Unprivileged(cmd)
		}
		var log syncBuf
		cmd.Stderr = &log
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		ok := false
		for range 100 {
			if strings.Contains(log.String(), "Listening on") {
				ok = true
				break
			}
			if cmd.ProcessState != nil {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Cleanup(func() {
			cmd.Process.Signal(syscall.SIGTERM)
			cmd.Wait()
			if t.Failed() {
				t.Logf("systemd-socket-activate:\n%s", log.String())
			}
		})
		if ok {
			return addr
		}
	}
	t.Fatal("systemd-socket-activate did not start")
	return ""
}

// TestHelpMatchesManPage: every option --help lists is documented in
// docs/man/pop3d.8.md, and the other way round.
func TestHelpMatchesManPage(t *testing.T) {
	out, err := exec.Command(testutil.Binary(t, "pop3d"), "--help").CombinedOutput()
	if err != nil {
		t.Fatal(err)
	}
	man := mustRead(t, filepath.Join(testutil.ModuleRoot(t), "docs", "man", "pop3d.8.md"))
	opt := regexp.MustCompile(`--[a-z][a-z-]+`)
	for _, f := range opt.FindAllString(string(out), -1) {
		if f == "--help" {
			continue
		}
		if !strings.Contains(man, "`"+f) {
			t.Errorf("%s is in --help but not in the man page's OPTIONS", f)
		}
	}
	optsSection := man[strings.Index(man, "## OPTIONS"):strings.Index(man, "## SECURITY")]
	for _, f := range regexp.MustCompile("(?m)^`(--[a-z-]+)").FindAllStringSubmatch(optsSection, -1) {
		if !strings.Contains(string(out), f[1]) {
			t.Errorf("%s is in the man page but not in --help", f[1])
		}
	}
}
