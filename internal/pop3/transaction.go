package pop3

import (
	"errors"
	"fmt"
	"strconv"
)

func (s *Session) transaction(cmd Command) Response {
	switch cmd.Verb {
	case "CAPA":
		return s.capa()
	case "QUIT":
		return s.quit()
	case "STAT":
		if len(cmd.Args) != 0 {
			return s.protocolError("Usage: STAT")
		}
		n, octets := s.count()
		return ok(fmt.Sprintf("%d %d", n, octets))
	case "LIST":
		return s.cmdList(cmd)
	case "UIDL":
		return s.cmdUIDL(cmd)
	case "RETR":
		if len(cmd.Args) != 1 {
			return s.protocolError("Usage: RETR msg")
		}
		return s.retr(cmd.Args[0], -1)
	case "TOP":
		if len(cmd.Args) != 2 {
			return s.protocolError("Usage: TOP msg lines")
		}
		n, err := parseNumber(cmd.Args[1])
		if err != nil {
			return s.protocolError("Invalid number of lines")
		}
		return s.retr(cmd.Args[0], n)
	case "DELE":
		if len(cmd.Args) != 1 {
			return s.protocolError("Usage: DELE msg")
		}
		i, r, good := s.message(cmd.Args[0])
		if !good {
			return r
		}
		s.deleted[i] = true
		return ok(fmt.Sprintf("Message %d deleted", i+1))
	case "NOOP":
		if len(cmd.Args) != 0 {
			return s.protocolError("Usage: NOOP")
		}
		return ok("")
	case "RSET":
		if len(cmd.Args) != 0 {
			return s.protocolError("Usage: RSET")
		}
		// RFC 1939 §5 unmarks deletions; RFC 1460 also resets LAST.
		clear(s.deleted)
		s.last = s.firstLast
		n, octets := s.count()
		return ok(fmt.Sprintf("Maildrop has %d messages (%d octets)", n, octets))
	case "LAST":
		// RFC 1460 §4 (removed by RFC 1725, still used by old clients and
		// the seed course): the highest message number retrieved.
		if len(cmd.Args) != 0 {
			return s.protocolError("Usage: LAST")
		}
		return ok(strconv.Itoa(s.last))
	}
	return s.wrongState(cmd)
}

// count returns the number and total size of the messages not deleted.
func (s *Session) count() (int, int64) {
	var n int
	var octets int64
	for i, m := range s.msgs {
		if !s.deleted[i] {
			n++
			octets += m.Size
		}
	}
	return n, octets
}

// message resolves a message-number argument to an index. A malformed
// number is a protocol error; a well-formed one that names no message
// (0, too large, deleted) is only a -ERR (RFC 1939 §5).
func (s *Session) message(arg string) (int, Response, bool) {
	n, err := parseNumber(arg)
	if err != nil {
		return 0, s.protocolError("Invalid message number"), false
	}
	if n < 1 || n > len(s.msgs) {
		return 0, fail("", "No such message"), false
	}
	if s.deleted[n-1] {
		return 0, fail("", fmt.Sprintf("Message %d already deleted", n)), false
	}
	return n - 1, Response{}, true
}

func (s *Session) cmdList(cmd Command) Response {
	switch len(cmd.Args) {
	case 0:
		n, octets := s.count()
		r := ok(fmt.Sprintf("%d messages (%d octets)", n, octets))
		r.Multi = true
		r.Lines = make([]string, 0, n)
		for i, m := range s.msgs {
			if !s.deleted[i] {
				r.Lines = append(r.Lines, strconv.Itoa(i+1)+" "+strconv.FormatInt(m.Size, 10))
			}
		}
		return r
	case 1:
		i, r, good := s.message(cmd.Args[0])
		if !good {
			return r
		}
		return ok(fmt.Sprintf("%d %d", i+1, s.msgs[i].Size))
	}
	return s.protocolError("Usage: LIST [msg]")
}

