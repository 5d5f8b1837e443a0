// Package login is how the mailbox servers (pop3d, imapd) decide who
// logs in: the --users, --checkpassword and --preauth/--maildir flags,
// checked the same way for both, and the rule about running as root.
package login

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"mailtk/internal/exitcode"
	"mailtk/internal/netio"
	"mailtk/internal/userdb"
)

// The flag names, also the names in a --config file.
const (
	FlagUsers         = "users"
	FlagCheckpassword = "checkpassword"
	FlagPreauth       = "preauth"
	FlagMaildir       = "maildir"
)

// Flags returns the login flags of the server prog.
func Flags(prog string) []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: FlagUsers, Usage: "check passwords against the passwd-file `FILE` (user:{SCHEME}hash:uid:gid:gecos:home:shell:extra)"},
		&cli.StringFlag{Name: FlagCheckpassword, Usage: "check passwords with the qmail checkpassword `PROGRAM` (with its arguments, space-separated)"},
		&cli.BoolFlag{Name: FlagPreauth, Usage: "start logged in on the Maildir of --maildir, as the user running " + prog + "; for ssh tunnels and local pipes"},
		&cli.StringFlag{Name: FlagMaildir, Usage: "with --preauth: the Maildir `DIR` to serve"},
	}
}

// Preauth is the one Maildir a --preauth server serves, as the user it
// runs as.
type Preauth struct {
	Name     string // $USER, for the log
	Maildir  string // absolute
	UID, GID int
}

// Mode is how a server logs users in: exactly one of Auth and Preauth.
type Mode struct {
	Auth    userdb.Authenticator // a users file or a checkpassword program
	Preauth *Preauth
}

// FromCLI reads and checks the login flags: exactly one of --users,
// --checkpassword and --preauth; --maildir only with --preauth; never
// --preauth as root (the Maildir would be served as root).
func FromCLI(c *cli.Context, prog string) (Mode, error) {
	modes := 0
	for _, f := range []string{FlagUsers, FlagCheckpassword, FlagPreauth} {
		if c.IsSet(f) {
			modes++
		}
	}
	if modes != 1 {
		return Mode{}, exitcode.Errorf(exitcode.Usage, "give exactly one of --users, --checkpassword, --preauth")
	}
	switch {
	case c.Bool(FlagPreauth):
		dir := c.String(FlagMaildir)
		if dir == "" {
			return Mode{}, exitcode.Errorf(exitcode.Usage, "--preauth needs --maildir DIR")
		}
		if os.Geteuid() == 0 {
			return Mode{}, exitcode.Errorf(exitcode.Config, "refusing to serve a Maildir as root with --preauth: run %s as the mailbox owner", prog)
		}
		abs, err := filepath.Abs(dir)
		if err != nil {
			return Mode{}, exitcode.New(exitcode.Config, err)
		}
		return Mode{Preauth: &Preauth{Name: os.Getenv("USER"), Maildir: abs, UID: os.Getuid(), GID: os.Getgid()}}, nil
	case c.IsSet(FlagMaildir):
		return Mode{}, exitcode.Errorf(exitcode.Usage, "--maildir goes with --preauth; with --users the Maildir comes from the users file")
	case c.IsSet(FlagUsers):
		db, err := userdb.Open(c.String(FlagUsers))
		if err != nil {
			return Mode{}, exitcode.New(exitcode.Config, err)
		}
		return Mode{Auth: db}, nil
	}
	argv := strings.Fields(c.String(FlagCheckpassword))
	if len(argv) == 0 {
		return Mode{}, exitcode.Errorf(exitcode.Usage, "--checkpassword needs a program")
	}
	return Mode{Auth: &userdb.Checkpassword{Command: argv}}, nil
}

// SwitchUser applies the rule about root for a server serving
// connections as opts says. With many connections in one process
// (--listen, LISTEN_FDS) root is refused: the process cannot take on
// each user's uid. With one connection per process (inetd, tcpserver,
// systemd Accept=yes) started as root, it returns the function to call
// after login to become the user who logged in (DropPrivileges, which
// refuses uid 0). Not running as root, it returns nil: nothing to switch.
func SwitchUser(opts netio.Options, prog string) (func(uid, gid int) error, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	if opts.Multi() {
		return nil, exitcode.Errorf(exitcode.Config, "refusing to serve mailboxes of several users as root with --listen or LISTEN_FDS: run %s as the mail user (systemd User=, setcap cap_net_bind_service) or one process per connection under tcpserver/inetd", prog)
	}
	return netio.DropPrivileges, nil
}
