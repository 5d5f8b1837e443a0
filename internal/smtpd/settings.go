package smtpd

import (
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"time"

	"mailtk/internal/aliases"
	"mailtk/internal/exitcode"
	"mailtk/internal/netio"
	"mailtk/internal/queue"
	"mailtk/internal/smtp"
	"mailtk/internal/userdb"
)

// Settings configure a Backend. smtpd fills them from its flags and
// sendmail from its own, so that mail submitted either way is routed and
// delivered by the same code.
type Settings struct {
	Hostname       string   // the primary local domain, for Received: and bare names
	Users          string   // users file (Dovecot passwd-file)
	Maildir        string   // single-user mode: every local recipient goes here
	Aliases        string   // aliases(5) file
	AllowPipes     bool     // allow "|command" alias targets
	LocalDomains   []string // more local domains (the first becomes the primary)
	RelayFrom      []string // CIDRs whose clients may relay
	DeliverCmd     string   // deliver each local recipient through this command
	DeliverTimeout time.Duration
	Checkpassword  string // qmail checkpassword program and arguments, for AUTH
	SpoolDir       string // temporary copies; default $TMPDIR
	Queue          string // outgoing queue directory; "" refuses relay with 451
	Logger         *slog.Logger
}

// NewBackend checks s and returns a Backend ready to deliver. Errors are
// configuration errors (exit 78) naming the setting.
func NewBackend(s Settings) (*Backend, error) {
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	if s.DeliverTimeout == 0 {
		s.DeliverTimeout = 10 * time.Minute
	}
	res := &resolver{
		maildir:    s.Maildir,
		deliverCmd: s.DeliverCmd,
		allowPipes: s.AllowPipes,
		domains:    map[string]bool{strings.ToLower(s.Hostname): true, "localhost": true},
		primary:    strings.ToLower(s.Hostname),
	}
	for i, d := range s.LocalDomains {
		d = strings.ToLower(strings.TrimSuffix(d, "."))
		if _, err := smtp.ParsePath("x@" + d); err != nil {
			return nil, exitcode.Errorf(exitcode.Config, "--local-domain %q is not a domain name", d)
		}
		res.domains[d] = true
		if i == 0 {
			res.primary = d
		}
	}
	for _, str := range s.RelayFrom {
		p, err := netip.ParsePrefix(str)
		if err != nil {
			a, err2 := netip.ParseAddr(str)
			if err2 != nil {
				return nil, exitcode.Errorf(exitcode.Config, "--relay-from %q: %v", str, err)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		res.relayFrom = append(res.relayFrom, p.Masked())
	}
	if s.Users != "" {
		db, err := userdb.Open(s.Users)
		if err != nil {
			return nil, exitcode.New(exitcode.Config, err)
		}
		res.users = db
	}
	if s.Aliases != "" {
		a, err := aliases.Load(s.Aliases)
		if err != nil {
			return nil, exitcode.New(exitcode.Config, err)
		}
		res.aliases = a
	}
	if s.Queue != "" {
		q, err := queue.Open(s.Queue, queue.Options{Hostname: s.Hostname})
		if err != nil {
			return nil, exitcode.New(exitcode.Config, err)
		}
		res.queue = Outgoing{Queue: q, Received: "smtpd"}
	}
	if res.users == nil && res.maildir == "" && res.deliverCmd == "" && res.queue == nil {
		return nil, exitcode.Errorf(exitcode.Config, "nothing to deliver to: give --users FILE, --maildir DIR, --deliver-cmd CMD or --queue DIR")
	}
	var auth userdb.Authenticator
	if res.users != nil {
		auth = res.users
	}
	if cp := strings.Fields(s.Checkpassword); len(cp) > 0 {
		auth = &userdb.Checkpassword{Command: cp}
	}
	self, err := os.Executable()
	if err != nil {
		self = "/proc/self/exe"
	}
	if s.SpoolDir == "" {
		s.SpoolDir = os.TempDir()
	}
	return &Backend{
		res:        res,
		auth:       auth,
		penalty:    netio.NewPenalty(netio.PenaltyOptions{}),
		log:        s.Logger,
		root:       os.Geteuid() == 0,
		self:       self,
		spoolDir:   s.SpoolDir,
		cmdTimeout: s.DeliverTimeout,
	}, nil
}
