package imapd

import (
	"errors"
	"io"
	"os"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-message/textproto"

	"mailtk/maildir"
)

// FETCH and STORE (RFC 3501 §6.4.5, §6.4.6; RFC 3516 BINARY).

// errExpungeIssued completes a FETCH or STORE that skipped messages
// another session expunged: the command did what it could, so it is an
// OK with RFC 5530's code (RFC 2180 §4.1.1 leaves the choice to the
// server; NO makes clients retry a command that cannot do better).
var errExpungeIssued = &imap.Error{Type: imap.StatusResponseTypeOK, Code: "EXPUNGEISSUED", Text: "Some of the requested messages no longer exist"}

func (s *Session) selected() (*mailbox, error) {
	if s.mb == nil {
		return nil, &imap.Error{Type: imap.StatusResponseTypeBad, Text: "No mailbox selected"}
	}
	return s.mb, nil
}

// needsFile reports whether answering o needs the message file.
func needsFile(o *imap.FetchOptions) bool {
	return o.BodyStructure != nil || len(o.BodySection) > 0 || len(o.BinarySection) > 0 || len(o.BinarySectionSize) > 0
}

// Fetch implements imapserver.Session.
func (s *Session) Fetch(w *imapserver.FetchWriter, numSet imap.NumSet, o *imap.FetchOptions) error {
	mb, err := s.selected()
	if err != nil {
		return err
	}
	idx, err := mb.resolve(numSet)
	if err != nil {
		return err
	}
	defer mb.cache.flush()
	markSeen := false
	if !mb.readOnly {
		for _, bs := range o.BodySection {
			if !bs.Peek {
				markSeen = true
			}
		}
		for _, bs := range o.BinarySection {
			if !bs.Peek {
				markSeen = true
			}
		}
	}
	_, isUID := numSet.(imap.UIDSet)
	issued := false
	for _, i := range idx {
		e := mb.list[i]
		if e.gone {
			issued = true
			continue
		}
		if err := s.fetchOne(w, mb, uint32(i+1), e, o, markSeen, isUID); err != nil {
			if errors.Is(err, maildir.ErrGone) {
				e.gone = true
				issued = true
				continue
			}
			return err
		}
	}
	if issued {
		return errExpungeIssued
	}
	return nil
}

func (s *Session) fetchOne(w *imapserver.FetchWriter, mb *mailbox, seq uint32, e *entry, o *imap.FetchOptions, markSeen, isUID bool) error {
	var f *os.File
	if needsFile(o) {
		var err error
		if f, err = mb.dir.Open(e.msg); err != nil {
			return err
		}
		defer f.Close()
	}
	var env *imap.Envelope
	if o.Envelope {
		var err error
		if env, err = mb.envelope(e, f); err != nil {
			return err
		}
	}
	size := int64(0)
	if o.RFC822Size || len(o.BodySection) > 0 {
		var err error
		if size, err = mb.rfc822Size(e); err != nil {
			return err
		}
	}
	flagsChanged := false
	if markSeen && !maildir.HasFlag(e.msg.Flags, maildir.FlagSeen) {
		nm, err := mb.dir.AddFlags(e.msg, string(maildir.FlagSeen), "")
		if err != nil {
			return err
		}
		e.msg = nm
		flagsChanged = true
	}

	rw := w.CreateMessage(seq)
	if o.UID || isUID {
		rw.WriteUID(e.uid)
	}
	if o.Flags || flagsChanged {
		rw.WriteFlags(mb.flagsOf(e))
	}
	if o.InternalDate {
		rw.WriteInternalDate(mb.internalDate(e))
	}
	if o.RFC822Size {
		rw.WriteRFC822Size(size)
	}
	if o.Envelope {
		rw.WriteEnvelope(env)
	}
	if o.BodyStructure != nil {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			rw.Close()
			return err
		}
		rw.WriteBodyStructure(bodyStructure(newCRLFReader(f)))
	}
	for _, bs := range o.BodySection {
		if err := writeBodySection(rw, f, bs, size); err != nil {
			rw.Close()
			return err
		}
	}
	for _, bs := range o.BinarySection {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			rw.Close()
			return err
		}
		b := imapserver.ExtractBinarySection(newCRLFReader(f), bs)
		wc := rw.WriteBinarySection(bs, int64(len(b)))
		_, werr := wc.Write(b)
		if cerr := wc.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return werr
		}
	}
	for _, bss := range o.BinarySectionSize {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			rw.Close()
			return err
		}
		rw.WriteBinarySectionSize(bss, imapserver.ExtractBinarySectionSize(newCRLFReader(f), bss))
	}
	return rw.Close()
}

