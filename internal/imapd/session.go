package imapd

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/netip"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"mailtk/internal/netio"
	"mailtk/maildir"
)

// Account is a user who logged in: where the Maildir is and which uid/gid
// owns it.
type Account struct {
	Name     string
	Maildir  string
	UID, GID int
}

// Errors an Authenticator returns.
var (
	// ErrAuth means a wrong user name or password.
	ErrAuth = errors.New("authentication failed")
	// ErrAuthTemp means the password could not be checked now.
	ErrAuthTemp = errors.New("authentication temporarily unavailable")
)

// Authenticator checks a user name and password.
type Authenticator func(ctx context.Context, user, pass string) (*Account, error)

// Config is what every session of a server shares.
type Config struct {
	// Auth checks passwords. Nil refuses every login.
	Auth Authenticator
	// Penalty delays answers to failed logins per client address.
	Penalty *netio.Penalty
	// Switch, when set, is called after a successful login and before the
	// Maildir is touched, to take on the account's uid/gid (one process
	// per connection) or to check the process may serve it. It must
	// refuse to let a Maildir be served as root.
	Switch func(uid, gid int) error
	// AppendLimit is the largest message APPEND accepts (APPENDLIMIT,
	// RFC 7889).
	AppendLimit uint32
	// Logger gets one line per session event worth a postmaster's time.
	Logger *slog.Logger
	// Now is the clock.
	Now func() time.Time
	// PollInterval is how often IDLE rescans the folder when inotify
	// cannot watch it (and as a safety net when it can).
	PollInterval time.Duration
	// Notifier, shared by the sessions of a process, wakes IDLE on
	// changes. Nil gives each IDLE its own inotify instance.
	Notifier *Notifier
}

// Session is one client's IMAP session over a Maildir++ tree. It
// implements imapserver.Session and the extension interfaces imapd
// announces.
type Session struct {
	ctx    context.Context // ends when the server gives up on the session
	cfg    *Config
	remote netip.Addr
	log    *slog.Logger

	acct *Account
	root *maildir.Dir
	mb   *mailbox
}

var (
	_ imapserver.SessionIMAP4rev2      = (*Session)(nil)
	_ imapserver.SessionAppendLimit    = (*Session)(nil)
	_ imapserver.SessionUnauthenticate = (*Session)(nil)
)

// NewSession starts a session for a client at remote (zero for a local
// pipe). With preauth set the session starts logged in (PREAUTH). ctx
// bounds the work done for the client (password checks).
func NewSession(ctx context.Context, cfg *Config, remote netip.Addr, preauth *Account) (*Session, error) {
	s := &Session{ctx: ctx, cfg: cfg, remote: remote, log: cfg.Logger}
	if preauth != nil {
		if err := s.enter(preauth); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Close implements imapserver.Session.
func (s *Session) Close() error {
	s.closeMailbox()
	if s.acct != nil {
		s.log.Info("logout", "user", s.acct.Name)
	}
	return nil
}

// Login implements imapserver.Session (RFC 3501 §6.2.3). go-imap has
// already refused it with LOGINDISABLED where plaintext is not allowed.
func (s *Session) Login(user, pass string) error {
	if s.cfg.Auth == nil {
		return imapserver.ErrAuthFailed
	}
	ctx, cancel := context.WithTimeout(s.ctx, 30*time.Second)
	defer cancel()
	acct, err := s.cfg.Auth(ctx, user, pass)
	if err != nil {
		if errors.Is(err, ErrAuth) {
			s.log.Info("login failed", "user", user)
			if s.cfg.Penalty != nil && s.remote.IsValid() {
				time.Sleep(s.cfg.Penalty.Fail(s.remote))
			}
			return imapserver.ErrAuthFailed
		}
		s.log.Warn("login error", "user", user, "err", err)
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeUnavailable, Text: "Cannot check the password now, try later"}
	}
	if s.cfg.Penalty != nil && s.remote.IsValid() {
		s.cfg.Penalty.Success(s.remote)
	}
	if err := s.enter(acct); err != nil {
		s.log.Error("login: cannot open the mailbox", "user", acct.Name, "err", err)
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeUnavailable, Text: "Mailbox unavailable"}
	}
	s.log.Info("login", "user", acct.Name)
	return nil
}

