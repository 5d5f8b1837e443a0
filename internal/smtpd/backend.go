package smtpd

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"mailtk/internal/netio"
	"mailtk/internal/smtp"
	"mailtk/internal/userdb"
	"mailtk/maildir"
)

// Backend delivers accepted mail: to Maildirs, through --deliver-cmd or
// aliases pipes, or to the outgoing queue. It implements smtp.Backend and
// is shared by all sessions of a process.
type Backend struct {
	res        *resolver
	auth       userdb.Authenticator // the users file or checkpassword; nil: no AUTH
	penalty    *netio.Penalty
	log        *slog.Logger
	root       bool   // running as uid 0: deliver through child processes
	self       string // our executable, for the delivery child
	spoolDir   string
	cmdTimeout time.Duration
	dirs       sync.Map // Maildir path -> *maildir.Dir
}

var _ smtp.Backend = (*Backend)(nil)

// Mail accepts any syntactically valid sender; the envelope sender is
// only ever used as the Return-Path and for bounces.
func (b *Backend) Mail(ctx context.Context, st *smtp.State, from smtp.Path, p smtp.MailParams) error {
	return nil
}

// Rcpt accepts local recipients that exist and, for clients that may
// relay, remote ones.
func (b *Backend) Rcpt(ctx context.Context, st *smtp.State, env *smtp.Envelope, to smtp.Rcpt) error {
	ds, err := b.res.resolve(to.Path, st.MayRelay())
	if err != nil || !b.root {
		return err
	}
	// Started as root: refuse now a recipient that could only be
	// delivered as root, rather than after the message.
	for _, d := range ds {
		if d.kind == destMaildir || d.kind == destCommand || d.kind == destPipe {
			if _, err := b.ownerOf(d); err != nil {
				return err
			}
		}
	}
	return nil
}

// Verify answers VRFY from the users and aliases files.
func (b *Backend) Verify(ctx context.Context, st *smtp.State, arg string) ([]string, error) {
	return b.res.verify(arg)
}

// Expand answers EXPN from the aliases file.
func (b *Backend) Expand(ctx context.Context, st *smtp.State, arg string) ([]string, error) {
	return b.res.expand(arg)
}

// Auth checks a password against the users file, delaying failures with
// the per-address penalty.
func (b *Backend) Auth(ctx context.Context, st *smtp.State, user, pass string) error {
	if b.auth == nil {
		return smtp.ErrAuthFailed
	}
	ip, _ := netip.ParseAddr(st.Peer.Addr)
	_, err := b.auth.Authenticate(ctx, user, pass)
	switch {
	case err == nil:
		b.penalty.Success(ip)
		return nil
	case errors.Is(err, userdb.ErrTemp):
		return smtp.Errorf(454, "4.7.0", "Temporary authentication failure")
	}
	if !errors.Is(err, userdb.ErrAuth) {
		b.log.Error("authentication error", "session", st.ID, "err", err)
	}
	netio.Sleep(ctx, b.penalty.Fail(ip))
	b.log.Warn("authentication failed", "session", st.ID, "remote", st.Peer.Addr, "user", user)
	return smtp.ErrAuthFailed
}

// Data delivers the message to every recipient's destinations. The
// common cases stream straight into the Maildirs (one copy, hard-linked
// across recipients); mixed deliveries spool the message once first.
func (b *Backend) Data(ctx context.Context, st *smtp.State, env *smtp.Envelope, msg io.Reader) []error {
	errs := make([]error, len(env.Rcpts))
	dests := make([][]dest, len(env.Rcpts))
	ok := 0
	for i, rc := range env.Rcpts {
		dests[i], errs[i] = b.res.resolve(rc.Path, st.MayRelay())
		if errs[i] == nil {
			ok++
		}
	}
	if ok == 0 {
		return errs
	}
	var paths []string
	var owner *owner
	simple := true
	seen := map[string]bool{}
	single := "" // the one recipient a copy belongs to, for Delivered-To
	for i, ds := range dests {
		if errs[i] != nil {
			continue
		}
		if ok == 1 {
			single = env.Rcpts[i].Path.Addr()
		}
		// Check every owner before adding any path: a Maildir whose
		// owner is refused must not end up in the list, where the
		// child would write it as another recipient's uid.
		if b.root {
			if errs[i] = b.checkOwners(ds); errs[i] != nil {
				continue
			}
		}
		for _, d := range ds {
			if d.kind != destMaildir {
				simple = false
				continue
			}
			if seen[d.path] {
				continue
			}
			seen[d.path] = true
			paths = append(paths, d.path)
			if b.root {
				o, _ := b.ownerOf(d) // checked above
				if owner != nil && *owner != o {
					simple = false
				}
				owner = &o
			}
		}
	}
	if simple {
		err := b.deliverMaildirs(ctx, paths, owner, io.MultiReader(strings.NewReader(b.prefix(env, single)), msg))
		for i := range errs {
			if errs[i] == nil {
				errs[i] = err
			}
		}
		return errs
	}
	return b.deliverSpooled(ctx, env, dests, errs, msg, single)
}

