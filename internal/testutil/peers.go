// Package testutil holds what the toolkit's tests share: temporary
// Maildirs, socketpair connections, a runner for C:/S: transcripts like
// the seed course's dialogues, building the real binaries, and finding
// the real peer programs (Dovecot, swaks, qprint, ...) that tests run
// against.
package testutil

import (
	"os"
	"os/exec"
	"testing"
)

// RequirePeersEnv names the environment variable that turns a missing peer
// program from a skipped test into a failed one. CI sets it, so interop
// tests can never be skipped silently there.
const RequirePeersEnv = "MAILTK_REQUIRE_PEERS"

// Peer returns the path of the named peer program. When it is not
// installed the test is skipped, or fails if MAILTK_REQUIRE_PEERS is set.
// It also looks in /usr/sbin and /usr/lib/dovecot, where Debian installs
// daemons that are not on an ordinary user's PATH.
func Peer(t testing.TB, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/lib/dovecot"} {
		p := dir + "/" + name
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	if os.Getenv(RequirePeersEnv) != "" {
		t.Fatalf("peer program %q is not installed and %s is set", name, RequirePeersEnv)
	}
	t.Skipf("peer program %q is not installed (set %s to make this a failure)", name, RequirePeersEnv)
	return ""
}

// Python returns the path of a python3 interpreter, as a peer.
func Python(t testing.TB) string {
	t.Helper()
	return Peer(t, "python3")
}

// SystemPython returns Debian's /usr/bin/python3 when it exists, else any
// python3 on PATH. Use it for Python run by an unprivileged user (see
// Unprivileged): a per-user interpreter such as root's pyenv shim is not
// reachable by uid 65534.
func SystemPython(t testing.TB) string {
	t.Helper()
	if fi, err := os.Stat("/usr/bin/python3"); err == nil && !fi.IsDir() {
		return "/usr/bin/python3"
	}
	return Python(t)
}

// Require skips the test when ok is false, giving what as the missing
// prerequisite (root, /dev/shm, IPv6 on loopback, ...), or fails it when
// MAILTK_REQUIRE_PEERS is set, so that CI never skips a test silently.
func Require(t testing.TB, what string, ok bool) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv(RequirePeersEnv) != "" {
		t.Fatalf("%s is required and %s is set", what, RequirePeersEnv)
	}
	t.Skipf("%s is required (set %s to make this a failure)", what, RequirePeersEnv)
}

// Root requires the test to run as root (see Require).
func Root(t testing.TB) {
	t.Helper()
	Require(t, "running as root", os.Getuid() == 0)
}
