package pop3d

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"time"

	"mailtk/internal/netio"
	"mailtk/internal/pop3"
	"mailtk/internal/userdb"
)

// Account is a maildrop to serve without a login (--preauth).
type Account struct {
	Name    string // for the log
	Maildir string // absolute path
}

// Config is what every session of one pop3d process shares.
type Config struct {
	// Hostname is shown in the greeting and the sign-off.
	Hostname string
	// Auth checks passwords (a users file or checkpassword). Nil with
	// Preauth.
	Auth userdb.Authenticator
	// Preauth, when set, starts every session logged in on this maildrop.
	Preauth *Account
	// Penalty delays the answer to failed logins, per client address.
	Penalty *netio.Penalty
	// Switch, when set, is called with the user's uid and gid after the
	// password is checked and before the Maildir is touched: a pop3d
	// started as root for one connection becomes the user (qmail's rule).
	Switch func(uid, gid int) error
	// Timeout is the idle timeout after login (RFC 1939 §3: at least 10
	// minutes); LoginTimeout the one before.
	Timeout, LoginTimeout time.Duration
	// Logger gets one line per session and the errors clients only see
	// as [SYS/TEMP].
	Logger *slog.Logger
}

// login is the pop3.Authenticator of one connection: it checks the
// password, applies the failed-login penalty, switches to the user's
// identity when started as root, and opens the Maildir.
func (cfg *Config) login(ctx context.Context, peer netio.Peer, log *slog.Logger, name, password string) (pop3.Maildrop, error) {
	ip := peer.RemoteAddr.Addr()
	u, err := cfg.Auth.Authenticate(ctx, name, password)
	if err != nil {
		switch {
		case errors.Is(err, userdb.ErrAuth), errors.Is(err, userdb.ErrNoUser):
			log.Info("login failed", "user", name, "reason", err)
			if cfg.Penalty != nil {
				netio.Sleep(ctx, cfg.Penalty.Fail(ip))
			}
			return nil, pop3.ErrAuth
		case errors.Is(err, userdb.ErrTemp):
			log.Warn("login temporarily failed", "user", name, "err", err)
			return nil, &pop3.Error{Code: pop3.CodeSysTemp, Text: "Authentication temporarily unavailable, try again later", Err: err}
		default:
			log.Error("login check failed", "user", name, "err", err)
			return nil, &pop3.Error{Code: pop3.CodeSysTemp, Text: "Authentication temporarily unavailable, try again later", Err: err}
		}
	}
	if cfg.Penalty != nil {
		cfg.Penalty.Success(ip)
	}
	path, err := u.MaildirPath()
	if err != nil {
		log.Error("no maildir", "user", u.Name, "err", err)
		return nil, &pop3.Error{Code: pop3.CodeSysPerm, Text: "No mailbox for this user", Err: err}
	}
	if u.UID == 0 || u.GID == 0 {
		// A users-file entry for root is a mistake whatever mode we run
		// in: no mailbox is served with root's identity.
		log.Error("refusing to serve the maildir of a uid/gid 0 user", "user", u.Name)
		return nil, &pop3.Error{Code: pop3.CodeSysPerm, Text: "Mailbox unavailable"}
	}
	if cfg.Switch != nil {
		if u.UID < 0 || u.GID < 0 {
			log.Error("users file gives no uid/gid to switch to", "user", u.Name, "uid", u.UID, "gid", u.GID)
			return nil, &pop3.Error{Code: pop3.CodeSysPerm, Text: "Mailbox unavailable"}
		}
		if err := cfg.Switch(u.UID, u.GID); err != nil {
			log.Error("switch user", "user", u.Name, "uid", u.UID, "gid", u.GID, "err", err)
			return nil, &pop3.Error{Code: pop3.CodeSysTemp, Text: "Mailbox unavailable, try again later", Err: err}
		}
	}
	if os.Geteuid() == 0 {
		// Never serve a Maildir as root (qmail-pop3d's die_root).
		log.Error("refusing to serve a maildir as root", "user", u.Name)
		return nil, &pop3.Error{Code: pop3.CodeSysPerm, Text: "Mailbox unavailable"}
	}
	md, err := OpenMaildrop(path, log)
	if err != nil {
		if !errors.Is(err, pop3.ErrInUse) {
			log.Error("open maildir", "user", u.Name, "maildir", path, "err", err)
		}
		return nil, err
	}
	log.Debug("login", "user", u.Name, "maildir", path)
	return md, nil
}
