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
	"testing"

	"mailtk/internal/testutil"
)

// TestSeedTranscripts runs the seed course's dialogues against the built
// binary in stdio mode (a socketpair on fd 0/1, as inetd gives it).
func TestSeedTranscripts(t *testing.T) {
	tests := []struct {
		file  string
		args  []string
		env   []string
		inbox string // user that receives the message, "" for none
	}{
		{"seed-normal.txt", nil, nil, "jones"},
		{"seed-abort.txt", nil, nil, ""},
		// XYZ.COM is one of ours here: the route is ignored and Jones
		// gets the message.
		{"seed-relay1.txt", []string{"--local-domain", "xyz.com"}, []string{"TCPREMOTEIP=192.0.2.9", "RELAYCLIENT="}, "jones"},
		{"seed-relay2.txt", []string{"--hostname", "xyz.com", "--local-domain", "xyz.com"}, []string{"TCPREMOTEIP=192.0.2.10"}, "jones"},
		{"seed-verify.txt", nil, nil, "admin.mrc"},
		{"seed-vrfy-expn.txt", nil, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			w := newWorld(t)
			c, _, _ := w.stdio(append(w.args("--auth=false"), tt.args...), tt.env...)
			testutil.RunTranscriptFile(t, filepath.Join("..", "smtp", "testdata", tt.file), c, c)
			if tt.inbox != "" {
				msgs := w.messages(tt.inbox)
				if len(msgs) != 1 {
					t.Fatalf("%s has %d messages, want 1", tt.inbox, len(msgs))
				}
				if !strings.HasPrefix(msgs[0], "Return-Path: <") || !strings.Contains(msgs[0], "\nReceived: from ") {
					t.Errorf("trace headers missing:\n%s", msgs[0])
				}
			}
		})
	}
}

// TestTranscripts runs this package's own dialogues (testdata/*.txt)
// against the binary; the first line "# args: ..." and "# env: ..."
// configure it.
func TestTranscripts(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.txt")
	if len(files) == 0 {
		t.Fatal("no transcripts")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			w := newWorld(t)
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var args, env []string
			for _, l := range strings.Split(string(b), "\n") {
				if a, ok := strings.CutPrefix(l, "# args: "); ok {
					args = strings.Fields(a)
				}
				if e, ok := strings.CutPrefix(l, "# env: "); ok {
					env = strings.Fields(e)
				}
			}
			c, _, _ := w.stdio(append(w.args(), args...), env...)
			testutil.RunTranscript(t, testutil.ParseTranscript(string(b)), c, c, 20e9)
		})
	}
}

func TestConfigErrors(t *testing.T) {
	w := newWorld(t)
	tests := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--hostname", "foo.com"}, 78, "nothing to deliver to"},
		{[]string{"--users", "/nonexistent"}, 78, "nonexistent"},
		{[]string{"--maildir", "/tmp/x", "--relay-from", "bogus"}, 78, "--relay-from"},
		{[]string{"--maildir", "/tmp/x", "--hostname", "bad host"}, 78, "not a domain"},
		{[]string{"--maildir", "/tmp/x", "--vrfy", "maybe"}, 64, "--vrfy"},
		{[]string{"--maildir", "/tmp/x", "extra"}, 64, "unexpected argument"},
		{[]string{"--bogus"}, 64, "bogus"},
	}
	for _, tt := range tests {
		out, code := runBin(t, w.bin, tt.args...)
		if code != tt.code || !strings.Contains(out, tt.msg) {
			t.Errorf("%v: exit %d %q, want %d %q", tt.args, code, out, tt.code, tt.msg)
		}
	}
}

func runBin(t *testing.T, bin string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	testutil.Unprivileged(cmd)
	out, err := cmd.CombinedOutput()
	code := 0
	if err != nil {
		code = cmd.ProcessState.ExitCode()
	}
	return string(out), code
}

