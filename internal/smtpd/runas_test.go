package smtpd

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"mailtk/internal/testutil"
)

// Started as root with --listen and --run-as, smtpd binds first and
// switches user after: a socket in a directory only root may write to
// is bound, and the sessions then run as the unprivileged user.
func TestRunAsBindsBeforeSwitching(t *testing.T) {
	testutil.Root(t)
	w := newWorld(t)
	rootOnly := filepath.Join(t.TempDir(), "private")
	if err := os.Mkdir(rootOnly, 0o700); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(rootOnly, "smtp.sock")
	cmd := exec.Command(w.bin, append(w.args(), "--listen", "unix:"+sock, "--run-as", "65534:65534")...)
	var stderr syncBuf
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var c net.Conn
	var err error
	for i := 0; i < 200; i++ {
		if c, err = net.Dial("unix", sock); err == nil {
			break
		}
		time.Sleep(25 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("no socket: %v\n%s", err, stderr.String())
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	r := bufio.NewReader(c)
	if l, _ := r.ReadString('\n'); !strings.HasPrefix(l, "220 ") {
		t.Fatalf("greeting %q", l)
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "Uid:") && !strings.Contains(line, "65534") {
			t.Errorf("smtpd still runs as %q", line)
		}
	}
}
