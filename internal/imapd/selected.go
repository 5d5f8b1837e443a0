package imapd

import (
	"errors"
	"io"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-message/textproto"

	"mailtk/maildir"
)

// Selected-state commands: EXPUNGE, SEARCH, COPY, MOVE, IDLE.

// Expunge implements imapserver.Session (RFC 3501 §6.4.3, RFC 4315 UID
// EXPUNGE). In a mailbox opened with EXAMINE it removes nothing (CLOSE
// there must not expunge, RFC 3501 §6.4.2).
func (s *Session) Expunge(w *imapserver.ExpungeWriter, uids *imap.UIDSet) error {
	mb, err := s.selected()
	if err != nil {
		return err
	}
	if mb.readOnly {
		return nil
	}
	for i := len(mb.list) - 1; i >= 0; i-- {
		e := mb.list[i]
		if uids != nil && !uids.Contains(e.uid) {
			continue
		}
		if !e.gone && !maildir.HasFlag(e.msg.Flags, maildir.FlagTrashed) {
			continue
		}
		if !e.gone {
			if err := mb.dir.Remove(e.msg); err != nil && !errors.Is(err, maildir.ErrGone) {
				return s.internal("expunge", err)
			}
		}
		if err := w.WriteExpunge(uint32(i + 1)); err != nil {
			return err
		}
		mb.removeAt(i)
	}
	return nil
}

// Search implements imapserver.Session (RFC 3501 §6.4.4, RFC 4731
// ESEARCH, RFC 5182 SEARCHRES).
func (s *Session) Search(kind imapserver.NumKind, c *imap.SearchCriteria, o *imap.SearchOptions) (*imap.SearchData, error) {
	mb, err := s.selected()
	if err != nil {
		return nil, err
	}
	if criteriaDepth(c) > maxSearchDepth {
		return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeLimit, Text: "Search key nested too deeply"}
	}
	if err := mb.staticCriteria(c); err != nil {
		return nil, err
	}
	defer mb.cache.flush()
	content := needsContent(c)
	buf := make([]byte, 64<<10)
	var data imap.SearchData
	var seqs imap.SeqSet
	var uids imap.UIDSet
	for i, e := range mb.list {
		if e.gone {
			continue
		}
		cand := &candidate{
			seq:   uint32(i + 1),
			uid:   e.uid,
			flags: mb.flagsOf(e),
			date:  mb.internalDate(e),
		}
		if c.Larger != 0 || c.Smaller != 0 || content {
			cand.size, _ = mb.rfc822Size(e)
		}
		e := e
		cand.env = func() (*imap.Envelope, error) { return mb.envelope(e, nil) }
		cand.header = func() (textproto.Header, error) {
			f, err := mb.dir.Open(e.msg)
			if err != nil {
				return textproto.Header{}, err
			}
			defer f.Close()
			return readHeader(f)
		}
		cand.open = func() (io.ReadCloser, error) { return mb.dir.Open(e.msg) }
		cand.buf = buf
		if !match(cand, c) {
			continue
		}
		uids.AddNum(e.uid)
		num := uint32(i + 1)
		if kind == imapserver.NumKindUID {
			num = uint32(e.uid)
		} else {
			seqs.AddNum(num)
		}
		if data.Min == 0 || num < data.Min {
			data.Min = num
		}
		if num > data.Max {
			data.Max = num
		}
		data.Count++
	}
	if kind == imapserver.NumKindUID {
		data.All = uids
	} else {
		data.All = seqs
	}
	if o.ReturnSave {
		mb.searchRes = uids
	}
	return &data, nil
}

// staticCriteria replaces '*' and '$' in the sequence and UID sets of c
// by what they stand for now.
func (mb *mailbox) staticCriteria(c *imap.SearchCriteria) error {
	var uidSets []imap.UIDSet
	var seqSets []imap.SeqSet
	for _, set := range c.SeqNum {
		idx, err := mb.resolveLenient(set)
		if err != nil {
			return err
		}
		var ss imap.SeqSet
		for _, i := range idx {
			ss.AddNum(uint32(i + 1))
		}
		seqSets = append(seqSets, ss)
	}
	for _, set := range c.UID {
		if imap.IsSearchRes(set) {
			uidSets = append(uidSets, mb.searchRes)
			continue
		}
		idx, _ := mb.resolve(set)
		var us imap.UIDSet
		for _, i := range idx {
			us.AddNum(mb.list[i].uid)
		}
		uidSets = append(uidSets, us)
	}
	c.SeqNum, c.UID = seqSets, uidSets
	for i := range c.Not {
		if err := mb.staticCriteria(&c.Not[i]); err != nil {
			return err
		}
	}
	for i := range c.Or {
		for j := 0; j < 2; j++ {
			if err := mb.staticCriteria(&c.Or[i][j]); err != nil {
				return err
			}
		}
	}
	return nil
}

// resolveLenient is resolve for SEARCH, where numbers past the end simply
// match nothing.
func (mb *mailbox) resolveLenient(set imap.SeqSet) ([]int, error) {
	n := uint32(len(mb.list))
	var clipped imap.SeqSet
	for _, r := range set {
		start, stop := r.Start, r.Stop
		if start == 0 {
			start = n
		}
		if stop == 0 {
			stop = n
		}
		if start > stop {
			start, stop = stop, start
		}
		stop = min(stop, n)
		if start == 0 || start > stop {
			continue
		}
		clipped = append(clipped, imap.SeqRange{Start: start, Stop: stop})
	}
	if len(clipped) == 0 {
		return nil, nil
	}
	return mb.resolve(clipped)
}

