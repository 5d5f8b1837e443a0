package imapd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"mailtk/internal/exitcode"
	"mailtk/internal/netio"
)

// DefaultAppendLimit is the largest message APPEND accepts by default.
const DefaultAppendLimit = 64 << 20

// NewApp returns the imapd program: flags, configuration and serving.
func NewApp() *cli.App {
	flags := []cli.Flag{
		&cli.StringFlag{Name: "users", Usage: "check passwords against the passwd-file `FILE` (user:{SCHEME}hash:uid:gid:gecos:home:shell:extra)"},
		&cli.StringFlag{Name: "checkpassword", Usage: "check passwords with the qmail checkpassword `PROGRAM` (with its arguments, space-separated)"},
		&cli.BoolFlag{Name: "preauth", Usage: "start logged in (greeting * PREAUTH) on the Maildir of --maildir, as the user running imapd; for ssh tunnels"},
		&cli.StringFlag{Name: "maildir", Usage: "with --preauth: the Maildir `DIR` to serve"},
		&cli.Int64Flag{Name: "append-limit", Value: DefaultAppendLimit, Usage: "refuse APPEND of messages over `BYTES` (APPENDLIMIT)"},
		&cli.DurationFlag{Name: "idle-poll", Value: 30 * time.Second, Usage: "during IDLE, rescan the mailbox every `DURATION` besides inotify (1s when inotify is unavailable)"},
		&cli.BoolFlag{Name: "debug", Usage: "log debug messages"},
	}
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
	level := slog.LevelInfo
	if c.Bool("debug") {
		level = slog.LevelDebug
	}
	// Under inetd stderr is the client's socket: log to syslog instead.
	log := slog.New(slog.NewTextHandler(netio.LogWriter(c.App.ErrWriter), &slog.HandlerOptions{Level: level})).With("prog", "imapd")
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
	multi := opts.Multi()
	if multi && os.Geteuid() == 0 {
		return exitcode.Errorf(exitcode.Config, "refusing to serve mailboxes of several users as root with --listen or LISTEN_FDS: run imapd as the mail user (systemd User=, setcap cap_net_bind_service) or one process per connection under tcpserver/inetd")
	}
	if !multi {
		// One process per connection: take on the user's identity.
		cfg.Switch = func(uid, gid int) error {
			if os.Geteuid() == 0 {
				return netio.DropPrivileges(uid, gid)
			}
			return nil
		}
	}

	var preauth *Account
	modes := 0
	for _, f := range []string{"users", "checkpassword", "preauth"} {
		if c.IsSet(f) {
			modes++
		}
	}
	if modes != 1 {
		return exitcode.Errorf(exitcode.Usage, "give exactly one of --users, --checkpassword, --preauth")
	}
	switch {
	case c.Bool("preauth"):
		dir := c.String("maildir")
		if dir == "" {
			return exitcode.Errorf(exitcode.Usage, "--preauth needs --maildir DIR")
		}
		if os.Geteuid() == 0 {
			return exitcode.Errorf(exitcode.Config, "refusing to serve a Maildir as root with --preauth: run imapd as the mailbox owner")
		}
		abs, err := filepath.Abs(dir)
		if err != nil {
			return exitcode.New(exitcode.Config, err)
		}
		preauth = &Account{Name: os.Getenv("USER"), Maildir: abs, UID: os.Getuid(), GID: os.Getgid()}
	case c.IsSet("users"):
		auth, err := usersAuth(c.String("users"))
		if err != nil {
			return exitcode.New(exitcode.Config, err)
		}
		cfg.Auth = auth
	default:
		argv := strings.Fields(c.String("checkpassword"))
		if len(argv) == 0 {
			return exitcode.Errorf(exitcode.Usage, "--checkpassword needs a program")
		}
		cfg.Auth = checkpasswordAuth(argv)
	}

	err := netio.Serve(c.Context, opts, func(ctx context.Context, conn *netio.Conn) {
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
