// Package smtpd is the smtpd program: it wires the SMTP protocol core
// (internal/smtp) to connections (internal/netio) and to delivery into
// Maildirs (maildir), commands, aliases and, later, the outgoing queue.
//
// See docs/man/smtpd.8.md for the postmaster's view.
package smtpd

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"mailtk/internal/cmdutil"
	"mailtk/internal/exitcode"
	"mailtk/internal/netio"
	"mailtk/internal/smtp"
)

// NewApp returns the smtpd command.
func NewApp() *cli.App {
	flags := []cli.Flag{
		&cli.StringFlag{Name: "hostname", Usage: "`NAME` in the greeting and Received: headers (default: the system host name)"},
		&cli.StringFlag{Name: "users", Usage: "users `FILE` (Dovecot passwd-file): local recipients, VRFY and AUTH"},
		&cli.StringFlag{Name: "maildir", Usage: "single-user mode: deliver every local recipient to the Maildir `DIR`"},
		&cli.StringFlag{Name: "aliases", Usage: "aliases(5) `FILE`: lists, forwards, EXPN"},
		&cli.BoolFlag{Name: "allow-pipes", Usage: "allow \"|command\" targets in the aliases file"},
		&cli.StringSliceFlag{Name: "local-domain", Usage: "accept mail for `DOMAIN` (repeatable; the host name, localhost and the users file's domains are always local)"},
		&cli.StringSliceFlag{Name: "relay-from", Usage: "clients in `CIDR` may relay (repeatable)"},
		&cli.BoolFlag{Name: "lmtp", Usage: "speak LMTP (RFC 2033): one reply per recipient after DATA"},
		&cli.StringFlag{Name: "deliver-cmd", Usage: "deliver each local recipient by running `CMD` (sh -c) with the message on stdin and qmail-command's environment"},
		&cli.DurationFlag{Name: "deliver-timeout", Value: 10 * time.Minute, Usage: "kill a delivery command after `DURATION`"},
		&cli.Int64Flag{Name: "max-size", Value: 35 << 20, Usage: "largest message in `BYTES` (advertised in SIZE)"},
		&cli.IntFlag{Name: "max-rcpt", Value: 100, Usage: "most recipients per message (`N`)"},
		&cli.StringFlag{Name: "vrfy", Value: "local", Usage: "who may use VRFY (`POLICY`): local (loopback, pipes, authenticated), on or off"},
		&cli.StringFlag{Name: "expn", Value: "local", Usage: "who may use EXPN (`POLICY`): local, on or off"},
		&cli.BoolFlag{Name: "auth", Value: true, Usage: "offer AUTH PLAIN LOGIN with --users or --checkpassword (over TLS or to local clients)"},
		&cli.StringFlag{Name: "checkpassword", Usage: "check AUTH passwords with the qmail checkpassword `PROGRAM` (and its arguments) instead of the users file"},
		&cli.BoolFlag{Name: "insecure-auth", Usage: "also offer AUTH on plaintext connections from remote clients"},
		&cli.DurationFlag{Name: "timeout", Value: 5 * time.Minute, Usage: "wait `DURATION` for each command (RFC 5321 §4.5.3.2)"},
		&cli.DurationFlag{Name: "greeting-timeout", Value: 30 * time.Second, Usage: "wait `DURATION` for the first valid command"},
		&cli.DurationFlag{Name: "data-timeout", Value: 10 * time.Minute, Usage: "wait `DURATION` for each block of message data"},
		&cli.StringFlag{Name: "run-as", Usage: "switch to `UID:GID` (the owner of virtual Maildirs) before serving; with --listen, after binding its sockets"},
		&cli.StringFlag{Name: "queue", Usage: "outgoing queue `DIR` for mail to relay (as sendmail's --queue; sendmail -q delivers it); without it relay recipients get 451"},
		&cli.StringFlag{Name: "spool-dir", Usage: "`DIR` for the temporary copy of a message that goes to several kinds of destinations (default: $TMPDIR)"},
		&cli.BoolFlag{Name: ChildFlag, Hidden: true},
	}
	flags = append(flags, netio.Flags()...)
	return &cli.App{
		Name:      "smtpd",
		Usage:     "receive mail by SMTP (RFC 5321) or LMTP and deliver it to Maildirs",
		UsageText: "smtpd [--users FILE | --maildir DIR | --deliver-cmd CMD] [--aliases FILE] [--listen ADDR] [options]",
		Description: "Serves one SMTP session on stdin/stdout (inetd, tcpserver, systemd Accept=yes), or the\n" +
			"sockets systemd passes (Accept=no), or its own --listen sockets. Never an open relay:\n" +
			"only authenticated clients, RELAYCLIENT and --relay-from networks may relay.\n\n" +
			"Environment: TCPREMOTEIP, TCPREMOTEPORT, TCPLOCALIP, TCPREMOTEHOST, RELAYCLIENT, CERTFILE, KEYFILE, LISTEN_FDS.\n\n" +
			"Exit status: 0 session or server ended normally; 64 usage error; 70 internal error;\n" +
			"71 cannot listen or use stdin/stdout; 77 refused to serve --listen or LISTEN_FDS sockets\n" +
			"as root without --run-as, or --run-as could not switch users; 78 configuration error.\n" +
			"See smtpd(8).",
		Flags:           flags,
		HideHelpCommand: true,
		Action:          run,
	}
}

