package sendmail

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"mailtk/internal/cmdutil"
	"mailtk/internal/exitcode"
	"mailtk/internal/queue"
	"mailtk/internal/smtpd"
)

// DefaultConfig is the settings file read when -C is not given.
const DefaultConfig = "/etc/mailtk/sendmail.conf"

// DefaultQueue is the queue directory when --queue is not given.
const DefaultQueue = "/var/spool/mailtk/queue"

// Main runs sendmail with a classic command line and returns its exit
// status: it normalises argv (see Normalize) and runs the app.
func Main(args []string) int {
	name := "sendmail"
	if len(args) > 0 {
		name = args[0]
	}
	if len(args) > 1 && args[1] == "--"+smtpd.ChildFlag {
		// Started by ourselves as root to deliver into a Maildir as its
		// owner (see smtpd.RunChild).
		return cmdutil.Main(smtpd.NewApp(), append([]string{"sendmail"}, args[1:]...))
	}
	norm, notes, err := Normalize(name, args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "sendmail: %v\n", err)
		return exitcode.Usage
	}
	app := NewApp()
	app.Metadata = map[string]any{"notes": notes}
	return cmdutil.Main(app, append([]string{name}, norm...))
}

// NewApp returns the sendmail application. Its flags are the long forms
// that Normalize produces from the classic ones.
func NewApp() *cli.App {
	return &cli.App{
		Name:      "sendmail",
		Usage:     "submit a message, run the queue, or list it",
		UsageText: "sendmail [-t] [-i] [-f SENDER] [-F NAME] [options] [--] [RECIPIENT...]\nsendmail -bp | -bs | -q[INTERVAL]\nmailq",
		Description: "sendmail reads a message on stdin, completes its header, delivers it to local\n" +
			"Maildirs and queues the rest for relay. Classic single-letter options are accepted\n" +
			"(-t -i -oi -f -r -F -bm -bs -bp -q -qINTERVAL -v -N -R -V -C, other -o... ignored).\n" +
			"Exit status: 0 accepted, 64 usage, 65 bad message, 67 unknown local user,\n" +
			"69 refused, 70 internal error, 74 input error, 75 temporary failure (nothing queued),\n" +
			"78 configuration. See sendmail(8).",
		HideHelpCommand: true,
		Flags:           flags(),
		Action:          run,
	}
}

func flags() []cli.Flag {
	return []cli.Flag{
		cmdutil.ConfigFlag(DefaultConfig),
		&cli.StringFlag{Name: "from", Usage: "envelope sender `ADDRESS` (-f, -r); \"<>\" for the null sender"},
		&cli.StringFlag{Name: "fullname", Usage: "sender's full `NAME` for a From: header sendmail adds (-F)"},
		&cli.BoolFlag{Name: "read-recipients", Usage: "take recipients from To, Cc and Bcc and remove Bcc (-t)"},
		&cli.BoolFlag{Name: "ignore-dots", Usage: "a line with a lone dot does not end the message (-i, -oi)"},
		&cli.StringFlag{Name: "mode", Usage: "`MODE`: bm (deliver, default), bs (SMTP on stdin/stdout), bp (list the queue), bv (verify recipients), bi (nothing)", Value: "bm"},
		&cli.BoolFlag{Name: "queue-run", Usage: "deliver the queue (-q)"},
		&cli.DurationFlag{Name: "queue-interval", Usage: "with --queue-run, keep running in the foreground, every `INTERVAL` and whenever mail is queued (-q30m)"},
		&cli.BoolFlag{Name: "verbose", Usage: "report what is done on stderr (-v)"},
		&cli.StringFlag{Name: "notify", Usage: "DSN NOTIFY for every recipient: `DSN` is NEVER or SUCCESS,FAILURE,DELAY (-N)"},
		&cli.StringFlag{Name: "ret", Usage: "DSN `RET`: FULL or HDRS (-R)"},
		&cli.StringFlag{Name: "envid", Usage: "DSN envelope `ID` (-V)"},
		&cli.StringFlag{Name: "body-type", Usage: "`TYPE`: 7BIT or 8BITMIME (-B)"},
		&cli.StringFlag{Name: "users", Usage: "users `FILE` (Dovecot passwd-file) naming local users and their Maildirs"},
		&cli.StringFlag{Name: "aliases", Usage: "aliases(5) `FILE`"},
		&cli.BoolFlag{Name: "allow-pipes", Usage: "allow \"|command\" targets in the aliases file"},
		&cli.StringFlag{Name: "hostname", Usage: "this host's `NAME` for headers, EHLO and bounces (default: the machine's name)"},
		&cli.StringFlag{Name: "queue", Usage: "queue `DIR`", Value: DefaultQueue},
		&cli.StringFlag{Name: "relay", Usage: "smarthost `HOST[:PORT]` for all non-local mail (465: implicit TLS); none: deliver to MX hosts"},
		&cli.BoolFlag{Name: "relay-insecure", Usage: "allow the smarthost connection without TLS"},
		&cli.BoolFlag{Name: "relay-tls", Usage: "speak TLS to the smarthost from the first byte (implied by port 465) instead of STARTTLS"},
		&cli.StringFlag{Name: "relay-auth", Usage: "`FILE` holding \"user password\" for the smarthost; must be readable only by its owner"},
		&cli.IntFlag{Name: "mx-port", Usage: "connect to MX hosts on `PORT` (tests and unusual networks)", Value: 25},
		&cli.StringSliceFlag{Name: "dns-server", Usage: "resolve MX hosts with `ADDR[:PORT]` instead of /etc/resolv.conf (repeatable)"},
		&cli.StringFlag{Name: "retry", Usage: "retry schedule, comma-separated `DURATIONS`; the last repeats", Value: "1m,5m,15m,30m,1h,2h,4h"},
		&cli.DurationFlag{Name: "expire", Usage: "bounce what is still queued after `DURATION` (RFC 5321 §4.5.4.1)", Value: 5 * 24 * time.Hour},
		&cli.DurationFlag{Name: "warn-after", Usage: "send a delay notice once after `DURATION` (0: never)", Value: 4 * time.Hour},
		&cli.Int64Flag{Name: "max-size", Usage: "refuse messages larger than `BYTES` (as smtpd's default)", Value: 35 << 20},
		&cli.DurationFlag{Name: "timeout", Usage: "allow `DURATION` for each SMTP command of a delivery (RFC 5321 §4.5.3.2; DATA blocks get 3/5 of it, the final reply twice it)", Value: 5 * time.Minute},
		&cli.BoolFlag{Name: "json", Usage: "with -bp, one JSON object per queue entry per line"},
	}
}