// Copy implements imapserver.Session (RFC 3501 §6.4.7, RFC 4315
// COPYUID). Each message is stored in the target through the crash-safe
// delivery, with its flags and keywords (by name) and internal date.
func (s *Session) Copy(numSet imap.NumSet, dest string) (*imap.CopyData, error) {
	mb, err := s.selected()
	if err != nil {
		return nil, err
	}
	data, _, err := s.copyTo(mb, numSet, dest)
	return data, err
}

func (s *Session) copyTo(mb *mailbox, numSet imap.NumSet, dest string) (*imap.CopyData, []int, error) {
	idx, err := mb.resolve(numSet)
	if err != nil {
		return nil, nil, err
	}
	d, err := s.folder(dest)
	if errors.Is(err, errNoSuchMailbox) {
		return nil, nil, &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeTryCreate, Text: "No such mailbox"}
	}
	if err != nil {
		return nil, nil, err
	}
	dkw, err := readKeywords(d)
	if err != nil {
		return nil, nil, s.internal("copy", err)
	}
	var keys []string
	var srcUIDs imap.UIDSet
	var done []int
	for _, i := range idx {
		e := mb.list[i]
		if e.gone {
			continue
		}
		letters, err := lettersFor(d, &dkw, imapFlags(e.msg.Flags, mb.kw, false))
		if err != nil {
			return nil, nil, s.storeErr(err)
		}
		f, err := mb.dir.Open(e.msg)
		if errors.Is(err, maildir.ErrGone) {
			e.gone = true
			continue
		}
		if err != nil {
			return nil, nil, s.internal("copy", err)
		}
		m, err := d.DeliverWith(f, maildir.DeliverOptions{Cur: true, Flags: letters + keepLetters(e.msg.Flags), Time: mb.internalDate(e)})
		f.Close()
		if err != nil {
			return nil, nil, s.internal("copy", err)
		}
		keys = append(keys, m.Key)
		srcUIDs.AddNum(e.uid)
		done = append(done, i)
	}
	if len(keys) == 0 {
		return nil, nil, nil
	}
	msgs, err := d.Scan()
	if err != nil {
		return nil, nil, s.internal("copy", err)
	}
	ul, err := d.SyncUIDs(msgs)
	if err != nil {
		return nil, nil, s.internal("copy", err)
	}
	var dstUIDs imap.UIDSet
	for _, k := range keys {
		if uid, ok := ul.UID(k); ok {
			dstUIDs.AddNum(imap.UID(uid))
		}
	}
	return &imap.CopyData{UIDValidity: ul.Validity, SourceUIDs: srcUIDs, DestUIDs: dstUIDs}, done, nil
}

// Move implements imapserver.SessionMove (RFC 6851): copy, then remove
// the originals and report them expunged.
func (s *Session) Move(w *imapserver.MoveWriter, numSet imap.NumSet, dest string) error {
	mb, err := s.selected()
	if err != nil {
		return err
	}
	if mb.readOnly {
		return readOnlyErr
	}
	data, done, err := s.copyTo(mb, numSet, dest)
	if err != nil {
		return err
	}
	if data == nil {
		return nil
	}
	if err := w.WriteCopyData(data); err != nil {
		return err
	}
	for k := len(done) - 1; k >= 0; k-- {
		i := done[k]
		if err := mb.dir.Remove(mb.list[i].msg); err != nil && !errors.Is(err, maildir.ErrGone) {
			return s.internal("move", err)
		}
		if err := w.WriteExpunge(uint32(i + 1)); err != nil {
			return err
		}
		mb.removeAt(i)
	}
	return nil
}

// Idle implements imapserver.Session (RFC 2177): report changes as they
// happen. inotify on new/ and cur/ wakes the session at once; a periodic
// rescan covers file systems without inotify (NFS) and missed events.
// After the kernel reports lost events (queue overflow) the session
// rescans at once and keeps the short poll interval.
func (s *Session) Idle(w *imapserver.UpdateWriter, stop <-chan struct{}) error {
	mb := s.mb
	interval := s.cfg.PollInterval
	if interval <= 0 {
		interval = 30 * time.Second
	}
	var wake, lost <-chan struct{}
	if mb != nil {
		n := s.cfg.Notifier
		if n == nil {
			n = NewNotifier()
			defer n.Close()
		}
		if wt, err := n.watch(mb.dir.Path()+"/"+maildir.SubNew, mb.dir.Path()+"/"+maildir.SubCur); err == nil {
			defer n.release(wt)
			wake, lost = wt.wake, wt.lost
		} else if interval > time.Second {
			interval = time.Second
		}
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if mb != nil {
			mb.stamps[0].unsure = true // rescan regardless of the stamp
			if err := mb.refresh(w, true); err != nil {
				return err
			}
		}
		select {
		case <-stop:
			return nil
		case <-tick.C:
		case <-lost:
			if interval > time.Second {
				interval = time.Second
				tick.Reset(interval)
			}
		case <-wake:
			// Let a burst of renames settle; the wake-up they leave
			// behind costs at most one more rescan.
			time.Sleep(20 * time.Millisecond)
			select {
			case <-wake:
			default:
			}
		}
	}
}
