package imapd

import (
	"bufio"
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"mailtk/maildir"
)

// Authenticated-state commands on mailboxes (RFC 3501 §6.3).

// Create implements imapserver.Session (RFC 3501 §6.3.3). A trailing
// delimiter only says the name will have children; Maildir++ needs no
// directory for that, so the folder is created all the same.
func (s *Session) Create(name string, _ *imap.CreateOptions) error {
	name = strings.TrimSuffix(name, string(Delim))
	f, err := folderName(name)
	if err != nil {
		return err
	}
	if f == "" {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeAlreadyExists, Text: "INBOX always exists"}
	}
	if err := maildir.ValidateFolder(f); err != nil {
		return badName(err.Error())
	}
	if _, err := s.root.CreateFolder(f); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeAlreadyExists, Text: "Mailbox already exists"}
		}
		return s.internal("create", err)
	}
	return nil
}

// Delete implements imapserver.Session (RFC 3501 §6.3.4). Children, which
// are separate Maildir++ folders, stay.
func (s *Session) Delete(name string) error {
	f, err := folderName(name)
	if err != nil {
		return err
	}
	if f == "" {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot, Text: "INBOX cannot be deleted"}
	}
	if err := maildir.ValidateFolder(f); err != nil {
		return badName(err.Error())
	}
	if s.mb != nil && s.mb.dir.Path() == filepath.Join(s.root.Path(), "."+f) {
		s.closeMailbox()
	}
	if err := s.root.DeleteFolder(f); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return errNoSuchMailbox
		}
		return s.internal("delete", err)
	}
	s.setSubscribed(name, false)
	return nil
}

// Rename implements imapserver.Session (RFC 3501 §6.3.5), children
// included. Renaming INBOX moves its messages into a new folder and
// leaves INBOX empty.
func (s *Session) Rename(oldName, newName string, _ *imap.RenameOptions) error {
	from, err := folderName(oldName)
	if err != nil {
		return err
	}
	to, err := folderName(newName)
	if err != nil {
		return err
	}
	if to == "" {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeAlreadyExists, Text: "INBOX already exists"}
	}
	if err := maildir.ValidateFolder(to); err != nil {
		return badName(err.Error())
	}
	if from == "" {
		return s.renameInbox(to)
	}
	if err := maildir.ValidateFolder(from); err != nil {
		return badName(err.Error())
	}
	if err := s.root.RenameFolder(from, to); err != nil {
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return errNoSuchMailbox
		case errors.Is(err, fs.ErrExist):
			return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeAlreadyExists, Text: "Target mailbox already exists"}
		case errors.Is(err, maildir.ErrBadFolder):
			return badName(err.Error())
		}
		return s.internal("rename", err)
	}
	return nil
}

func (s *Session) renameInbox(to string) error {
	dst, err := s.root.CreateFolder(to)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeAlreadyExists, Text: "Target mailbox already exists"}
		}
		return s.internal("rename", err)
	}
	msgs, err := s.root.Scan()
	if err != nil {
		return s.internal("rename", err)
	}
	for _, m := range msgs {
		if err := moveMessage(s.root, dst, m, m.Flags); err != nil && !errors.Is(err, maildir.ErrGone) {
			return s.internal("rename", err)
		}
	}
	return nil
}

// moveMessage stores m in dst with flags (letters valid in dst) through
// the crash-safe delivery, then removes it from src.
func moveMessage(src, dst *maildir.Dir, m maildir.Message, flags string) error {
	f, err := src.Open(m)
	if err != nil {
		return err
	}
	_, err = dst.DeliverWith(f, maildir.DeliverOptions{Cur: true, Flags: flags, Time: m.Time})
	f.Close()
	if err != nil {
		return err
	}
	return src.Remove(m)
}

// Subscriptions are kept in the Maildir's "subscriptions" file, one
// mailbox name per line, the format Dovecot reads for Maildir++.
const subscriptionsFile = "subscriptions"

func (s *Session) subscriptions() map[string]bool {
	subs := map[string]bool{}
	b, err := os.ReadFile(filepath.Join(s.root.Path(), subscriptionsFile))
	if err != nil {
		return subs
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "V\t") {
			continue
		}
		line = strings.ReplaceAll(line, "\t", string(Delim))
		if name, ok := mailboxName(line); ok {
			subs[name] = true
		}
	}
	return subs
}

// subscriptionsLock is the file whose flock guards the read-modify-write
// of the subscriptions file.
const subscriptionsLock = "imapd-subscriptions.lock"

