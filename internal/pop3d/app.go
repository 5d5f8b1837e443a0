// Package pop3d is the pop3d program: POP3 (RFC 1939) access to one
// Maildir per login. It wires the protocol core (internal/pop3) to a
// connection from netio, passwords from userdb or checkpassword, and a
// Maildir-backed maildrop (maildir).
package pop3d

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"mailtk/internal/cmdutil"
	"mailtk/internal/exitcode"
	"mailtk/internal/login"
	"mailtk/internal/netio"
)

// NewApp returns the pop3d program: flags, configuration and serving.
func NewApp() *cli.App {
	flags := append(login.Flags("pop3d"), []cli.Flag{
		&cli.StringFlag{Name: "hostname", Usage: "`NAME` in the greeting (default: the system host name)"},
		&cli.DurationFlag{Name: "timeout", Value: DefaultTimeout, Usage: "close a logged-in session idle for `DURATION` (RFC 1939: at least 10m)"},
		&cli.DurationFlag{Name: "login-timeout", Value: DefaultLoginTimeout, Usage: "close a connection idle for `DURATION` before login"},
		&cli.DurationFlag{Name: "auth-penalty", Value: netio.DefaultPenaltyBase, Usage: "delay the answer to a failed login by `DURATION`, doubling per failure from the same address up to 16 times that"},
		&cli.BoolFlag{Name: "debug", Usage: "log debug messages"},
	}...)
	flags = append(flags, netio.Flags()...)
	return &cli.App{
		Name:      "pop3d",
		Usage:     "POP3 server for Maildir mailboxes",
		UsageText: "pop3d [--users FILE | --checkpassword PROG | --preauth --maildir DIR] [--listen ADDR]... [--tls-cert FILE --tls-key FILE [--tls-implicit]]",
		Description: `pop3d serves POP3 (RFC 1939, with CAPA, RESP-CODES, PIPELINING, TOP, UIDL, LAST,
AUTH PLAIN and STLS) on the connection on stdin/stdout (inetd, tcpserver, systemd
Accept=yes, ssh), on systemd's LISTEN_FDS sockets, or on the addresses of --listen.
The maildrop is the user's Maildir (new/ and cur/) as it was at login, in delivery order;
UIDL is the Maildir unique name, as qmail-pop3d gives it. At QUIT, deleted messages are
removed and retrieved ones move to cur/ with the S flag. One session per Maildir at a time
(a second one gets -ERR [IN-USE]). USER/PASS and AUTH PLAIN are refused on an unencrypted
connection from a non-loopback address. Started as root in stdin/stdout mode, pop3d takes
on the uid/gid of the user who logs in; it never serves a Maildir as root.

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
	log := netio.NewLogger(c.App.ErrWriter, "pop3d", c.Bool("debug"))
	opts := netio.OptionsFromCLI(c)
	opts.Logger = log

	host := cmdutil.Hostname(c.String("hostname"))
	if strings.ContainsFunc(host, func(r rune) bool { return r <= ' ' || r == 0x7f }) || len(host) > 253 {
		return exitcode.Errorf(exitcode.Usage, "--hostname %q is not a host name", host)
	}
	if c.Duration("timeout") < 10*time.Minute {
		log.Warn("--timeout is shorter than the 10 minutes RFC 1939 §3 asks for", "timeout", c.Duration("timeout"))
	}
	cfg := &Config{
		Hostname:     host,
		Penalty:      netio.NewPenalty(netio.PenaltyOptions{Base: c.Duration("auth-penalty"), Max: 16 * c.Duration("auth-penalty")}),
		Timeout:      c.Duration("timeout"),
		LoginTimeout: c.Duration("login-timeout"),
		Logger:       log,
	}

	sw, err := login.SwitchUser(opts, "pop3d")
	if err != nil {
		return err
	}
	cfg.Switch = sw
	mode, err := login.FromCLI(c, "pop3d")
	if err != nil {
		return err
	}
	cfg.Auth = mode.Auth
	if p := mode.Preauth; p != nil {
		cfg.Preauth = &Account{Name: p.Name, Maildir: p.Maildir}
	}

	err = netio.Serve(c.Context, opts, func(ctx context.Context, conn *netio.Conn) {
		ServeConn(ctx, cfg, conn)
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
