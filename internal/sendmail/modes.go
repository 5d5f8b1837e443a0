package sendmail

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/urfave/cli/v2"

	"mailtk/internal/exitcode"
	"mailtk/internal/smtp"
	"mailtk/internal/smtpd"
)

// localBackend is the Backend for -bs and -bv: smtpd's, routing with the
// users and aliases files and queueing the rest.
func localBackend(c *cli.Context, log *slog.Logger) (*smtpd.Backend, error) {
	if _, err := openQueue(c); err != nil {
		return nil, err
	}
	return smtpd.NewBackend(backendSettings(c, hostname(c), log))
}

// smtpMode (-bs) speaks SMTP on stdin/stdout through smtpd's protocol
// core, as a trusted local client: it may relay, and VRFY and EXPN
// answer. MUAs such as mutt's "sendmail -bs" mode and some MTAs' pipe
// transports use it.
func smtpMode(c *cli.Context, log *slog.Logger) error {
	b, err := localBackend(c, log)
	if err != nil {
		return err
	}
	cfg := smtp.Config{Hostname: hostname(c), Logger: log, Software: "mailtk sendmail"}
	peer := smtp.Peer{Local: true, RelayClient: true}
	conn := smtp.Conn{R: c.App.Reader, W: c.App.Writer}
	if err := smtp.Serve(c.Context, cfg, b, peer, conn); err != nil {
		log.Info("session ended", "err", err)
	}
	return nil
}

// verifyMode (-bv) reports, for each recipient, whether mail to it would
// be accepted and how, without sending anything.
func verifyMode(c *cli.Context, log *slog.Logger) error {
	if c.NArg() == 0 {
		return exitcode.Errorf(exitcode.Usage, "-bv needs recipients")
	}
	b, err := localBackend(c, log)
	if err != nil {
		return err
	}
	st := &smtp.State{ID: smtp.NewID(), Peer: smtp.Peer{Local: true, RelayClient: true}, AuthUser: localUser()}
	env := &smtp.Envelope{ID: st.ID}
	var errs []error
	for _, a := range c.Args().Slice() {
		if !strings.Contains(a, "@") {
			a += "@" + hostname(c)
		}
		to, err := smtp.ParsePath(a)
		if err == nil {
			err = b.Rcpt(c.Context, st, env, smtp.Rcpt{Path: to})
		}
		if err != nil {
			err = replyError(a, err)
			errs = append(errs, err)
			fmt.Fprintf(c.App.Writer, "%s... undeliverable: %v\n", a, err)
			continue
		}
		fmt.Fprintf(c.App.Writer, "%s... deliverable\n", a)
	}
	if len(errs) > 0 {
		return exitcode.New(exitcode.Of(worst(errs)), fmt.Errorf("%d of %d recipients undeliverable", len(errs), c.NArg()))
	}
	return nil
}