func run(c *cli.Context) error {
	if c.Bool(ChildFlag) {
		return RunChild(c.App.Reader, c.Args().Slice())
	}
	if c.NArg() > 0 {
		return exitcode.Errorf(exitcode.Usage, "unexpected argument %q", c.Args().First())
	}
	log := slog.New(slog.NewTextHandler(netio.LogWriter(c.App.ErrWriter), nil))
	opts := netio.OptionsFromCLI(c)
	opts.Logger = log
	if spec := c.String("run-as"); spec != "" {
		var uid, gid int
		if _, err := fmt.Sscanf(spec, "%d:%d", &uid, &gid); err != nil {
			return exitcode.Errorf(exitcode.Usage, "--run-as wants UID:GID, not %q", spec)
		}
		drop := func() error {
			if err := netio.DropPrivileges(uid, gid); err != nil {
				return exitcode.New(exitcode.NoPerm, err)
			}
			return nil
		}
		// With --listen, bind first (port 25 needs root), then drop
		// before the first client is accepted; otherwise drop now.
		if len(opts.Listen) > 0 {
			opts.Bound = drop
		} else if err := drop(); err != nil {
			return err
		}
	}
	if opts.Multi() && os.Geteuid() == 0 && c.String("run-as") == "" {
		// One process serves every client here, so each one's SMTP,
		// AUTH and checkpassword input would be parsed as root. In
		// stdin/stdout mode root is fine: that process serves one
		// client and delivers through a child per recipient uid.
		return exitcode.Errorf(exitcode.NoPerm, "refusing to serve --listen or LISTEN_FDS sockets as root: give --run-as UID:GID, or run smtpd as the mail user (systemd User=, tcpserver -u -g)")
	}
	srv, err := newServer(c, log)
	if err != nil {
		return err
	}
	opts.Refuse = func(nc *netio.Conn) {
		io.WriteString(nc, "421 4.7.0 "+srv.cfg.Hostname+" Too many connections from your address, try again later\r\n")
	}
	return netio.Serve(c.Context, opts, srv.handle)
}

// server is one smtpd process's shared state.
type server struct {
	cfg     smtp.Config
	backend *Backend
	log     *slog.Logger
}

func newServer(c *cli.Context, log *slog.Logger) (*server, error) {
	host := cmdutil.Hostname(c.String("hostname"))
	if _, err := smtp.ParsePath("postmaster@" + host); err != nil {
		return nil, exitcode.Errorf(exitcode.Config, "--hostname %q is not a domain name", host)
	}
	vrfy, ok1 := smtp.ParsePolicy(c.String("vrfy"))
	expn, ok2 := smtp.ParsePolicy(c.String("expn"))
	if !ok1 || !ok2 {
		return nil, exitcode.Errorf(exitcode.Usage, "--vrfy and --expn take local, on or off")
	}
	b, err := NewBackend(Settings{
		Hostname:       host,
		Users:          c.String("users"),
		Maildir:        c.String("maildir"),
		Aliases:        c.String("aliases"),
		AllowPipes:     c.Bool("allow-pipes"),
		LocalDomains:   c.StringSlice("local-domain"),
		RelayFrom:      c.StringSlice("relay-from"),
		DeliverCmd:     c.String("deliver-cmd"),
		DeliverTimeout: c.Duration("deliver-timeout"),
		Checkpassword:  c.String("checkpassword"),
		SpoolDir:       c.String("spool-dir"),
		Queue:          c.String("queue"),
		Logger:         log,
	})
	if err != nil {
		return nil, err
	}
	cfg := smtp.Config{
		Hostname:        host,
		MaxSize:         c.Int64("max-size"),
		MaxRcpt:         c.Int("max-rcpt"),
		CommandTimeout:  c.Duration("timeout"),
		GreetingTimeout: c.Duration("greeting-timeout"),
		DataTimeout:     c.Duration("data-timeout"),
		LMTP:            c.Bool("lmtp"),
		VRFY:            vrfy,
		EXPN:            expn,
		Auth:            c.Bool("auth") && b.auth != nil,
		InsecureAuth:    c.Bool("insecure-auth"),
		Logger:          log,
	}
	if cfg.MaxSize <= 0 || cfg.MaxRcpt <= 0 {
		return nil, exitcode.Errorf(exitcode.Usage, "--max-size and --max-rcpt must be positive")
	}
	return &server{cfg: cfg, backend: b, log: log}, nil
}

// handle runs one SMTP session on c.
func (s *server) handle(ctx context.Context, c *netio.Conn) {
	peer := smtp.Peer{
		Host:        c.Peer.RemoteHost,
		Local:       c.Peer.Local(),
		RelayClient: c.Peer.RelayClient,
		TLS:         c.TLS(),
	}
	if ra := c.Peer.RemoteAddr; ra.IsValid() {
		peer.Addr, peer.Port = ra.Addr().Unmap().String(), int(ra.Port())
		peer.RelayClient = peer.RelayClient || s.backend.res.inRelayFrom(ra.Addr())
	}
	// On SIGTERM, idle sessions end with 421 4.3.2 at once and busy
	// ones after their current command; ctx ends them after --grace.
	conn := smtp.Conn{R: c, W: c, SetDeadline: c.SetDeadline, Draining: c.Draining()}
	if c.CanStartTLS() {
		conn.StartTLS = func() (io.Reader, io.Writer, string, error) {
			if err := c.StartTLS(nil); err != nil {
				return nil, nil, "", err
			}
			st, _ := c.TLSState()
			return c, c, tls.VersionName(st.Version) + " " + tls.CipherSuiteName(st.CipherSuite), nil
		}
	}
	if err := smtp.Serve(ctx, s.cfg, s.backend, peer, conn); err != nil {
		s.log.Debug("session ended", "err", err)
	}
}
