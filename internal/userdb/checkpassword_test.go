package userdb

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeCheckpassword is a checkpassword program in the interface's
// style: it reads fd 3, and on success sets up the environment and runs
// the rest of its arguments.
const fakeCheckpassword = `#!/bin/sh
input=$(tr '\0' '\n' <&3)
user=$(printf '%s\n' "$input" | sed -n 1p)
pass=$(printf '%s\n' "$input" | sed -n 2p)
printf '%s|%s\n' "$user" "$pass" >> "$CP_LOG"
case "$user" in
tempfail) echo "database down" >&2; exit 111 ;;
misuse) exit 2 ;;
noexec) exit 0 ;;
slow) sleep 60 ;;
esac
[ "$pass" = "good pass" ] || exit 1
HOME=/home/$user USER=$user SHELL=/bin/sh
export HOME USER SHELL
exec "$@"
`

func TestCheckpassword(t *testing.T) {
	dir := t.TempDir()
	prog := filepath.Join(dir, "checkpassword")
	if err := os.WriteFile(prog, []byte(fakeCheckpassword), 0o755); err != nil {
		t.Fatal(err)
	}
	logf := filepath.Join(dir, "log")
	cp := &Checkpassword{Command: []string{prog}, Env: []string{"CP_LOG=" + logf}, Timeout: 10 * time.Second}
	var _ Authenticator = cp
	ctx := context.Background()

	u, err := cp.Authenticate(ctx, "alice", "good pass")
	if err != nil {
		t.Fatal(err)
	}
	if u.Name != "alice" || u.Home != "/home/alice" || u.Shell != "/bin/sh" || u.UID != os.Getuid() || u.GID != os.Getgid() ||
		u.Maildir() != "/home/alice/Maildir" {
		t.Fatalf("%+v", u)
	}
	if b, _ := os.ReadFile(logf); string(b) != "alice|good pass\n" {
		t.Fatalf("checkpassword read %q", b)
	}

	tests := []struct {
		name, pw string
		want     error
		msg      string
	}{
		{"alice", "bad pass", ErrAuth, "rejected"},
		{"tempfail", "x", ErrTemp, "exited 111: database down"},
		{"misuse", "x", ErrTemp, "exited 2"},
		{"noexec", "x", ErrTemp, "without running the next program"},
		{"", "x", ErrAuth, ""},
		{"a\x00b", "x", ErrAuth, "NUL"},
		{"alice", strings.Repeat("p", 600), ErrAuth, "longer"},
	}
	for _, tt := range tests {
		_, err := cp.Authenticate(ctx, tt.name, tt.pw)
		if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("Authenticate(%q): %v, want %v %q", tt.name, err, tt.want, tt.msg)
		}
	}

	short := *cp
	short.Timeout = 200 * time.Millisecond
	if _, err := short.Authenticate(ctx, "slow", "x"); !errors.Is(err, ErrTemp) {
		t.Errorf("timeout: %v", err)
	}
	missing := &Checkpassword{Command: []string{filepath.Join(dir, "nope")}}
	if _, err := missing.Authenticate(ctx, "a", "b"); !errors.Is(err, ErrConfig) {
		t.Errorf("missing program: %v", err)
	}
	if _, err := (&Checkpassword{}).Authenticate(ctx, "a", "b"); !errors.Is(err, ErrConfig) {
		t.Errorf("no program: %v", err)
	}
}

func TestParseReport(t *testing.T) {
	u, err := parseReport("login", []byte("MAILTK_CHECKPASSWORD=1\x00UID=5\x00GID=6\x00USER=real\x00HOME=/h\x00SHELL=/bin/sh\x00"), "cp")
	if err != nil || u.Name != "real" || u.UID != 5 || u.GID != 6 || u.Home != "/h" {
		t.Fatalf("%+v %v", u, err)
	}
	u, err = parseReport("login", []byte("MAILTK_CHECKPASSWORD=1\x00UID=x\x00USER=bad name\x00HOME=relative\x00SHELL=a\nb\x00"), "cp")
	if err != nil || u.Name != "login" || u.UID != -1 || u.Home != "" || u.Shell != "" {
		t.Fatalf("%+v %v", u, err)
	}
	if _, err := parseReport("x", nil, "cp"); !errors.Is(err, ErrTemp) {
		t.Fatal(err)
	}
}