func (s *Session) setSubscribed(name string, on bool) error {
	unlock, err := lockFile(filepath.Join(s.root.Path(), subscriptionsLock))
	if err != nil {
		return s.internal("subscribe", err)
	}
	defer unlock()
	subs := s.subscriptions()
	if isInbox(name) {
		name = "INBOX"
	}
	if subs[name] == on {
		return nil
	}
	if on {
		subs[name] = true
	} else {
		delete(subs, name)
	}
	var names []string
	for n := range subs {
		if n == "INBOX" {
			names = append(names, n)
		} else {
			names = append(names, encodeUTF7(n))
		}
	}
	slices.Sort(names)
	path := filepath.Join(s.root.Path(), subscriptionsFile)
	if err := writeFileAtomic(path, []byte(strings.Join(names, "\n")+"\n")); err != nil {
		return s.internal("subscribe", err)
	}
	return nil
}

// Subscribe implements imapserver.Session (RFC 3501 §6.3.6).
func (s *Session) Subscribe(name string) error {
	if _, err := s.folder(name); err != nil {
		return err
	}
	return s.setSubscribed(name, true)
}

// Unsubscribe implements imapserver.Session (RFC 3501 §6.3.7).
func (s *Session) Unsubscribe(name string) error {
	if _, err := folderName(name); err != nil {
		return err
	}
	return s.setSubscribed(name, false)
}

// specialUse gives the RFC 6154 attribute of the usual folder names.
func specialUse(name string) imap.MailboxAttr {
	switch strings.ToLower(name) {
	case "sent", "sent messages", "sent items":
		return imap.MailboxAttrSent
	case "drafts":
		return imap.MailboxAttrDrafts
	case "trash", "deleted messages", "deleted items":
		return imap.MailboxAttrTrash
	case "junk", "spam":
		return imap.MailboxAttrJunk
	case "archive":
		return imap.MailboxAttrArchive
	}
	return ""
}

// List implements imapserver.Session (RFC 3501 §6.3.8, RFC 5258, RFC
// 5819 LIST-STATUS, RFC 6154 SPECIAL-USE).
func (s *Session) List(w *imapserver.ListWriter, ref string, patterns []string, opts *imap.ListOptions) error {
	if len(patterns) == 0 || (len(patterns) == 1 && patterns[0] == "") {
		// RFC 3501 §6.3.8: the delimiter and root of the reference.
		return w.WriteList(&imap.ListData{Attrs: []imap.MailboxAttr{imap.MailboxAttrNoSelect}, Delim: Delim, Mailbox: ""})
	}
	folders, err := s.root.Folders()
	if err != nil {
		return s.internal("list", err)
	}
	exists := map[string]bool{"INBOX": true}
	names := []string{"INBOX"}
	for _, f := range folders {
		if name, ok := mailboxName(f); ok && !isInbox(name) {
			exists[name] = true
			names = append(names, name)
		}
	}
	// Parents that are not folders themselves (Maildir++ has "a.b"
	// without "a"), shown as \NonExistent (RFC 5258 §3).
	all := slices.Clone(names)
	for _, n := range names {
		for i := strings.IndexByte(n, Delim); i >= 0; {
			p := n[:i]
			if !exists[p] && !slices.Contains(all, p) {
				all = append(all, p)
			}
			j := strings.IndexByte(n[i+1:], Delim)
			if j < 0 {
				break
			}
			i += 1 + j
		}
	}
	slices.Sort(all)
	subs := s.subscriptions()
	for _, name := range all {
		matched := false
		for _, p := range patterns {
			if imapserver.MatchList(name, Delim, ref, p) {
				matched = true
				break
			}
		}
		if !matched {
			continue
		}
		if opts.SelectSubscribed && !subs[name] {
			continue
		}
		data := &imap.ListData{Mailbox: name, Delim: Delim}
		if !exists[name] {
			// \NonExistent implies \Noselect (RFC 5258 §3); IMAP4rev1
			// clients only know the latter.
			data.Attrs = append(data.Attrs, imap.MailboxAttrNonExistent, imap.MailboxAttrNoSelect)
		}
		children := false
		for _, o := range all {
			if strings.HasPrefix(o, name+string(Delim)) {
				children = true
				break
			}
		}
		if children {
			data.Attrs = append(data.Attrs, imap.MailboxAttrHasChildren)
		} else {
			data.Attrs = append(data.Attrs, imap.MailboxAttrHasNoChildren)
		}
		if subs[name] {
			data.Attrs = append(data.Attrs, imap.MailboxAttrSubscribed)
		}
		if su := specialUse(name); su != "" {
			data.Attrs = append(data.Attrs, su)
		} else if opts.SelectSpecialUse {
			continue
		}
		if opts.ReturnStatus != nil && exists[name] {
			if st, err := s.Status(name, opts.ReturnStatus); err == nil {
				data.Status = st
			}
		}
		if err := w.WriteList(data); err != nil {
			return err
		}
	}
	return nil
}

