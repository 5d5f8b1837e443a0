package smtpd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"mailtk/internal/exitcode"
	"mailtk/internal/smtp"
	"mailtk/maildir"
)

// owner is the uid/gid a delivery runs as when smtpd runs as root.
type owner struct{ uid, gid int }

// ownerOf finds who a destination's delivery runs as: the users file's
// uid/gid, or for --maildir the owner of the directory. Root is refused:
// mail is never written as uid 0 (qmail's rule).
func (b *Backend) ownerOf(d dest) (owner, error) {
	o := owner{d.uid, d.gid}
	if o.uid < 0 && d.path != "" {
		fi, err := os.Stat(d.path)
		if err != nil {
			fi, err = os.Stat(filepath.Dir(d.path))
		}
		if err == nil {
			if st, ok := fi.Sys().(*syscall.Stat_t); ok {
				o = owner{int(st.Uid), int(st.Gid)}
			}
		}
	}
	if o.uid <= 0 || o.gid <= 0 {
		b.log.Error("refusing to deliver as root or an unknown user", "addr", d.addr, "path", d.path, "uid", o.uid, "gid", o.gid)
		return o, errNoMailbox
	}
	return o, nil
}

// ChildFlag is the hidden option that makes smtpd (or sendmail, which
// delivers through the same Backend) the delivery child.
const ChildFlag = "x-deliver-child"

// deliverChild runs "smtpd --x-deliver-child PATH..." as o, with the
// message on stdin, as qmail-lspawn runs qmail-local as the recipient.
func (b *Backend) deliverChild(ctx context.Context, paths []string, o owner, r io.Reader) error {
	cmd := exec.CommandContext(ctx, b.self, append([]string{"--" + ChildFlag}, paths...)...)
	cmd.Stdin = r
	var stderr bytes.Buffer
	cmd.Stderr = &limited{w: &stderr, n: 2048}
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(o.uid), Gid: uint32(o.gid), Groups: []uint32{}}}
	err := cmd.Run()
	if err == nil {
		return nil
	}
	b.log.Error("delivery child failed", "paths", paths, "uid", o.uid, "err", err, "stderr", strings.TrimSpace(stderr.String()))
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == exitcode.IOErr {
		return smtp.Errorf(452, "4.3.1", "Insufficient system storage")
	}
	return smtp.Errorf(451, "4.3.0", "Local error in processing: delivery failed")
}

// RunChild is the delivery child: it stores stdin once in every Maildir
// of paths. It refuses to run as root.
func RunChild(stdin io.Reader, paths []string) error {
	if os.Geteuid() == 0 || os.Getegid() == 0 {
		return exitcode.Errorf(exitcode.NoPerm, "delivery child refuses to run as root")
	}
	dirs := make([]*maildir.Dir, len(paths))
	for i, p := range paths {
		d, err := maildir.Create(p)
		if err != nil {
			return exitcode.New(exitcode.TempFail, err)
		}
		dirs[i] = d
	}
	_, err := maildir.DeliverMany(stdin, dirs)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return exitcode.New(exitcode.IOErr, err)
	}
	return exitcode.New(exitcode.TempFail, err)
}

// runCommand runs --deliver-cmd or an aliases pipe for one recipient with
// the message on stdin and qmail-command(8)'s environment. Exit 0 is
// delivered; 100 and sysexits 64-78 except 75 are permanent failures;
// 111, 75 and anything else (a signal, a crash) are temporary.
func (b *Backend) runCommand(ctx context.Context, d dest, env *smtp.Envelope, rcpt string, body io.Reader) error {
	ctx, cancel := context.WithTimeout(ctx, b.cmdTimeout)
	defer cancel()
	local, host, _ := strings.Cut(rcpt, "@")
	dt := "Delivered-To: " + rcpt + "\n"
	rp := "Return-Path: <" + env.From.Addr() + ">\n"
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", d.command)
	cmd.Env = append(os.Environ(),
		"SENDER="+env.From.Addr(), "RECIPIENT="+rcpt, "LOCAL="+local, "HOST="+host,
		"DTLINE="+dt, "RPLINE="+rp, "SMTPD_ID="+env.ID)
	if d.home != "" {
		cmd.Env = append(cmd.Env, "HOME="+d.home)
		if fi, err := os.Stat(d.home); err == nil && fi.IsDir() {
			cmd.Dir = d.home
		}
	}
	if b.root {
		o, err := b.ownerOf(d)
		if err != nil {
			return err
		}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(o.uid), Gid: uint32(o.gid), Groups: []uint32{}}}
	}
	// qmail-command gets the message as received, with our trace
	// header; Return-Path and Delivered-To are in RPLINE and DTLINE.
	cmd.Stdin = io.MultiReader(strings.NewReader(env.Received), body)
	var stderr bytes.Buffer
	cmd.Stdout = io.Discard
	cmd.Stderr = &limited{w: &stderr, n: 1024}
	err := cmd.Run()
	if err == nil {
		return nil
	}
	why := firstLine(stderr.String())
	code := -1
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	}
	b.log.Warn("delivery command failed", "id", env.ID, "rcpt", rcpt, "exit", code, "err", err, "stderr", why)
	if why == "" {
		why = fmt.Sprintf("delivery program exited with status %d", code)
	}
	if code == 100 || code >= 64 && code <= 78 && code != exitcode.TempFail {
		return smtp.Errorf(550, "5.3.0", "%s", why)
	}
	return smtp.Errorf(451, "4.3.0", "%s", why)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}

// limited keeps the first n bytes written to it and discards the rest.
type limited struct {
	w io.Writer
	n int
}

func (l *limited) Write(p []byte) (int, error) {
	if l.n > 0 {
		k := min(len(p), l.n)
		l.w.Write(p[:k])
		l.n -= k
	}
	return len(p), nil
}
