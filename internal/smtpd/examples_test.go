package smtpd

import (
	"bufio"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"mailtk/internal/testutil"
)

// exampleConf writes examples/smtpd/smtpd.conf with this world's paths
// into a directory and returns it.
func (w *world) exampleConf() string {
	w.t.Helper()
	b := mustRead(w.t, filepath.Join(testutil.ModuleRoot(w.t), "examples", "smtpd", "smtpd.conf"))
	cert, key := w.cert()
	b = strings.NewReplacer(
		"mail.example.org", "foo.com",
		"local-domain = example.org", "local-domain = foo.com",
		"/etc/mailtk/users", w.users,
		"/etc/mailtk/aliases", w.aliases,
		"/etc/mailtk/tls/cert.pem", cert,
		"/etc/mailtk/tls/key.pem", key,
	).Replace(b)
	dir := filepath.Join(w.root, "etc")
	os.Mkdir(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "smtpd.conf"), []byte(b), 0o644)
	testutil.ChownTree(w.t, dir)
	return dir
}

// send delivers one message to jones and checks the reply to a remote
// recipient, which shows the relay decision.
func sendViaExample(t *testing.T, c *client, relayReply string) {
	t.Helper()
	c.expect("220 foo.com ")
	c.send("EHLO client.example\r\n")
	if r := c.expect("250-"); !strings.Contains(r, "STARTTLS") {
		t.Errorf("STARTTLS not offered with the example's certificate:\n%s", r)
	}
	c.send("MAIL FROM:<a@client.example>\r\nRCPT TO:<x@remote.example>\r\nRCPT TO:<jones@foo.com>\r\nDATA\r\n")
	c.expect("250 ")
	c.expect(relayReply)
	c.expect("250 ")
	c.expect("354 ")
	c.send("Subject: example\r\n\r\nhi\r\n.\r\nQUIT\r\n")
	c.expect("250 2.0.0")
	c.expect("221 ")
}

// TestTcpserverExample runs examples/smtpd/tcpserver/run with its rules:
// a client on 127.0.0.1 gets RELAYCLIENT, so a remote recipient is
// "not yet" (451 4.3.2) rather than refused.
func TestTcpserverExample(t *testing.T) {
	testutil.Peer(t, "tcpserver")
	tcprules := testutil.Peer(t, "tcprules")
	w := newWorld(t)
	conf := w.exampleConf()
	ex := filepath.Join(testutil.ModuleRoot(t), "examples", "smtpd", "tcpserver")
	rc := exec.Command(tcprules, filepath.Join(conf, "smtpd.cdb"), filepath.Join(conf, "smtpd.tmp"))
	rc.Stdin = strings.NewReader(mustRead(t, filepath.Join(ex, "rules")))
	if out, err := rc.CombinedOutput(); err != nil {
		t.Fatalf("tcprules: %v\n%s", err, out)
	}
	uid := strconv.Itoa(os.Getuid())
	if os.Getuid() == 0 {
		uid = strconv.Itoa(testutil.Nobody)
	}
	cmd := exec.Command("/bin/sh", filepath.Join(ex, "run"))
	cmd.Env = []string{"PATH=/usr/bin:/bin:/usr/sbin", "SMTPD=" + w.bin, "CONF=" + conf, "ADDR=127.0.0.1", "PORT=0",
		"VUID=" + uid, "VGID=" + uid, "SMTPHOST=foo.com", "TCPSERVER_OPTS=-1"}
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
	sendViaExample(t, dial(t, addr), "451 4.3.2")
	if n := len(w.messages("jones")); n != 1 {
		t.Fatalf("jones has %d messages:\n%s", n, log.String())
	}
}

var execStart = regexp.MustCompile(`(?m)^ExecStart=(.*)$`)

// unitCommand returns the ExecStart= of an example unit, with the
// installed paths replaced by the test's.
func (w *world) unitCommand(unit, conf string) []string {
	w.t.Helper()
	m := execStart.FindStringSubmatch(mustRead(w.t, filepath.Join(testutil.ModuleRoot(w.t), "examples", "smtpd", "systemd", unit)))
	if m == nil {
		w.t.Fatalf("%s has no ExecStart", unit)
	}
	f := strings.Fields(strings.NewReplacer("/usr/local/bin/smtpd", w.bin, "/etc/mailtk", conf).Replace(m[1]))
	return f
}