func TestHelpMatchesManPage(t *testing.T) {
	w := newWorld(t)
	out, code := runBin(t, w.bin, "--help")
	if code != 0 {
		t.Fatal(out)
	}
	man, err := os.ReadFile(filepath.Join(testutil.ModuleRoot(t), "docs", "man", "smtpd.8.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) > 0 && strings.HasPrefix(f[0], "--") && f[0] != "--help," {
			if !strings.Contains(string(man), "`"+f[0]) {
				t.Errorf("option %s is in --help but not in smtpd.8.md", f[0])
			}
		}
	}
}

// TestCheckpassword: AUTH through a qmail checkpassword program.
func TestCheckpassword(t *testing.T) {
	w := newWorld(t)
	cp := w.write("checkpw.sh", `#!/bin/sh
input=$(head -c 512 <&3 | tr '\0' '\n')
user=$(printf '%s\n' "$input" | sed -n 1p)
pass=$(printf '%s\n' "$input" | sed -n 2p)
[ "$user" = carol ] && [ "$pass" = "open sesame" ] || exit 1
USER=carol HOME=/nonexistent
export USER HOME
exec "$@"
`)
	os.Chmod(cp, 0o755)
	c, _, _ := w.stdio(w.args("--checkpassword", cp))
	s := newClient(t, c)
	s.expect("220 ")
	s.send("EHLO x\r\n")
	if r := s.expect("250-"); !strings.Contains(r, "AUTH PLAIN LOGIN") {
		t.Fatalf("AUTH not offered:\n%s", r)
	}
	s.send("AUTH PLAIN AGNhcm9sAHdyb25n\r\n") // carol / wrong
	s.expect("535 5.7.8")
	s.send("AUTH PLAIN AGNhcm9sAG9wZW4gc2VzYW1l\r\n") // carol / open sesame
	s.expect("235 2.7.0")
	s.send("QUIT\r\n")
	s.expect("221 ")
}

// TestRefusesRootListeners: as root, smtpd serves stdin/stdout (one
// client per process, delivering through a child per recipient uid) but
// refuses to parse many clients' input as root in listener modes unless
// --run-as gives it another user.
func TestRefusesRootListeners(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root")
	}
	w := newWorld(t)
	for _, tt := range []struct {
		name string
		args []string
		env  []string
	}{
		{"--listen", w.args("--listen", "127.0.0.1:0"), nil},
		// LISTEN_PID names another process: the refusal must come
		// first, before the sockets are even looked at.
		{"LISTEN_FDS", w.args(), []string{"LISTEN_FDS=1", "LISTEN_PID=1"}},
	} {
		cmd := exec.Command(w.bin, tt.args...) // as root, on purpose
		cmd.Env = append([]string{"PATH=/usr/bin:/bin"}, tt.env...)
		out, err := cmd.CombinedOutput()
		if code := testutil.ExitCode(err); code != 77 || !strings.Contains(string(out), "as root") {
			t.Errorf("%s: exit %d %q, want 77 and a refusal to run as root", tt.name, code, out)
		}
	}

	// With --run-as it serves, as that user.
	cmd := exec.Command(w.bin, w.args("--run-as", fmt.Sprintf("%d:%d", testutil.Nobody, testutil.Nobody), "--listen", "127.0.0.1:0")...)
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(pr)
	addr := ""
	for addr == "" && sc.Scan() {
		if _, rest, ok := strings.Cut(sc.Text(), "msg=listening addr="); ok {
			addr, _, _ = strings.Cut(rest, " ")
		}
	}
	go io.Copy(io.Discard, pr)
	if addr == "" {
		t.Fatal("smtpd --run-as did not start listening")
	}
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	c := newClient(t, nc)
	c.expect("220 ")
	c.send("QUIT\r\n")
	c.expect("221 ")
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("\t%d\t", testutil.Nobody); !strings.Contains(lineOf(string(st), "Uid:"), want) {
		t.Errorf("smtpd --run-as runs with %s", lineOf(string(st), "Uid:"))
	}
}

// lineOf returns the line of s that starts with prefix.
func lineOf(s, prefix string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}