// enter switches to the account's uid/gid and opens its Maildir,
// creating it if it does not exist yet.
func (s *Session) enter(acct *Account) error {
	if s.cfg.Switch != nil {
		if err := s.cfg.Switch(acct.UID, acct.GID); err != nil {
			return err
		}
	}
	root, err := maildir.Open(acct.Maildir)
	if errors.Is(err, fs.ErrNotExist) {
		root, err = maildir.Create(acct.Maildir)
	}
	if err != nil {
		return err
	}
	s.acct, s.root = acct, root
	return nil
}

// Unauthenticate implements imapserver.SessionUnauthenticate (RFC 8437).
func (s *Session) Unauthenticate() error {
	if s.cfg.Switch != nil {
		// The process took on the user's uid and cannot go back.
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot, Text: "UNAUTHENTICATE is not possible in this mode"}
	}
	s.closeMailbox()
	s.acct, s.root = nil, nil
	return nil
}

// AppendLimit implements imapserver.SessionAppendLimit.
func (s *Session) AppendLimit() uint32 { return s.cfg.AppendLimit }

// Namespace implements imapserver.SessionNamespace (RFC 2342): one
// personal namespace with no prefix and '.' as the delimiter.
func (s *Session) Namespace() (*imap.NamespaceData, error) {
	return &imap.NamespaceData{Personal: []imap.NamespaceDescriptor{{Prefix: "", Delim: Delim}}}, nil
}

func (s *Session) closeMailbox() {
	if s.mb != nil {
		s.mb.cache.flush()
		if s.mb.cache.loaded {
			s.mb.cache.compact(s.mb.keys())
		}
		s.mb = nil
	}
}

// folder opens the Maildir of an IMAP mailbox name.
func (s *Session) folder(name string) (*maildir.Dir, error) {
	f, err := folderName(name)
	if err != nil {
		return nil, err
	}
	if f == "" {
		return s.root, nil
	}
	if err := maildir.ValidateFolder(f); err != nil {
		return nil, badName(err.Error())
	}
	d, err := s.root.Folder(f)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errNoSuchMailbox
	}
	if err != nil {
		return nil, s.internal("open folder", err)
	}
	return d, nil
}

// internal logs err and answers with a generic NO, so no path or system
// detail reaches the client.
func (s *Session) internal(what string, err error) error {
	s.log.Error(what, "err", err)
	return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeServerBug, Text: fmt.Sprintf("Internal error (%s)", what)}
}

// Select implements imapserver.Session (RFC 3501 §6.3.1, §6.3.2).
func (s *Session) Select(name string, opts *imap.SelectOptions) (*imap.SelectData, error) {
	s.closeMailbox()
	d, err := s.folder(name)
	if err != nil {
		return nil, err
	}
	mb, err := openMailbox(name, d, opts.ReadOnly, s.now)
	if err != nil {
		return nil, s.internal("select", err)
	}
	s.mb = mb
	data := &imap.SelectData{
		Flags:          mailboxFlags(mb.kw),
		PermanentFlags: permanentFlags(mb.kw),
		NumMessages:    uint32(len(mb.list)),
		UIDNext:        mb.next,
		UIDValidity:    mb.validity,
	}
	if opts.ReadOnly {
		data.PermanentFlags = nil
	}
	for i, e := range mb.list {
		if e.recent {
			data.NumRecent++
		}
		if data.FirstUnseenSeqNum == 0 && !maildir.HasFlag(e.msg.Flags, maildir.FlagSeen) {
			data.FirstUnseenSeqNum = uint32(i + 1)
		}
	}
	return data, nil
}

func (s *Session) now() time.Time {
	if s.cfg.Now != nil {
		return s.cfg.Now()
	}
	return time.Now()
}

// Unselect implements imapserver.Session.
func (s *Session) Unselect() error {
	s.closeMailbox()
	return nil
}

// Poll implements imapserver.Session: after every command, report what
// changed (RFC 3501 §7).
func (s *Session) Poll(w *imapserver.UpdateWriter, allowExpunge bool) error {
	if s.mb == nil {
		return nil
	}
	return s.mb.refresh(w, allowExpunge)
}

// readOnlyErr is the answer to a change in an EXAMINEd mailbox.
var readOnlyErr = &imap.Error{Type: imap.StatusResponseTypeNo, Code: "READ-ONLY", Text: "Mailbox is read-only"}
