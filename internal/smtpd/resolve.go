package smtpd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"

	"mailtk/internal/aliases"
	"mailtk/internal/smtp"
	"mailtk/internal/userdb"
)

// Users is what smtpd needs from the users file (*userdb.DB).
type Users interface {
	Lookup(name string) (*userdb.User, error)
	IsLocalDomain(domain string) bool
	Users() ([]userdb.User, error)
	Authenticate(ctx context.Context, name, password string) (*userdb.User, error)
}

// Queue is where mail for remote recipients goes: the durable outgoing
// queue that sendmail -q runs. Until a Queue is configured, smtpd answers
// relay recipients of permitted clients with 451 4.3.2 (never accepting
// mail it could only drop).
type Queue interface {
	// Enqueue stores the message durably for rcpts and returns its
	// queue id only once it is safe on disk. msg is the complete message
	// with LF line ends, trace headers included (Delivered-To for local
	// recipients forwarded, then Received:); env carries the sender and
	// the DSN parameters (RET, ENVID, NOTIFY, ORCPT) to keep with it.
	Enqueue(ctx context.Context, env *smtp.Envelope, rcpts []string, msg io.Reader) (id string, err error)
}

// destKind says how one destination is delivered.
type destKind int

const (
	destMaildir destKind = iota // a Maildir on disk
	destCommand                 // --deliver-cmd, per recipient
	destPipe                    // an aliases "|command", with --allow-pipes
	destRelay                   // a remote address, via the Queue
)

// dest is one place a recipient's copy goes.
type dest struct {
	kind     destKind
	path     string // Maildir path
	command  string // command line for destCommand/destPipe
	addr     string // final address (Delivered-To, RECIPIENT)
	uid, gid int    // owner for deliveries when running as root; -1 unknown
	home     string
}

// resolver turns recipients into destinations. It holds no session state.
type resolver struct {
	users      Users // may be nil
	aliases    *aliases.Aliases
	maildir    string // --maildir: every local recipient goes here
	deliverCmd string
	allowPipes bool
	domains    map[string]bool // local domains, lower case
	primary    string          // domain for bare local names in replies
	relayFrom  []netip.Prefix
	queue      Queue
}

var (
	errNoUser    = smtp.Errorf(550, "5.1.1", "No such user here")
	errRelay     = smtp.Errorf(550, "5.7.1", "Relaying denied: authenticate or send from a permitted network")
	errNoQueue   = smtp.Errorf(451, "4.3.2", "Relaying is not available yet (no outgoing queue); try again later")
	errTrickery  = &smtp.Error{Code: 550, Enhanced: "5.7.1", Text: "Relaying denied: %-hack, bang paths and quoted @ are not accepted"}
	errNoPipes   = smtp.Errorf(451, "4.3.5", "Alias target is a program or file but such deliveries are disabled; the postmaster must fix the aliases file")
	errNoMailbox = smtp.Errorf(451, "4.3.5", "Mailbox configuration error; the postmaster has been notified")
)

// isLocal reports whether domain is one of ours.
func (r *resolver) isLocal(domain string) bool {
	d := strings.ToLower(domain)
	if d == "" || r.domains[d] {
		return true
	}
	return r.users != nil && r.users.IsLocalDomain(d)
}

// aliasKey maps a local-domain address to its alias key.
func (r *resolver) aliasKey(addr string) (string, bool) {
	local, dom, ok := strings.Cut(addr, "@")
	if !ok {
		return strings.ToLower(addr), true
	}
	if _, found := r.aliases.Lookup(addr); found {
		return strings.ToLower(addr), true
	}
	if r.isLocal(dom) {
		return strings.ToLower(local), true
	}
	return "", false
}

// resolve finds where mail for to goes. mayRelay is the session's relay
// permission. The errors are *smtp.Error replies.
func (r *resolver) resolve(to smtp.Path, mayRelay bool) ([]dest, error) {
	local := to.Local
	domain := to.Domain
	if to.IsPostmaster() {
		domain = r.primary
	}
	if to.IsLiteral() || !r.isLocal(domain) {
		if !mayRelay {
			return nil, errRelay
		}
		if r.queue == nil {
			return nil, errNoQueue
		}
		return []dest{{kind: destRelay, addr: to.Addr()}}, nil
	}
	if strings.ContainsAny(local, "%!@") {
		// RFC 5321 §3.6.2: we never relay on the strength of a local
		// part; these forms are how open relays were once abused.
		return nil, errTrickery
	}
	addr := local + "@" + strings.ToLower(domain)
	if strings.EqualFold(local, "postmaster") {
		local = "postmaster" // RFC 5321 §4.5.1: case-insensitive
	}
	for _, key := range []string{addr, local} {
		if ts, ok, err := r.aliases.Expand(key, r.aliasKey); ok {
			if err != nil {
				return nil, smtp.Errorf(451, "4.3.5", "Alias expansion failed; the postmaster has been notified")
			}
			return r.targets(ts, key, mayRelay)
		}
	}
	d, err := r.user(local, addr)
	if err != nil && local == "postmaster" {
		// RFC 5321 §4.5.1: postmaster must always be accepted; a
		// missing mailbox is the postmaster's configuration to fix.
		return nil, errNoMailbox
	}
	if err != nil {
		return nil, err
	}
	return []dest{d}, nil
}

