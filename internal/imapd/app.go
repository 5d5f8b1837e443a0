package imapd

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"mailtk/internal/exitcode"
	"mailtk/internal/login"
	"mailtk/internal/netio"
)

// DefaultAppendLimit is the largest message APPEND accepts by default.
const DefaultAppendLimit = 64 << 20

// NewApp returns the imapd program: flags, configuration and serving.
func NewApp() *cli.App {
	flags := append(login.Flags("imapd"), []cli.Flag{
		&cli.Int64Flag{Name: "append-limit", Value: DefaultAppendLimit, Usage: "refuse APPEND of messages over `BYTES` (APPENDLIMIT)"},
		&cli.DurationFlag{Name: "idle-poll", Value: 30 * time.Second, Usage: "during IDLE, rescan the mailbox every `DURATION` besides inotify (1s when inotify is unavailable)"},
		&cli.BoolFlag{Name: "debug", Usage: "log debug messages"},
	}...)
	flags = append(flags, netio.Flags()...)
	return &cli.App{
		Name:      "imapd",
		Usage:     "IMAP4rev1/IMAP4rev2 server for Maildir++ mailboxes",
		UsageText: "imapd [--users FILE | --checkpassword PROG | --preauth --maildir DIR] [--listen ADDR]... [--tls-cert FILE --tls-key FILE [--tls-implicit]]",
		Description: `imapd serves IMAP (RFC 3501, RFC 9051) on the connection on stdin/stdout (inetd, tcpserver,
systemd Accept=yes, ssh), on systemd's LISTEN_FDS sockets, or on the addresses of --listen.
INBOX is the user's Maildir, other mailboxes are its Maildir++ folders (delimiter "."); UIDs
and keywords are kept in Dovecot's dovecot-uidlist and dovecot-keywords, so Dovecot and imapd
can serve the same Maildir. Plaintext LOGIN is refused (LOGINDISABLED) on an unencrypted
connection from a non-loopback address. Started as root in stdin/stdout mode, imapd takes on
the uid/gid of the user who logs in; it never serves a Maildir as root.

Exit status: 0 success, 64 usage error, 69 service unavailable, 70 internal error,
71 OS error (cannot listen), 78 configuration error.`,
		HideHelpCommand: true,
		Flags:           flags,
		Action:          run,
	}
}

func run(c *cli.Context) error {
	if c.NArg() > 0 {
		return exitcode.Errorf(exitcode.Usage, "unexpected argument %q", c.Args().First())
	}
	// Under inetd stderr is the client's socket: the log goes to syslog.
	log := netio.NewLogger(c.App.ErrWriter, "imapd", c.Bool("debug"))
	opts := netio.OptionsFromCLI(c)
	opts.Logger = log
	limit := c.Int64("append-limit")
	if limit <= 0 || limit > 1<<32-1 {
		return exitcode.Errorf(exitcode.Usage, "--append-limit must be between 1 and 4294967295")
	}
	cfg := &Config{
		Penalty:      netio.NewPenalty(netio.PenaltyOptions{}),
		AppendLimit:  uint32(limit),
		Logger:       log,
		PollInterval: c.Duration("idle-poll"),
		Notifier:     NewNotifier(),
	}
	defer cfg.Notifier.Close()
	sw, err := login.SwitchUser(opts, "imapd")
	if err != nil {
		return err
	}
	cfg.Switch = sw
	mode, err := login.FromCLI(c, "imapd")
	if err != nil {
		return err
	}
	var preauth *Account
	if p := mode.Preauth; p != nil {
		preauth = &Account{Name: p.Name, Maildir: p.Maildir, UID: p.UID, GID: p.GID}
	} else {
		cfg.Auth = fromUserdb(mode.Auth)
	}

	err = netio.Serve(c.Context, opts, func(ctx context.Context, conn *netio.Conn) {
		ServeConn(ctx, cfg, conn, preauth)
	})
	if err != nil {
		var ee *exitcode.Error
		if errors.As(err, &ee) {
			return err
		}
		return exitcode.New(exitcode.Unavailable, fmt.Errorf("serve: %w", err))
	}
	return nil
}
