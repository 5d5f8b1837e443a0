package userdb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Checkpassword checks logins with an external program speaking qmail's
// checkpassword interface (https://cr.yp.to/checkpwd/interface.html), as
// qmail-popup does: the program reads "name\0password\0timestamp\0" (at
// most 512 octets) from descriptor 3 and exits 1 for a bad login, 111 for
// a temporary failure, 2 when misused; on success it sets up the user's
// environment (USER, HOME, SHELL, and usually uid and gid when run as
// root) and runs the program named by the rest of its arguments.
//
// Here that next program is Reporter (a small /bin/sh script by default)
// which prints what checkpassword set up, NUL-separated, to its stdout:
// the marker line proves the login succeeded (a checkpassword that exits
// 0 without running it is broken, and counts as a temporary failure). The
// User returned has Name (USER if set, else the login name), UID and GID
// (from id(1) inside the environment checkpassword made), Home and Shell;
// its Maildir is HOME/Maildir, as qmail-pop3d's usual "Maildir" argument.
//
// The timestamp field is empty: it is the APOP/CRAM challenge, and the
// toolkit only passes plaintext logins through checkpassword.
type Checkpassword struct {
	// Command is the checkpassword program and its own arguments,
	// e.g. {"/usr/bin/checkpassword"} or {"/var/vpopmail/bin/vchkpw"}.
	Command []string
	// Reporter replaces the default next program; it must print
	// "MAILTK_CHECKPASSWORD=1\0" and then KEY=VALUE\0 pairs (UID, GID,
	// USER, HOME, SHELL).
	Reporter []string
	// Env is added to the program's environment (which is ours otherwise,
	// so TCPREMOTEIP and friends reach it, as they do under qmail).
	Env []string
	// Timeout bounds one check (default 30s).
	Timeout time.Duration
}

// DefaultReporter returns the next program checkpassword runs on
// success: a POSIX sh script printing the marker, id -u, id -g, USER,
// HOME and SHELL.
func DefaultReporter() []string {
	return []string{"/bin/sh", "-c",
		`printf 'MAILTK_CHECKPASSWORD=1\0UID=%s\0GID=%s\0USER=%s\0HOME=%s\0SHELL=%s\0' "$(id -u)" "$(id -g)" "$USER" "$HOME" "$SHELL"`}
}

const (
	checkpasswordMarker = "MAILTK_CHECKPASSWORD=1"
	checkpasswordMaxIn  = 512 // the interface's limit
	checkpasswordMaxOut = 64 << 10
)

// Authenticate runs the checkpassword program for name and password.
func (cp *Checkpassword) Authenticate(ctx context.Context, name, password string) (*User, error) {
	if len(cp.Command) == 0 || cp.Command[0] == "" {
		return nil, fmt.Errorf("%w: no checkpassword program configured", ErrConfig)
	}
	if name == "" || strings.ContainsRune(name, 0) || strings.ContainsRune(password, 0) {
		return nil, fmt.Errorf("%w: name or password holds NUL or is empty", ErrAuth)
	}
	input := name + "\x00" + password + "\x00\x00"
	if len(input) > checkpasswordMaxIn {
		return nil, fmt.Errorf("%w: name and password longer than checkpassword's %d octets", ErrAuth, checkpasswordMaxIn)
	}
	timeout := cp.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	next := cp.Reporter
	if len(next) == 0 {
		next = DefaultReporter()
	}
	args := append(append([]string{}, cp.Command[1:]...), next...)
	cmd := exec.CommandContext(ctx, cp.Command[0], args...)
	cmd.Env = append(os.Environ(), cp.Env...)
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTemp, err)
	}
	defer r.Close()
	cmd.ExtraFiles = []*os.File{r} // descriptor 3
	var stdout, stderr limitedBuffer
	stdout.max, stderr.max = checkpasswordMaxOut, 4096
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		w.Close()
		return nil, fmt.Errorf("%w: starting %s: %v", ErrConfig, cp.Command[0], err)
	}
	r.Close()
	// The pipe holds 512 octets without blocking; a program that does not
	// read is cut off by the timeout.
	w.WriteString(input)
	w.Close()
	err = cmd.Wait()
	if ctx.Err() != nil {
		return nil, fmt.Errorf("%w: %s did not answer within %v", ErrTemp, cp.Command[0], timeout)
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		switch code := ee.ExitCode(); code {
		case 1:
			return nil, fmt.Errorf("%w: rejected by %s", ErrAuth, cp.Command[0])
		case 111:
			return nil, fmt.Errorf("%w: %s exited 111%s", ErrTemp, cp.Command[0], stderr.firstLine())
		default:
			return nil, fmt.Errorf("%w: %s exited %d%s", ErrTemp, cp.Command[0], code, stderr.firstLine())
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrTemp, cp.Command[0], err)
	}
	return parseReport(name, stdout.Bytes(), cp.Command[0])
}

// parseReport turns the reporter's NUL-separated output into a User.
func parseReport(name string, out []byte, prog string) (*User, error) {
	fields := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
	if len(fields) == 0 || fields[0] != checkpasswordMarker {
		return nil, fmt.Errorf("%w: %s exited 0 without running the next program", ErrTemp, prog)
	}
	u := &User{Name: name, UID: -1, GID: -1}
	for _, f := range fields[1:] {
		k, v, _ := strings.Cut(f, "=")
		if hasControlChar(v) {
			continue
		}
		switch k {
		case "UID", "GID":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				continue
			}
			if k == "UID" {
				u.UID = n
			} else {
				u.GID = n
			}
		case "USER":
			if v != "" && checkName(v) == nil {
				u.Name = v
			}
		case "HOME":
			if strings.HasPrefix(v, "/") {
				u.Home = v
			}
		case "SHELL":
			u.Shell = v
		}
	}
	return u, nil
}

func hasControlChar(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}

// limitedBuffer keeps the first max octets written to it.
type limitedBuffer struct {
	bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (b *limitedBuffer) firstLine() string {
	l, _, _ := strings.Cut(strings.TrimSpace(b.String()), "\n")
	if l == "" || hasControlChar(l) {
		return ""
	}
	return ": " + l
}
