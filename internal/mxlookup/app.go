// Package mxlookup is the mxlookup(1) program: MX resolution as a mail
// client does it (package mx), for the domains on the command line or
// one per line on stdin, in text or JSON.
package mxlookup

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"mailtk/internal/exitcode"
	"mailtk/internal/mx"
)

// Bounds of bulk mode.
const (
	DefaultJobs   = 100    // -j: queries in flight
	maxJobs       = 10000  // more would only exhaust sockets
	windowPerJob  = 16     // results held for reordering, per job
	maxLine       = 1024   // an input line (a domain is at most 253 octets; U-labels take more)
	maxArgServers = 3 * 16 // --server and @ADDR together
)

const description = `mxlookup answers "where does mail for this domain go?" the way RFC 5321 §5.1 tells an
SMTP client to: MX records sorted by preference with equal preferences shuffled, each
exchanger's IPv4 and IPv6 addresses, the implicit MX (the domain itself) when there is no MX
record, and the null MX of RFC 7505 ("MX 0 .") reported as a domain that accepts no mail.
Internationalized domains are converted to punycode. Without DOMAIN arguments it reads one
domain per line from stdin (blank lines and lines starting with # are skipped) and keeps
-j queries in flight, printing results in input order.

Servers come from --server or @ADDR arguments, else from the nameserver lines of
--resolv-conf (its search, domain and ndots settings are ignored: mail domains are absolute).

Output, one line per exchanger:  DOMAIN PREF HOST [ADDR...]
       one line per TLSA record:  DOMAIN tlsa HOST USAGE SELECTOR MATCHING-TYPE DATA
    or one line when not usable:  DOMAIN STATUS
STATUS is nullmx, nxdomain, nodata (no MX and no address), noaddress (no exchanger has an
address), tempfail or invalid; the reason and any standards violation (an MX target that is
a CNAME or an IP address, ...) are printed on stderr unless --quiet. --json prints one
object per domain per line instead.

Exit status: 0 every domain has mail exchangers; 69 some domain has no mail service
(nxdomain, nullmx, nodata, noaddress); 65 some input is not a domain name; 75 some lookup
failed temporarily (SERVFAIL, REFUSED, timeout), so the caller should retry; 64 usage error;
74 stdin unreadable; 78 configuration error. When several apply, 75 wins over 65, and 65 over 69.`

var flags = []cli.Flag{
	&cli.StringSliceFlag{Name: "server", Aliases: []string{"s"}, Usage: "ask the DNS server at `ADDR[:PORT]` (repeatable; default: resolv.conf)"},
	&cli.StringFlag{Name: "resolv-conf", Value: mx.DefaultResolvConf, Usage: "read nameservers, timeout and attempts from `FILE`"},
	&cli.DurationFlag{Name: "timeout", Usage: "wait `DURATION` for each answer before retrying", DefaultText: "resolv.conf timeout, else 5s"},
	&cli.IntFlag{Name: "retries", Usage: "retry an unanswered query `N` times over the servers", DefaultText: "resolv.conf attempts - 1, else 1"},
	&cli.DurationFlag{Name: "max-time", Usage: "give up on a domain after `DURATION` in all", DefaultText: "3 × timeout × tries × servers"},
	&cli.IntFlag{Name: "jobs", Aliases: []string{"j"}, Value: DefaultJobs, Usage: "keep `N` queries in flight"},
	&cli.BoolFlag{Name: "no-addrs", Usage: "do not look up the exchangers' addresses"},
	&cli.BoolFlag{Name: "tlsa", Usage: "also fetch the DANE TLSA records _25._tcp.HOST of each exchanger (RFC 7672)"},
	&cli.BoolFlag{Name: "sorted", Usage: "order equal preferences by name instead of shuffling them"},
	&cli.BoolFlag{Name: "json", Usage: "print one JSON object per domain per line"},
	&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print no reasons or warnings on stderr"},
}

// NewApp returns the mxlookup program.
func NewApp() *cli.App {
	return &cli.App{
		Name:            "mxlookup",
		Usage:           "find the mail exchangers of domains as an SMTP client does",
		UsageText:       "mxlookup [options] [@SERVER...] [DOMAIN...]\n   mxlookup [options] < domains.txt",
		Description:     description,
		HideHelpCommand: true,
		Flags:           flags,
		Action:          run,
	}
}

func run(c *cli.Context) error {
	var servers, domains []string
	servers = append(servers, c.StringSlice("server")...)
	for _, a := range c.Args().Slice() {
		if len(a) > 1 && a[0] == '-' {
			// urfave/cli stops at the first argument; a domain never
			// starts with '-' (RFC 5321 §4.1.2), so this is a misplaced option.
			return exitcode.Errorf(exitcode.Usage, "option %q after a domain or server: options come first", a)
		}
		if s, ok := strings.CutPrefix(a, "@"); ok {
			servers = append(servers, s)
		} else {
			domains = append(domains, a)
		}
	}
	if len(servers) > maxArgServers {
		return exitcode.Errorf(exitcode.Usage, "too many servers (%d)", len(servers))
	}
	jobs := c.Int("jobs")
	if jobs < 1 || jobs > maxJobs {
		return exitcode.Errorf(exitcode.Usage, "--jobs must be between 1 and %d", maxJobs)
	}
	if c.Int("retries") < 0 || c.Int("retries") > 20 {
		return exitcode.Errorf(exitcode.Usage, "--retries must be between 0 and 20")
	}
	if c.Duration("timeout") < 0 || c.Duration("max-time") < 0 {
		return exitcode.Errorf(exitcode.Usage, "durations must not be negative")
	}
	opts := mx.Options{
		Servers:     servers,
		Timeout:     c.Duration("timeout"),
		MaxTime:     c.Duration("max-time"),
		MaxInFlight: jobs,
		NoAddrs:     c.Bool("no-addrs"),
		TLSA:        c.Bool("tlsa"),
		Sorted:      c.Bool("sorted"),
	}
	if c.IsSet("resolv-conf") {
		opts.ResolvConf = c.String("resolv-conf")
	}
	if c.IsSet("retries") {
		opts.Attempts = c.Int("retries") + 1
	}
	for _, s := range servers {
		if _, err := mx.ServerAddr(s); err != nil {
			return exitcode.New(exitcode.Usage, err)
		}
	}
	r, err := mx.NewResolver(opts)
	if err != nil {
		return exitcode.New(exitcode.Config, err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	out := newPrinter(c.App.Writer, c.App.ErrWriter, c.Bool("json"), c.Bool("quiet"))
	if len(domains) > 0 {
		err = runList(ctx, domains, jobs, r.Lookup, out)
	} else {
		err = runBulk(ctx, c.App.Reader, jobs, jobs*windowPerJob, r.Lookup, out)
	}
	if ferr := out.flush(); err == nil {
		err = ferr
	}
	if err != nil {
		if errors.Is(err, syscall.EPIPE) {
			return exitcode.New(exitcode.IOErr, errors.New("output closed"))
		}
		return err
	}
	if ctx.Err() != nil {
		return exitcode.Errorf(exitcode.TempFail, "interrupted")
	}
	return out.status()
}