// user finds the mailbox of a local name.
func (r *resolver) user(local, addr string) (dest, error) {
	if r.users != nil {
		for _, name := range []string{addr, local} {
			u, err := r.users.Lookup(name)
			if errors.Is(err, userdb.ErrNoUser) {
				continue
			}
			if err != nil {
				return dest{}, errNoMailbox
			}
			return r.userDest(u, addr)
		}
	}
	if r.maildir != "" {
		return r.withCmd(dest{kind: destMaildir, path: r.maildir, addr: addr, uid: -1, gid: -1}), nil
	}
	return dest{}, errNoUser
}

func (r *resolver) userDest(u *userdb.User, addr string) (dest, error) {
	d := dest{kind: destMaildir, addr: addr, uid: u.UID, gid: u.GID, home: u.Home}
	if r.deliverCmd == "" {
		p, err := u.MaildirPath()
		if err != nil {
			return dest{}, errNoMailbox
		}
		d.path = p
	}
	return r.withCmd(d), nil
}

// withCmd turns a Maildir destination into a --deliver-cmd one.
func (r *resolver) withCmd(d dest) dest {
	if r.deliverCmd != "" {
		d.kind, d.command = destCommand, r.deliverCmd
	}
	return d
}

// targets turns an alias expansion into destinations.
func (r *resolver) targets(ts []aliases.Target, key string, mayRelay bool) ([]dest, error) {
	var out []dest
	for _, t := range ts {
		switch t.Kind {
		case aliases.Pipe:
			if !r.allowPipes {
				return nil, errNoPipes
			}
			out = append(out, dest{kind: destPipe, command: t.Value, addr: key, uid: -1, gid: -1})
		case aliases.File, aliases.Include:
			return nil, errNoPipes
		case aliases.Address:
			local, dom, hasDom := strings.Cut(t.Value, "@")
			if hasDom && !r.isLocal(dom) {
				// An alias forwarding to a remote address is the
				// postmaster's decision, not the client's: it relays
				// whoever sent the mail, through the queue.
				if r.queue == nil {
					return nil, errNoQueue
				}
				out = append(out, dest{kind: destRelay, addr: t.Value})
				continue
			}
			addr := local + "@" + strings.ToLower(dom)
			if !hasDom {
				addr = local + "@" + r.primary
			}
			d, err := r.user(local, addr)
			if err != nil {
				return nil, smtp.Errorf(451, "4.3.5", "Alias %s names unknown user %s; the postmaster must fix the aliases file", key, local)
			}
			out = append(out, d)
		}
	}
	if len(out) == 0 {
		return nil, errNoUser
	}
	return out, nil
}

// inRelayFrom reports whether ip is in a --relay-from network.
func (r *resolver) inRelayFrom(ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, p := range r.relayFrom {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// verify answers VRFY: users whose address, local part or a word of the
// full name equals arg (case-insensitively), and aliases named arg.
func (r *resolver) verify(arg string) ([]string, error) {
	arg = strings.TrimSpace(arg)
	local, dom, hasDom := strings.Cut(arg, "@")
	var out []string
	if r.users != nil {
		us, err := r.users.Users()
		if err != nil {
			return nil, err
		}
		for i := range us {
			u := &us[i]
			if hasDom && !r.isLocal(dom) {
				break
			}
			match := strings.EqualFold(u.Local(), local) ||
				strings.EqualFold(u.Name, arg) ||
				hasDom && u.Domain() == "" && strings.EqualFold(u.Local(), local)
			if !hasDom {
				for _, w := range strings.Fields(u.FullName()) {
					match = match || strings.EqualFold(w, arg)
				}
			}
			if match {
				out = append(out, r.display(u.FullName(), u.Name))
			}
		}
	}
	if len(out) == 0 {
		if _, ok := r.aliases.Lookup(local); ok && (!hasDom || r.isLocal(dom)) {
			out = append(out, r.display("", strings.ToLower(local)))
		}
	}
	return out, nil
}

// display renders "Full Name <addr>" with a domain on bare names.
func (r *resolver) display(name, addr string) string {
	if !strings.Contains(addr, "@") {
		addr += "@" + r.primary
	}
	addr = strings.Map(func(c rune) rune {
		if c < ' ' || c == '<' || c == '>' {
			return '?'
		}
		return c
	}, addr)
	if name == "" {
		return "<" + addr + ">"
	}
	return fmt.Sprintf("%s <%s>", strings.Map(func(c rune) rune {
		if c < ' ' || c == '<' || c == '>' {
			return '?'
		}
		return c
	}, name), addr)
}

// expand answers EXPN: the final members of a mailing list. Program and
// file targets are not shown.
func (r *resolver) expand(arg string) ([]string, error) {
	local, dom, hasDom := strings.Cut(strings.TrimSpace(arg), "@")
	if hasDom && !r.isLocal(dom) {
		return nil, nil
	}
	ts, ok, err := r.aliases.Expand(local, r.aliasKey)
	if !ok {
		return nil, nil
	}
	if err != nil {
		return nil, smtp.Errorf(451, "4.3.5", "List expansion failed")
	}
	var out []string
	for _, t := range ts {
		if t.Kind != aliases.Address {
			continue
		}
		name := ""
		if r.users != nil {
			l, d, _ := strings.Cut(t.Value, "@")
			if d == "" || r.isLocal(d) {
				if u, err := r.users.Lookup(t.Value); err == nil {
					name = u.FullName()
				} else if u, err := r.users.Lookup(l); err == nil {
					name = u.FullName()
				}
			}
		}
		out = append(out, r.display(name, t.Value))
	}
	return out, nil
}