func (s *Session) cmdUIDL(cmd Command) Response {
	switch len(cmd.Args) {
	case 0:
		r := ok("Unique-ID listing follows")
		r.Multi = true
		r.Lines = make([]string, 0, len(s.msgs))
		for i, m := range s.msgs {
			if !s.deleted[i] {
				r.Lines = append(r.Lines, strconv.Itoa(i+1)+" "+UIDString(m.UID))
			}
		}
		return r
	case 1:
		i, r, good := s.message(cmd.Args[0])
		if !good {
			return r
		}
		return ok(fmt.Sprintf("%d %s", i+1, UIDString(s.msgs[i].UID)))
	}
	return s.protocolError("Usage: UIDL [msg]")
}

// retr answers RETR (top < 0) and TOP.
func (s *Session) retr(arg string, top int) Response {
	i, r, good := s.message(arg)
	if !good {
		return r
	}
	body, err := s.md.Open(i)
	if err != nil {
		var pe *Error
		switch {
		case errors.Is(err, ErrGone):
			return fail("", fmt.Sprintf("Message %d is gone: removed by another client", i+1))
		case errors.As(err, &pe):
			return fail(pe.Code, pe.Text)
		default:
			s.opts.Logger.Error("open message", "msg", i+1, "uid", s.msgs[i].UID, "err", err)
			return fail(CodeSysTemp, fmt.Sprintf("Cannot read message %d, try again later", i+1))
		}
	}
	if top < 0 {
		s.retrieved[i] = true
		s.stats.Retrieved++
		if i+1 > s.last {
			s.last = i + 1
		}
		r = ok(fmt.Sprintf("%d octets", s.msgs[i].Size))
	} else {
		r = ok("Top of message follows")
	}
	r.Multi = true
	r.Body = body
	r.TopLines = top
	return r
}

// quit enters the UPDATE state (RFC 1939 §6): the maildrop commits the
// deletions and the retrieved marks, and is released.
func (s *Session) quit() Response {
	s.state = Update
	var deleted, retrieved []int
	for i := range s.msgs {
		switch {
		case s.deleted[i]:
			deleted = append(deleted, i)
		case s.retrieved[i]:
			retrieved = append(retrieved, i)
		}
	}
	err := s.md.Commit(deleted, retrieved)
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		s.opts.Logger.Error("update", "user", s.stats.User, "err", err)
		r := fail(CodeSysTemp, "Some deleted messages not removed")
		r.Close = true
		return r
	}
	s.stats.Deleted = len(deleted)
	r := ok(fmt.Sprintf("%s POP3 server signing off (%d messages left)", s.opts.Hostname, len(s.msgs)-len(deleted)))
	r.Close = true
	return r
}

// UIDString renders a unique id for the wire. RFC 1939 §7 allows octets
// 0x21-0x7E only; any other octet is written as \ooo octal, the escape
// Maildir names use for '/' and ':'. A backslash is left alone, so a
// Maildir key with its own escapes is sent unchanged, as qmail-pop3d
// sends it. An empty id becomes "\000".
//
// QUIRK: RFC 1939 limits a unique id to 70 characters. Maildir names can
// be longer; the id is sent whole, as qmail-pop3d does, because
// shortening it would make clients download everything again when they
// move between servers.
func UIDString(uid string) string {
	if uid == "" {
		return `\000`
	}
	clean := true
	for i := 0; i < len(uid); i++ {
		if c := uid[i]; c < 0x21 || c > 0x7e {
			clean = false
			break
		}
	}
	if clean {
		return uid
	}
	b := make([]byte, 0, len(uid)+8)
	for i := 0; i < len(uid); i++ {
		c := uid[i]
		if c < 0x21 || c > 0x7e {
			b = append(b, '\\', '0'+c>>6, '0'+(c>>3)&7, '0'+c&7)
			continue
		}
		b = append(b, c)
	}
	return string(b)
}