func run(c *cli.Context) error {
	log := logger(c)
	if c.Bool("verbose") {
		if notes, ok := c.App.Metadata["notes"].([]string); ok {
			for _, n := range notes {
				fmt.Fprintf(c.App.ErrWriter, "sendmail: %s\n", n)
			}
		}
	}
	switch {
	case c.Bool("queue-run"):
		return runQueue(c, log)
	}
	switch c.String("mode") {
	case "bp":
		return listMode(c)
	case "bm":
		return submit(c, log)
	case "bs":
		return smtpMode(c, log)
	case "bi":
		return nil // newaliases: the aliases file is read as it is, no database to rebuild
	case "bv":
		return verifyMode(c, log)
	}
	return cmdutil.UsageError("unknown mode %q", c.String("mode"))
}

func logger(c *cli.Context) *slog.Logger {
	level := slog.LevelWarn
	if c.Bool("verbose") {
		level = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(c.App.ErrWriter, &slog.HandlerOptions{Level: level}))
}

func openQueue(c *cli.Context) (*queue.Queue, error) {
	q, err := queue.Open(c.String("queue"), queue.Options{Hostname: hostname(c)})
	if err != nil {
		return nil, exitcode.New(exitcode.TempFail, err)
	}
	return q, nil
}

func hostname(c *cli.Context) string {
	return cmdutil.Hostname(c.String("hostname"))
}

func listMode(c *cli.Context) error {
	q, err := openQueue(c)
	if err != nil {
		return err
	}
	entries, err := q.List()
	if err != nil {
		return exitcode.New(exitcode.TempFail, err)
	}
	if c.Bool("json") {
		return listQueueJSON(c.App.Writer, entries)
	}
	listQueue(c.App.Writer, entries, time.Now())
	return nil
}

func runQueue(c *cli.Context, log *slog.Logger) error {
	q, err := openQueue(c)
	if err != nil {
		return err
	}
	tr, err := transport(c)
	if err != nil {
		return err
	}
	retry, err := parseRetry(c.String("retry"))
	if err != nil {
		return exitcode.New(exitcode.Config, err)
	}
	r := &queue.Runner{
		Queue: q, Transport: tr, Retry: retry,
		Expire: c.Duration("expire"), WarnAfter: c.Duration("warn-after"),
		Hostname: hostname(c), Logger: log,
	}
	ctx, stop := signal.NotifyContext(c.Context, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	interval := c.Duration("queue-interval")
	force := interval == 0 // "sendmail -q" by hand tries everything now
	for {
		if _, err := q.CleanTmp(36 * time.Hour); err != nil {
			log.Warn("cleaning the queue", "err", err)
		}
		st, err := r.RunOnce(ctx, force)
		if err != nil && ctx.Err() == nil {
			return exitcode.New(exitcode.TempFail, err)
		}
		if st.Tried > 0 {
			log.Info("queue run", "tried", st.Tried, "delivered", st.Delivered, "deferred", st.Deferred, "failed", st.Failed, "bounces", st.Bounces)
		}
		if interval == 0 || ctx.Err() != nil {
			return nil
		}
		force = false
		// Wake for new mail at once, for due retries at least every
		// minute, and for a full run every interval.
		q.Wait(ctx, min(interval, time.Minute))
	}
}

func parseRetry(s string) ([]time.Duration, error) {
	var out []time.Duration
	for _, f := range strings.Split(s, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(f))
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("retry: bad duration %q", f)
		}
		out = append(out, d)
	}
	return out, nil
}

// stdin returns the message input.
func stdin(c *cli.Context) io.Reader { return c.App.Reader }