// Status implements imapserver.Session (RFC 3501 §6.3.10, RFC 8438
// STATUS=SIZE). It does not change the folder except to give UIDs to new
// messages, so UIDNEXT is exact.
func (s *Session) Status(name string, opts *imap.StatusOptions) (*imap.StatusData, error) {
	d, err := s.folder(name)
	if err != nil {
		return nil, err
	}
	msgs, err := d.Scan()
	if err != nil {
		return nil, s.internal("status", err)
	}
	data := &imap.StatusData{Mailbox: name}
	if opts.UIDNext || opts.UIDValidity {
		ul, err := d.SyncUIDs(msgs)
		if err != nil {
			return nil, s.internal("status", err)
		}
		data.UIDNext, data.UIDValidity = imap.UID(ul.Next), ul.Validity
	}
	var n, unseen, deleted, recent uint32
	var size int64
	for _, m := range msgs {
		n++
		if !maildir.HasFlag(m.Flags, maildir.FlagSeen) {
			unseen++
		}
		if maildir.HasFlag(m.Flags, maildir.FlagTrashed) {
			deleted++
		}
		if m.Subdir == maildir.SubNew {
			recent++
		}
		if m.CRLFSize >= 0 {
			size += m.CRLFSize
		} else if fi, err := os.Stat(d.MessagePath(m)); err == nil {
			size += fi.Size()
		}
	}
	if opts.NumMessages {
		data.NumMessages = &n
	}
	if opts.NumUnseen {
		data.NumUnseen = &unseen
	}
	if opts.NumDeleted {
		data.NumDeleted = &deleted
	}
	if opts.NumRecent {
		data.NumRecent = &recent
	}
	if opts.Size {
		data.Size = &size
	}
	return data, nil
}

// Append implements imapserver.Session (RFC 3501 §6.3.11, RFC 4315
// APPENDUID). The message goes through the maildir package's crash-safe
// delivery: into cur/ with its flags, or new/ when it has none.
func (s *Session) Append(name string, r imap.LiteralReader, opts *imap.AppendOptions) (*imap.AppendData, error) {
	d, err := s.folder(name)
	if err != nil {
		if errors.Is(err, errNoSuchMailbox) {
			return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeTryCreate, Text: "No such mailbox"}
		}
		return nil, err
	}
	var kw []string
	if s.mb != nil && s.mb.dir.Path() == d.Path() {
		kw = s.mb.kw
	} else if kw, err = readKeywords(d); err != nil {
		return nil, s.internal("append", err)
	}
	letters, err := lettersFor(d, &kw, opts.Flags)
	if err != nil {
		return nil, s.storeErr(err)
	}
	if s.mb != nil && s.mb.dir.Path() == d.Path() {
		s.mb.kw = kw
	}
	do := maildir.DeliverOptions{Time: opts.Time, MaxSize: int64(s.cfg.AppendLimit)}
	if letters != "" {
		do.Cur, do.Flags = true, letters
	}
	m, err := d.DeliverWith(r, do)
	if err != nil {
		if errors.Is(err, maildir.ErrTooBig) {
			return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeTooBig, Text: "Message too big"}
		}
		return nil, s.internal("append", err)
	}
	uid, validity, err := assignUID(d, m.Key)
	if err != nil {
		return nil, s.internal("append", err)
	}
	return &imap.AppendData{UID: uid, UIDValidity: validity}, nil
}

// assignUID gives UIDs to new messages of d and returns key's.
func assignUID(d *maildir.Dir, key string) (imap.UID, uint32, error) {
	msgs, err := d.Scan()
	if err != nil {
		return 0, 0, err
	}
	ul, err := d.SyncUIDs(msgs)
	if err != nil {
		return 0, 0, err
	}
	uid, _ := ul.UID(key)
	return imap.UID(uid), ul.Validity, nil
}

func (s *Session) storeErr(err error) error {
	var ie *imap.Error
	if errors.As(err, &ie) {
		return err
	}
	if errors.Is(err, errTooManyKeywords) {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeLimit, Text: "Too many keywords in this mailbox"}
	}
	return s.internal("store flags", err)
}