// writeBodySection writes BODY[section]<partial>. The whole message is
// streamed from the file; other sections are cut out with go-imap's
// helper, from the CRLF form.
func writeBodySection(rw *imapserver.FetchResponseWriter, f *os.File, bs *imap.FetchItemBodySection, size int64) error {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	whole := len(bs.Part) == 0 && bs.Specifier == imap.PartSpecifierNone && len(bs.HeaderFields) == 0 && len(bs.HeaderFieldsNot) == 0
	if whole {
		var r io.Reader = newCRLFReader(f)
		n := size
		if p := bs.Partial; p != nil {
			off := min(p.Offset, size)
			if _, err := io.CopyN(io.Discard, r, off); err != nil {
				return err
			}
			n = min(p.Size, size-off)
		}
		wc := rw.WriteBodySection(bs, n)
		_, err := io.CopyN(wc, r, n)
		if cerr := wc.Close(); err == nil {
			err = cerr
		}
		return err
	}
	b := imapserver.ExtractBodySection(newCRLFReader(f), bs)
	wc := rw.WriteBodySection(bs, int64(len(b)))
	_, err := wc.Write(b)
	if cerr := wc.Close(); err == nil {
		err = cerr
	}
	return err
}

// envelope returns the ENVELOPE of e, from the cache or the file (f may
// be nil).
func (mb *mailbox) envelope(e *entry, f *os.File) (*imap.Envelope, error) {
	if env, ok := mb.cache.get(e.msg.Key); ok {
		return env, nil
	}
	if f == nil {
		var err error
		if f, err = mb.dir.Open(e.msg); err != nil {
			return nil, err
		}
		defer f.Close()
	} else if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	h, err := readHeader(f)
	if err != nil {
		// A malformed header still has an (empty) envelope.
		h = textproto.Header{}
	}
	env := envelope(h)
	mb.cache.put(e.msg.Key, env)
	return env, nil
}

// Store implements imapserver.Session (RFC 3501 §6.4.6). Flags change by
// renaming the file; +FLAGS and -FLAGS edit the flags the file has now,
// so concurrent edits of different flags by other sessions survive.
func (s *Session) Store(w *imapserver.FetchWriter, numSet imap.NumSet, flags *imap.StoreFlags, _ *imap.StoreOptions) error {
	mb, err := s.selected()
	if err != nil {
		return err
	}
	if mb.readOnly {
		return readOnlyErr
	}
	idx, err := mb.resolve(numSet)
	if err != nil {
		return err
	}
	letters, err := mb.letters(flags.Flags)
	if err != nil {
		return s.storeErr(err)
	}
	_, isUID := numSet.(imap.UIDSet)
	issued := false
	for _, i := range idx {
		e := mb.list[i]
		if e.gone {
			issued = true
			continue
		}
		var nm maildir.Message
		switch flags.Op {
		case imap.StoreFlagsAdd:
			nm, err = mb.dir.AddFlags(e.msg, letters, "")
		case imap.StoreFlagsDel:
			nm, err = mb.dir.AddFlags(e.msg, "", letters)
		default:
			nm, err = mb.dir.SetFlags(e.msg, letters+keepLetters(e.msg.Flags))
		}
		if errors.Is(err, maildir.ErrGone) {
			e.gone = true
			issued = true
			continue
		}
		if err != nil {
			return s.internal("store", err)
		}
		e.msg = nm
		if !flags.Silent {
			rw := w.CreateMessage(uint32(i + 1))
			if isUID {
				rw.WriteUID(e.uid)
			}
			rw.WriteFlags(mb.flagsOf(e))
			if err := rw.Close(); err != nil {
				return err
			}
		}
	}
	if issued {
		return errExpungeIssued
	}
	return nil
}

// keepLetters are info letters with no IMAP meaning (P, "passed"), which
// STORE FLAGS must not drop.
func keepLetters(info string) string {
	var out []byte
	for i := 0; i < len(info); i++ {
		if c := info[i]; c >= 'A' && c <= 'Z' && c != 'D' && c != 'F' && c != 'R' && c != 'S' && c != 'T' {
			out = append(out, c)
		}
	}
	return string(out)
}