// checkOwners reports the first Maildir destination of ds that may not
// be delivered (one that would run as root or an unknown user).
func (b *Backend) checkOwners(ds []dest) error {
	for _, d := range ds {
		if d.kind != destMaildir {
			continue
		}
		if _, err := b.ownerOf(d); err != nil {
			return err
		}
	}
	return nil
}

// prefix is the trace block of a stored copy: Return-Path (RFC 5321
// §4.4, added at final delivery), Delivered-To when the copy is one
// recipient's own, then our Received:.
//
// A copy shared by several recipients (hard links) carries no
// Delivered-To: naming one recipient would be wrong for the others, and
// naming all would disclose Bcc recipients. Copies that can travel on
// (commands, pipes, the queue) always carry their own Delivered-To, so
// loop detection works where loops can happen.
func (b *Backend) prefix(env *smtp.Envelope, single string) string {
	var sb strings.Builder
	sb.WriteString("Return-Path: <")
	sb.WriteString(env.From.Addr())
	sb.WriteString(">\n")
	if single != "" {
		sb.WriteString("Delivered-To: ")
		sb.WriteString(single)
		sb.WriteString("\n")
	}
	sb.WriteString(env.Received)
	return sb.String()
}

// dir returns the opened (created if missing) Maildir at path, cached.
func (b *Backend) dir(path string) (*maildir.Dir, error) {
	if d, ok := b.dirs.Load(path); ok {
		return d.(*maildir.Dir), nil
	}
	d, err := maildir.Create(path)
	if err != nil {
		return nil, err
	}
	b.dirs.Store(path, d)
	return d, nil
}

// deliverMaildirs stores r once in every Maildir of paths, durably.
func (b *Backend) deliverMaildirs(ctx context.Context, paths []string, o *owner, r io.Reader) error {
	if len(paths) == 0 {
		_, err := io.Copy(io.Discard, r)
		return err
	}
	if b.root {
		if o == nil {
			return errNoMailbox
		}
		return b.deliverChild(ctx, paths, *o, r)
	}
	dirs := make([]*maildir.Dir, len(paths))
	for i, p := range paths {
		d, err := b.dir(p)
		if err != nil {
			b.log.Error("cannot open Maildir", "path", p, "err", err)
			return storageError(err)
		}
		dirs[i] = d
	}
	var err error
	if len(dirs) == 1 {
		_, err = dirs[0].Deliver(r)
	} else {
		_, err = maildir.DeliverMany(r, dirs)
	}
	if err != nil {
		var se *smtp.Error
		if !errors.As(err, &se) {
			b.log.Error("delivery failed", "paths", paths, "err", err)
		}
		return storageError(err)
	}
	return nil
}

// storageError maps a delivery failure to its reply: a full disk or
// quota is 452 4.3.1 (RFC 3463), anything else 451 4.3.0.
func storageError(err error) error {
	var se *smtp.Error
	switch {
	case errors.As(err, &se):
		return err
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return smtp.Errorf(452, "4.3.1", "Insufficient system storage")
	}
	return smtp.Errorf(451, "4.3.0", "Local error in processing: delivery failed")
}

