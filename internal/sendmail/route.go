package sendmail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"mailtk/internal/exitcode"
	"mailtk/internal/queue"
	"mailtk/internal/smtp"
	"mailtk/internal/smtpd"
)

// router decides, per recipient, between local delivery and the queue.
//
// With a users or aliases file, sendmail routes exactly as smtpd does, by
// driving smtpd's Backend as an authenticated local client: local users
// get the message in their Maildirs before sendmail exits, aliases
// expand, and everything else goes to the queue. Without either file,
// sendmail is a null client: every recipient is queued for the relay.
type router struct {
	hostname string
	q        *queue.Queue
	backend  *smtpd.Backend // nil for a null client
}

func newRouter(c *cli.Context, hostname string, log *slog.Logger) (*router, error) {
	q, err := openQueue(c)
	if err != nil {
		return nil, err
	}
	r := &router{hostname: hostname, q: q}
	if c.String("users") != "" || c.String("aliases") != "" {
		r.backend, err = smtpd.NewBackend(backendSettings(c, hostname, log))
		if err != nil {
			return nil, err
		}
	}
	return r, nil
}

func backendSettings(c *cli.Context, hostname string, log *slog.Logger) smtpd.Settings {
	return smtpd.Settings{
		Hostname:   hostname,
		Users:      c.String("users"),
		Aliases:    c.String("aliases"),
		AllowPipes: c.Bool("allow-pipes"),
		Queue:      c.String("queue"),
		Logger:     log,
	}
}

// route delivers the local recipients of env and queues the others. The
// message is read once. Every recipient is checked before anything is
// delivered, so an unknown local user (exit 67) means nothing was sent.
func (r *router) route(ctx context.Context, log *slog.Logger, env queue.Envelope, p *Prepared) error {
	if r.backend == nil {
		id, err := r.q.Enqueue(env, p.Message())
		if err != nil {
			return queueError(err)
		}
		log.Info("queued", "id", id, "from", env.From, "rcpts", len(env.Recipients))
		return nil
	}
	st := &smtp.State{
		ID:       smtp.NewID(),
		Peer:     smtp.Peer{Local: true, RelayClient: true},
		AuthUser: localUser(),
	}
	from, err := smtp.ParsePath(env.From)
	if env.From == "" {
		from, err = smtp.Path{Null: true}, nil
	}
	if err != nil {
		return exitcode.Errorf(exitcode.DataErr, "sender %q: %v", env.From, err)
	}
	senv := &smtp.Envelope{
		ID:   st.ID,
		From: from,
		MailParams: smtp.MailParams{
			Ret:   env.RET,
			EnvID: smtp.EncodeXtext(env.EnvID),
			Body:  env.Body,
		},
		Received: fmt.Sprintf("Received: (from userid %d)\n\tby %s (mailtk sendmail) id %s;\n\t%s\n",
			os.Getuid(), r.hostname, st.ID, time.Now().Format(time.RFC1123Z)),
	}
	if err := r.backend.Mail(ctx, st, from, senv.MailParams); err != nil {
		return replyError(env.From, err)
	}
	var errs []error
	for _, rc := range env.Recipients {
		to, err := smtp.ParsePath(rc.Addr)
		if err != nil {
			errs = append(errs, exitcode.Errorf(exitcode.DataErr, "%s: %v", rc.Addr, err))
			continue
		}
		rcpt := smtp.Rcpt{Path: to, Params: smtp.RcptParams{Notify: rc.Notify}}
		if err := r.backend.Rcpt(ctx, st, senv, rcpt); err != nil {
			errs = append(errs, replyError(rc.Addr, err))
			continue
		}
		senv.Rcpts = append(senv.Rcpts, rcpt)
	}
	if len(errs) > 0 {
		return worst(errs)
	}
	for i, err := range r.backend.Data(ctx, st, senv, p.Message()) {
		if err != nil {
			errs = append(errs, replyError(senv.Rcpts[i].Path.Addr(), err))
		}
	}
	if len(errs) > 0 {
		return worst(errs)
	}
	log.Info("delivered", "id", st.ID, "from", env.From, "rcpts", len(senv.Rcpts))
	return nil
}

// replyError turns a Backend reply into sendmail's exit status: unknown
// local user 67, other permanent refusals 69, temporary ones 75. Errors
// from reading the message (a line too long) keep their own status.
func replyError(addr string, err error) error {
	var se *smtp.Error
	if !errors.As(err, &se) {
		if exitcode.Of(err) != exitcode.Software {
			return err
		}
		return exitcode.Errorf(exitcode.TempFail, "%s: %v", addr, err)
	}
	code := exitcode.Unavailable
	switch {
	case se.Code/100 == 4:
		code = exitcode.TempFail
	case se.Enhanced == "5.1.1":
		code = exitcode.NoUser
	}
	return exitcode.Errorf(code, "%s: %d %s %s", addr, se.Code, se.Enhanced, se.Text)
}

// worst joins errs, exiting with the most serious status: a data error
// before a permanent refusal before a temporary one.
func worst(errs []error) error {
	rank := func(code int) int {
		switch code {
		case exitcode.DataErr:
			return 4
		case exitcode.NoUser, exitcode.Unavailable:
			return 3
		case exitcode.TempFail:
			return 1
		}
		return 2
	}
	best := exitcode.Of(errs[0])
	for _, e := range errs[1:] {
		if c := exitcode.Of(e); rank(c) > rank(best) {
			best = c
		}
	}
	return exitcode.New(best, errors.Join(errs...))
}

func queueError(err error) error {
	if c := exitcode.Of(err); c != exitcode.Software {
		return err // a data error from the message itself
	}
	return exitcode.New(exitcode.TempFail, err)
}

func localUser() string {
	for _, k := range []string{"USER", "LOGNAME"} {
		if u := os.Getenv(k); u != "" && !strings.ContainsAny(u, "\r\n") {
			return u
		}
	}
	return fmt.Sprintf("uid%d", os.Getuid())
}