// socketActivate runs systemd-socket-activate on a free loopback port as
// the unprivileged user (as the units' User= would).
func socketActivate(t *testing.T, extra []string, prog []string) string {
	t.Helper()
	ssa := testutil.Peer(t, "systemd-socket-activate")
	for range 10 {
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(testutil.FreePort(t)))
		cmd := exec.Command(ssa, append(append([]string{"-l", addr}, extra...), prog...)...)
		cmd.Env = []string{"PATH=/usr/bin:/bin"}
		testutil.Unprivileged(cmd)
		stderr, _ := cmd.StderrPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		ready := make(chan bool, 1)
		var log syncBuf
		go func() {
			sc := bufio.NewScanner(stderr)
			ok := false
			for sc.Scan() {
				log.Write([]byte(sc.Text() + "\n"))
				if !ok && strings.Contains(sc.Text(), "Listening on "+addr) {
					ok = true
					ready <- true
				}
			}
			if !ok {
				ready <- false
			}
			io.Copy(io.Discard, stderr)
		}()
		if <-ready {
			t.Cleanup(func() {
				cmd.Process.Signal(syscall.SIGTERM)
				cmd.Wait()
				if t.Failed() {
					t.Log(log.String())
				}
			})
			return addr
		}
		cmd.Wait()
	}
	t.Fatal("systemd-socket-activate could not bind a free port")
	return ""
}

// TestSystemdExamples runs the example units' ExecStart under
// systemd-socket-activate: Accept=yes (--inetd -a, a process per
// connection on stdin/stdout) and Accept=no (LISTEN_FDS, one daemon).
func TestSystemdExamples(t *testing.T) {
	w := newWorld(t)
	conf := w.exampleConf()
	addr := socketActivate(t, []string{"--inetd", "-a"}, w.unitCommand("smtpd@.service", conf))
	// 127.0.0.1 is local but has no RELAYCLIENT here: relaying refused.
	sendViaExample(t, dial(t, addr), "550 5.7.1")
	addr = socketActivate(t, nil, w.unitCommand("smtpd-daemon.service", conf))
	sendViaExample(t, dial(t, addr), "550 5.7.1")
	sendViaExample(t, dial(t, addr), "550 5.7.1")
	if n := len(w.messages("jones")); n != 3 {
		t.Fatalf("jones has %d messages, want 3", n)
	}
}

// TestXinetdExample runs examples/smtpd/xinetd.conf under a private
// xinetd (only that service, on a free loopback port, as nobody).
func TestXinetdExample(t *testing.T) {
	xinetd := testutil.Peer(t, "xinetd")
	testutil.Root(t) // xinetd's user= needs root
	w := newWorld(t)
	conf := w.exampleConf()
	svc := mustRead(t, filepath.Join(testutil.ModuleRoot(t), "examples", "smtpd", "xinetd.conf"))
	svc = strings.NewReplacer("/usr/local/bin/smtpd", w.bin, "/etc/mailtk", conf, "user        = vmail", "user        = nobody",
		"service smtp\n{", "service smtp-test\n{\n    type = UNLISTED\n    bind = 127.0.0.1\n    port = @PORT@").Replace(svc)
	for range 10 {
		port := strconv.Itoa(testutil.FreePort(t))
		addr := net.JoinHostPort("127.0.0.1", port)
		cf := filepath.Join(w.root, "xinetd.conf")
		os.WriteFile(cf, []byte("defaults\n{\n    log_type = FILE /dev/stderr\n}\n"+strings.Replace(svc, "@PORT@", port, 1)), 0o644)
		cmd := exec.Command(xinetd, "-f", cf, "-dontfork", "-pidfile", filepath.Join(w.root, "xinetd.pid"), "-stayalive")
		var log syncBuf
		cmd.Stderr = &log
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var c net.Conn
		for range 100 {
			var err error
			if c, err = net.Dial("tcp", addr); err == nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if c == nil {
			cmd.Process.Kill()
			cmd.Wait()
			continue
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		t.Cleanup(func() { c.Close() })
		sendViaExample(t, newClient(t, c), "550 5.7.1")
		if n := len(w.messages("jones")); n != 1 {
			t.Fatalf("jones has %d messages:\n%s", n, log.String())
		}
		return
	}
	t.Fatal("xinetd could not bind a free port")
}