// deliverSpooled handles mixed deliveries: the message is spooled once to
// an unlinked temporary file, then each destination reads it.
func (b *Backend) deliverSpooled(ctx context.Context, env *smtp.Envelope, dests [][]dest, errs []error, msg io.Reader, single string) []error {
	f, err := os.CreateTemp(b.spoolDir, ".smtpd-spool-")
	if err != nil {
		b.log.Error("cannot create spool file", "dir", b.spoolDir, "err", err)
		return fill(errs, storageError(err))
	}
	os.Remove(f.Name()) // the open file is all we need; nothing stays behind
	defer f.Close()
	size, err := io.Copy(f, msg)
	if err != nil {
		return fill(errs, storageError(err))
	}
	body := func() io.Reader { return io.NewSectionReader(f, 0, size) }

	// Maildirs: one shared copy per owner.
	groups := map[owner][]string{}
	var order []owner
	who := map[string][]int{} // Maildir path -> recipients
	for i, ds := range dests {
		if errs[i] != nil {
			continue
		}
		if b.root {
			if errs[i] = b.checkOwners(ds); errs[i] != nil {
				continue
			}
		}
		for _, d := range ds {
			if d.kind != destMaildir {
				continue
			}
			if _, dup := who[d.path]; !dup {
				o := owner{-1, -1}
				if b.root {
					if o, err = b.ownerOf(d); err != nil {
						errs[i] = err
						continue
					}
				}
				if _, ok := groups[o]; !ok {
					order = append(order, o)
				}
				groups[o] = append(groups[o], d.path)
			}
			who[d.path] = append(who[d.path], i)
		}
	}
	for _, o := range order {
		paths := groups[o]
		err := b.deliverMaildirs(ctx, paths, &o, io.MultiReader(strings.NewReader(b.prefix(env, single)), body()))
		if err != nil {
			for _, p := range paths {
				for _, i := range who[p] {
					setErr(errs, i, err)
				}
			}
		}
	}
	b.deliverOthers(ctx, env, dests, errs, body)
	return errs
}

// deliverOthers runs the command and pipe destinations, one run per
// recipient, and hands remote ones to the queue.
func (b *Backend) deliverOthers(ctx context.Context, env *smtp.Envelope, dests [][]dest, errs []error, body func() io.Reader) {
	// Commands and pipes: one run per recipient and destination.
	var relay []string
	var relayIdx []int
	for i, ds := range dests {
		if errs[i] != nil {
			continue
		}
		for _, d := range ds {
			switch d.kind {
			case destCommand, destPipe:
				if err := b.runCommand(ctx, d, env, env.Rcpts[i].Path.Addr(), body()); err != nil {
					setErr(errs, i, err)
				}
			case destRelay:
				relay = append(relay, d.addr)
				relayIdx = append(relayIdx, i)
			}
		}
	}
	if len(relay) > 0 {
		// The queued copy carries Delivered-To for each local
		// recipient it was forwarded for, so a forwarding loop comes
		// back as a 554 5.4.6.
		var dt strings.Builder
		done := map[int]bool{}
		for _, i := range relayIdx {
			if !done[i] && env.Rcpts[i].Path.Domain != "" && b.res.isLocal(env.Rcpts[i].Path.Domain) {
				dt.WriteString("Delivered-To: " + env.Rcpts[i].Path.Addr() + "\n")
			}
			done[i] = true
		}
		id, err := b.res.queue.Enqueue(ctx, env, relay, io.MultiReader(strings.NewReader(dt.String()+env.Received), body()))
		if err != nil {
			b.log.Error("queue failed", "id", env.ID, "err", err)
			err = storageError(err)
			for _, i := range relayIdx {
				setErr(errs, i, err)
			}
		} else {
			b.log.Info("queued", "id", env.ID, "queue", id, "rcpts", len(relay))
		}
	}
}

func fill(errs []error, err error) []error {
	for i := range errs {
		if errs[i] == nil {
			errs[i] = err
		}
	}
	return errs
}

// setErr records err for recipient i, a temporary error winning over a
// permanent one (the client retries; a duplicate beats a loss).
func setErr(errs []error, i int, err error) {
	var old *smtp.Error
	if errs[i] == nil || errors.As(errs[i], &old) && !old.Temporary() {
		errs[i] = err
	}
}
