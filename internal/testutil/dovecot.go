package testutil

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Dovecot is a private Dovecot instance started by StartDovecot.
type Dovecot struct {
	// IMAP and POP3 are the listening addresses ("127.0.0.1:port").
	IMAP, POP3 string
	// Dir holds the instance's config, sockets, state and log.
	Dir string
	// Log is the path of Dovecot's log file.
	Log string
	// MailRoot is the directory under which each user's Maildir is
	// MailRoot/<user>/Maildir.
	MailRoot string
}

// Maildir returns the path of user's Maildir in this instance.
func (d *Dovecot) Maildir(user string) string {
	return filepath.Join(d.MailRoot, user, "Maildir")
}

// ReadLog returns Dovecot's log so far, for test failure messages.
func (d *Dovecot) ReadLog() string {
	b, _ := os.ReadFile(d.Log)
	return string(b)
}

// dovecotConf is peers/dovecot-test.conf from the shared notes, with the
// ports and paths filled in and the users file given by the test.
const dovecotConf = `# Test instance made by internal/testutil.StartDovecot.
protocols = imap pop3
listen = 127.0.0.1
base_dir = @RUN@
state_dir = @DIR@/state
instance_name = mailtk-test-@PORT_IMAP@
log_path = @DIR@/dovecot.log
info_log_path = @DIR@/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:@MAIL@/%u/Maildir
first_valid_uid = 1
last_valid_uid = 0
mail_uid = @UID@
mail_gid = @GID@
mail_max_userip_connections = 1000
@USERS_AS@
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u @DIR@/users
}
userdb {
  driver = static
  args = uid=@UID@ gid=@GID@ home=@MAIL@/%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = @PORT_IMAP@
  }
  inet_listener imaps {
    port = 0
  }
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = @PORT_POP3@
  }
  inet_listener pop3s {
    port = 0
  }
}
`

// StartDovecot starts a private Dovecot (imap and pop3) on 127.0.0.1 with
// free ports and a temporary config, and stops it when the test ends. It
// skips the test when Dovecot is not installed (fails under
// MAILTK_REQUIRE_PEERS).
//
// usersFile is a passwd-file (Dovecot's format, the same file the
// toolkit's servers read); entries without a {SCHEME} are PLAIN. Each
// user's Maildir is mailRoot/<user>/Maildir. When the test runs as root,
// Dovecot accesses mail as uid/gid Nobody, so give mailRoot to Nobody
// (UnprivDir, ChownTree) and chown again after writing files as root.
func StartDovecot(t testing.TB, usersFile, mailRoot string) *Dovecot {
	t.Helper()
	bin := Peer(t, "dovecot")
	mailRoot, err := filepath.Abs(mailRoot)
	if err != nil {
		t.Fatal(err)
	}
	users, err := os.ReadFile(usersFile)
	if err != nil {
		t.Fatal(err)
	}
	var lastErr error
	// Free ports are found by binding port 0 and closing; another process
	// may take one before Dovecot binds it, so retry a few times.
	for range 3 {
		d, err := startDovecot(t, bin, users, mailRoot)
		if err == nil {
			return d
		}
		lastErr = err
	}
	t.Fatalf("dovecot did not start: %v", lastErr)
	return nil
}

func startDovecot(t testing.TB, bin string, users []byte, mailRoot string) (*Dovecot, error) {
	// A short base_dir: Dovecot's unix sockets live there and their paths
	// must fit in 108 bytes, which t.TempDir paths may not.
	run, err := os.MkdirTemp("", "dv")
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "dovecot-test-")
	if err != nil {
		os.RemoveAll(run)
		return nil, err
	}
	cleanupDirs := func() { os.RemoveAll(run); os.RemoveAll(dir) }
	// Dovecot's unprivileged processes need to reach these.
	for _, p := range []string{run, dir} {
		if err := os.Chmod(p, 0o755); err != nil {
			cleanupDirs()
			return nil, err
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "state"), 0o755); err != nil {
		cleanupDirs()
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "users"), users, 0o644); err != nil {
		cleanupDirs()
		return nil, err
	}
	imapPort, err := freePort()
	if err != nil {
		cleanupDirs()
		return nil, err
	}
	pop3Port, err := freePort()
	if err != nil {
		cleanupDirs()
		return nil, err
	}
	uid, gid := os.Getuid(), os.Getgid()
	usersAs := ""
	if uid == 0 {
		uid, gid = Nobody, Nobody
	} else {
		// Dovecot run by an ordinary user: every internal process runs as
		// that user too.
		name := strconv.Itoa(uid)
		if u := os.Getenv("USER"); u != "" {
			name = u
		}
		usersAs = "default_login_user = " + name + "\ndefault_internal_user = " + name + "\n"
	}
	conf := strings.NewReplacer(
		"@RUN@", run, "@DIR@", dir, "@MAIL@", mailRoot,
		"@UID@", strconv.Itoa(uid), "@GID@", strconv.Itoa(gid),
		"@PORT_IMAP@", strconv.Itoa(imapPort), "@PORT_POP3@", strconv.Itoa(pop3Port),
		"@USERS_AS@", usersAs,
	).Replace(dovecotConf)
	confPath := filepath.Join(dir, "dovecot.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		cleanupDirs()
		return nil, err
	}
	cmd := exec.Command(bin, "-F", "-c", confPath)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		cleanupDirs()
		return nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		cleanupDirs()
	}
	d := &Dovecot{
		IMAP:     net.JoinHostPort("127.0.0.1", strconv.Itoa(imapPort)),
		POP3:     net.JoinHostPort("127.0.0.1", strconv.Itoa(pop3Port)),
		Dir:      dir,
		Log:      filepath.Join(dir, "dovecot.log"),
		MailRoot: mailRoot,
	}
	// Wait until both listeners answer (startup, not a timing criterion).
	deadline := time.Now().Add(15 * time.Second)
	for _, addr := range []string{d.IMAP, d.POP3} {
		for {
			select {
			case err := <-exited:
				exited <- err
				log := d.ReadLog()
				cleanupDirs()
				return nil, fmt.Errorf("dovecot exited: %v\n%s\n%s", err, out.String(), log)
			default:
			}
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				log := d.ReadLog()
				stop()
				return nil, fmt.Errorf("dovecot not listening on %s: %v\n%s", addr, err, log)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	t.Cleanup(stop)
	return d, nil
}
