package userdb

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"mailtk/internal/testutil"
)

// TestDovecotReadsSameFile starts a private Dovecot (no network
// listeners, only its auth service) on a users file that this package
// reads too, and checks that both accept the same passwords, refuse the
// same wrong ones, and see the same uid, gid, home and mail location.
func TestDovecotReadsSameFile(t *testing.T) {
	dovecot := testutil.Peer(t, "dovecot")
	doveadm := testutil.Peer(t, "doveadm")
	dir := t.TempDir()
	// Dovecot's auth process runs as its own user and must reach the file.
	for p := dir; p != "/" && p != os.TempDir(); p = filepath.Dir(p) {
		os.Chmod(p, 0o755)
	}
	for _, sub := range []string{"run", "state"} {
		os.Mkdir(filepath.Join(dir, sub), 0o755)
	}
	hash := func(scheme, pw string) string {
		out, err := exec.Command(doveadm, "pw", "-s", scheme, "-p", pw).Output()
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(out))
	}
	mk, err := exec.Command(testutil.Peer(t, "mkpasswd"), "-m", "sha-512", "mk pw").Output()
	if err != nil {
		t.Fatal(err)
	}
	users := []User{
		{Name: "bob@example.org", Password: hash("SHA512-CRYPT", "bob pw"), UID: 65534, GID: 65534, Gecos: "Bob Smith,Room 1",
			Home: "/home/bob", Extra: map[string]string{"userdb_mail": "maildir:~/Mail:LAYOUT=fs"}},
		{Name: "carol@example.org", Password: hash("BLF-CRYPT", "carol pw"), UID: 1000, GID: 1000, Home: "/srv/carol"},
		{Name: "dan@example.net", Password: hash("ARGON2ID", "dan pw"), UID: 1001, GID: 1001, Home: "/srv/dan",
			Extra: map[string]string{"userdb_mail": "maildir:/srv/vmail/%d/%n"}},
		{Name: "erin", Password: "{CRYPT}" + strings.TrimSpace(string(mk)), UID: 1002, GID: 1002, Home: "/home/erin"},
		{Name: "frank", Password: "{PLAIN}frank pw", UID: 1003, GID: 1003, Home: "/home/frank"},
	}
	passwords := map[string]string{"bob@example.org": "bob pw", "carol@example.org": "carol pw", "dan@example.net": "dan pw",
		"erin": "mk pw", "frank": "frank pw"}
	var file strings.Builder
	file.WriteString("# written by userdb.Format\n\n")
	for _, u := range users {
		line, err := Format(u)
		if err != nil {
			t.Fatal(err)
		}
		file.WriteString(line + "\n")
	}
	usersFile := filepath.Join(dir, "users")
	if err := os.WriteFile(usersFile, []byte(file.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "dovecot.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf(`protocols =
base_dir = %[1]s/run
state_dir = %[1]s/state
instance_name = userdb-test
log_path = %[1]s/dovecot.log
ssl = no
auth_failure_delay = 0
first_valid_uid = 1
last_valid_uid = 0
passdb {
  driver = passwd-file
  args = %[2]s
}
userdb {
  driver = passwd-file
  args = %[2]s
}
`, dir, usersFile)), 0o644)
	// dovecot daemonizes; the daemon would keep an output pipe open, so
	// its output goes to /dev/null (errors are in dovecot.log).
	if err := exec.Command(dovecot, "-c", conf).Run(); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "dovecot.log"))
		t.Fatalf("dovecot: %v\n%s", err, log)
	}
	t.Cleanup(func() {
		b, err := os.ReadFile(filepath.Join(dir, "run", "master.pid"))
		if err != nil {
			return
		}
		var pid int
		fmt.Sscan(string(b), &pid)
		if pid <= 1 {
			return
		}
		syscall.Kill(pid, syscall.SIGTERM)
		for i := 0; i < 100 && syscall.Kill(pid, 0) == nil; i++ {
			time.Sleep(50 * time.Millisecond) // wait for the master to exit
		}
	})
	adm := func(args ...string) (string, int) {
		cmd := exec.Command(doveadm, append([]string{"-c", conf}, args...)...)
		out, err := cmd.CombinedOutput()
		code := testutil.ExitCode(err)
		if code < 0 {
			t.Fatal(err)
		}
		return string(out), code
	}

	db, err := Open(usersFile)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, u := range users {
		pw := passwords[u.Name]
		if out, code := adm("auth", "test", u.Name, pw); code != 0 {
			t.Errorf("dovecot refused %s: %d\n%s", u.Name, code, out)
		}
		if _, err := db.Authenticate(ctx, u.Name, pw); err != nil {
			t.Errorf("we refused %s: %v", u.Name, err)
		}
		if _, code := adm("auth", "test", u.Name, pw+"x"); code != 77 {
			t.Errorf("dovecot accepted a wrong password for %s (%d)", u.Name, code)
		}
		if _, err := db.Authenticate(ctx, u.Name, pw+"x"); !errors.Is(err, ErrAuth) {
			t.Errorf("we accepted a wrong password for %s: %v", u.Name, err)
		}
		ours, _ := db.Lookup(u.Name)
		for field, want := range map[string]string{
			"uid": fmt.Sprint(ours.UID), "gid": fmt.Sprint(ours.GID), "home": ours.Home,
		} {
			out, code := adm("user", "-f", field, u.Name)
			if code != 0 || strings.TrimSpace(out) != want {
				t.Errorf("%s: dovecot's %s is %q (%d), ours %q", u.Name, field, strings.TrimSpace(out), code, want)
			}
		}
		// Dovecot expands variables in the mail location it returns.
		out, _ := adm("user", "-f", "mail", u.Name)
		if loc := strings.TrimSpace(out); loc != "" {
			got := (&User{Name: u.Name, Home: u.Home, Extra: map[string]string{"userdb_mail": loc}}).Maildir()
			if got != ours.Maildir() {
				t.Errorf("%s: dovecot's mail %q is Maildir %q, ours %q", u.Name, loc, got, ours.Maildir())
			}
		}
	}
	if _, code := adm("auth", "test", "nobody@example.org", "x"); code != 77 {
		t.Errorf("dovecot: unknown user gave %d", code)
	}
}
