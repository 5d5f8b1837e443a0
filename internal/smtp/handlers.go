package smtp

import (
	"errors"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// cmdHello answers HELO, EHLO and LHLO (RFC 5321 §4.1.1.1, RFC 2033 §4.1).
func (s *session) cmdHello(extended bool, arg string) Reply {
	if arg == "" {
		return R(501, "5.5.4", "Syntax: EHLO hostname")
	}
	// QUIRK: any host name or literal is accepted (RFC 5321 §4.1.4: a
	// server must not refuse mail because the name does not verify); it
	// is sanitized before it reaches a header or a log.
	name, _, _ := strings.Cut(arg, " ")
	s.st.Helo = sanitizeHelo(name)
	s.st.ESMTP = extended
	s.helo = true
	s.resetTx() // §4.1.4: EHLO resets the transaction
	greet := s.cfg.Hostname + " greets " + s.st.Helo
	if !extended {
		return R(250, "", greet)
	}
	lines := []string{greet,
		"8BITMIME",
		"SIZE " + strconv.FormatInt(s.cfg.MaxSize, 10),
		"PIPELINING",
		"DSN",
		"ENHANCEDSTATUSCODES",
		"SMTPUTF8",
		"CHUNKING",
	}
	if s.conn.StartTLS != nil && !s.st.TLS {
		lines = append(lines, "STARTTLS")
	}
	if s.authOffered() {
		lines = append(lines, "AUTH PLAIN LOGIN")
	}
	lines = append(lines, "HELP")
	return Reply{Code: 250, Lines: lines}
}

// cmdMail answers MAIL FROM (RFC 5321 §4.1.1.2).
func (s *session) cmdMail(arg string) Reply {
	if !s.helo {
		return R(503, "5.5.1", "Send EHLO or HELO first")
	}
	if s.env != nil {
		return R(503, "5.5.1", "Nested MAIL command")
	}
	from, ps, err := ParsePathArg(arg, "FROM")
	if err != nil {
		return ReplyOf(err)
	}
	if from.IsPostmaster() {
		return R(501, "5.1.7", "Sender address must have a domain")
	}
	if len(ps) > 0 && !s.st.ESMTP {
		return R(555, "5.5.4", "Parameters need EHLO")
	}
	mp, err := ParseMailParams(ps)
	if err != nil {
		return ReplyOf(err)
	}
	if !mp.SMTPUTF8 && !isASCII(from.Addr()) {
		return R(553, "5.6.7", "Non-ASCII sender address needs SMTPUTF8 (RFC 6531 §3.4)")
	}
	if mp.Size > s.cfg.MaxSize {
		return R(552, "5.3.4", "Message size exceeds fixed maximum message size")
	}
	if err := s.be.Mail(s.ctx, &s.st, from, mp); err != nil {
		return ReplyOf(err)
	}
	s.env = &Envelope{ID: s.cfg.NewID(), From: from, MailParams: mp}
	return R(250, "2.1.0", "OK")
}

// cmdRcpt answers RCPT TO (RFC 5321 §4.1.1.3).
func (s *session) cmdRcpt(arg string) Reply {
	if s.env == nil {
		return R(503, "5.5.1", "Need MAIL command first")
	}
	to, ps, err := ParsePathArg(arg, "TO")
	if err != nil {
		return ReplyOf(err)
	}
	if to.Null {
		return R(501, "5.1.3", "Recipient address must not be empty")
	}
	rp, err := ParseRcptParams(ps)
	if err != nil {
		return ReplyOf(err)
	}
	if len(ps) > 0 && !s.st.ESMTP {
		return R(555, "5.5.4", "Parameters need EHLO")
	}
	if !s.env.MailParams.SMTPUTF8 && !isASCII(to.Addr()) {
		return R(553, "5.6.7", "Non-ASCII recipient address needs SMTPUTF8 (RFC 6531 §3.4)")
	}
	if len(s.env.Rcpts) >= s.cfg.MaxRcpt {
		return R(452, "4.5.3", "Too many recipients")
	}
	rc := Rcpt{Path: to, Params: rp}
	if err := s.be.Rcpt(s.ctx, &s.st, s.env, rc); err != nil {
		return ReplyOf(err)
	}
	s.env.Rcpts = append(s.env.Rcpts, rc)
	return R(250, "2.1.5", "OK")
}

// cmdData answers DATA (RFC 5321 §4.1.1.4) and reads the message. It
// writes its replies itself and returns the zero Reply.
func (s *session) cmdData(arg string) Reply {
	switch {
	case arg != "":
		return R(501, "5.5.4", "Syntax: DATA")
	case s.env == nil:
		return R(503, "5.5.1", "Need MAIL command first")
	case len(s.env.Rcpts) == 0:
		// RFC 2920 §3.1: all recipients failed in a pipelined group.
		return R(554, "5.5.1", "No valid recipients")
	case s.bdat != nil:
		return R(503, "5.5.1", "DATA is not allowed after BDAT (RFC 3030 §2)")
	}
	env := s.env
	s.env = nil
	s.reply(R(354, "", "Start mail input; end with <CRLF>.<CRLF>"))
	s.flush()
	if s.err != nil {
		return Reply{}
	}
	env.Received = s.st.received(s.cfg, env)
	rcpts := env.rcptAddrs()
	s.lr.SetMax(DataLineMax)
	defer s.lr.SetMax(s.cfg.CommandLineMax)
	dr := NewDataReader(s.lr, s.cfg.MaxSize, s.cfg.MaxHops, rcpts)
	dr.OnLine = func() { s.deadline(s.cfg.DataTimeout) }
	errs := s.be.Data(s.ctx, &s.st, env, dr)
	if err := dr.Drain(); err != nil {
		if errors.Is(err, errEOF) {
			err = io.EOF
		}
		s.lost(err)
		s.cfg.Logger.Warn("message lost: connection closed during DATA", "session", s.st.ID, "id", env.ID)
		return Reply{}
	}
	env.Size = dr.n
	s.finish(env, errs, dr.Err())
	return Reply{}
}

// finish answers the end of a message: one reply (SMTP) or one per
// recipient (LMTP, RFC 2033 §4.2). readErr, the reason the data itself
// was refused, wins over the backend's results.
func (s *session) finish(env *Envelope, errs []error, readErr error) {
	n := len(env.Rcpts)
	if !s.cfg.LMTP {
		n = 1
	}
	replies := make([]Reply, 0, n)
	switch {
	case readErr != nil:
		for range n {
			replies = append(replies, ReplyOf(readErr))
		}
	case s.cfg.LMTP:
		for i := range n {
			r := R(250, "2.0.0", "<"+sanitize(env.Rcpts[i].Path.Addr(), MaxPath)+"> OK id="+env.ID)
			if i < len(errs) && errs[i] != nil {
				r = ReplyOf(errs[i])
			}
			replies = append(replies, r)
		}
	default:
		replies = append(replies, combine(errs, env.ID))
	}
	for i, r := range replies {
		rcpt := ""
		if s.cfg.LMTP || len(env.Rcpts) == 1 {
			rcpt = env.Rcpts[i].Path.Addr()
		}
		s.cfg.Logger.Info("message", "session", s.st.ID, "id", env.ID, "from", sanitize(env.From.Addr(), MaxPath),
			"rcpt", sanitize(rcpt, MaxPath), "rcpts", len(env.Rcpts), "size", env.Size, "reply", r.Code,
			"status", r.Enhanced, "text", strings.Join(r.Lines, " "), "err", firstErr(errs))
		s.reply(r)
	}
	s.valid = true
}

// combine makes the one SMTP reply for a message: temporary failures win
// (the client will retry the whole message), then permanent ones.
func combine(errs []error, id string) Reply {
	var perm error
	for _, err := range errs {
		if err == nil {
			continue
		}
		var e *Error
		if !errors.As(err, &e) || e.Temporary() {
			return ReplyOf(err)
		}
		if perm == nil {
			perm = err
		}
	}
	if perm != nil {
		return ReplyOf(perm)
	}
	return R(250, "2.0.0", "OK id="+id)
}

func firstErr(errs []error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// mayReveal applies a VRFY/EXPN policy to this client.
func (s *session) mayReveal(p Policy) bool {
	switch p {
	case PolicyOn:
		return true
	case PolicyLocal:
		return s.st.Peer.Local || s.st.AuthUser != ""
	}
	return false
}

// cmdVrfy answers VRFY (RFC 5321 §3.5.1, §4.1.1.6).
func (s *session) cmdVrfy(arg string) Reply {
	arg = strings.TrimSpace(arg)
	if arg == "" {
		return R(501, "5.5.4", "Syntax: VRFY name")
	}
	if !s.mayReveal(s.cfg.VRFY) {
		return R(252, "2.5.0", "Cannot VRFY user, but will accept message and attempt delivery")
	}
	arg = strings.TrimSuffix(strings.TrimPrefix(arg, "<"), ">")
	found, err := s.be.Verify(s.ctx, &s.st, arg)
	if err != nil {
		return ReplyOf(err)
	}
	switch len(found) {
	case 0:
		return R(550, "5.1.1", "No such user here")
	case 1:
		return R(250, "2.1.5", found[0])
	}
	if len(found) > 20 {
		found = append(found[:20:20], "...")
	}
	return Reply{Code: 553, Enhanced: "5.1.4", Lines: append([]string{"Ambiguous: Possibilities are"}, found...)}
}

// cmdExpn answers EXPN (RFC 5321 §3.5.2, §4.1.1.7).
func (s *session) cmdExpn(arg string) Reply {
	arg = strings.TrimSpace(arg)
	if arg == "" {
		return R(501, "5.5.4", "Syntax: EXPN list")
	}
	if !s.mayReveal(s.cfg.EXPN) {
		return R(502, "5.7.0", "EXPN is not available to this client")
	}
	members, err := s.be.Expand(s.ctx, &s.st, arg)
	if err != nil {
		return ReplyOf(err)
	}
	if len(members) == 0 {
		return R(550, "5.1.1", "No such mailing list here")
	}
	return Reply{Code: 250, Enhanced: "2.1.5", Lines: members}
}

// helpText is the HELP reply per topic (RFC 5321 §4.1.1.8).
var helpText = map[string]string{
	"":         "Commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY EXPN HELP STARTTLS AUTH",
	"EHLO":     "EHLO hostname - start an ESMTP session and list extensions",
	"HELO":     "HELO hostname - start an SMTP session",
	"LHLO":     "LHLO hostname - start an LMTP session",
	"MAIL":     "MAIL FROM:<sender> [SIZE=n] [BODY=8BITMIME] [SMTPUTF8] [RET=FULL|HDRS] [ENVID=id]",
	"RCPT":     "RCPT TO:<recipient> [NOTIFY=SUCCESS,FAILURE,DELAY|NEVER] [ORCPT=rfc822;addr]",
	"DATA":     "DATA - then the message, ended by a line with a single dot",
	"RSET":     "RSET - abort the current mail transaction",
	"NOOP":     "NOOP - do nothing",
	"QUIT":     "QUIT - close the session",
	"VRFY":     "VRFY name - look up a user (may be disabled)",
	"EXPN":     "EXPN list - list the members of a mailing list (may be disabled)",
	"HELP":     "HELP [command]",
	"STARTTLS": "STARTTLS - switch to TLS (RFC 3207)",
	"BDAT":     "BDAT size [LAST] - then exactly size octets of the message (RFC 3030)",
	"AUTH":     "AUTH PLAIN|LOGIN [initial-response] (RFC 4954)",
}

func (s *session) cmdHelp(arg string) Reply {
	t, ok := helpText[strings.ToUpper(strings.TrimSpace(arg))]
	if !ok {
		return R(504, "5.5.1", "HELP topic unknown")
	}
	if arg != "" {
		return R(214, "2.0.0", t)
	}
	return Reply{Code: 214, Enhanced: "2.0.0", Lines: []string{t, "For more information, see RFC 5321", "End of HELP info"}}
}

// cmdStartTLS answers STARTTLS (RFC 3207 §4).
func (s *session) cmdStartTLS(arg string) Reply {
	switch {
	case s.conn.StartTLS == nil:
		return R(502, "5.5.1", "STARTTLS not available")
	case s.st.TLS:
		return R(503, "5.5.1", "TLS already active")
	case arg != "":
		return R(501, "5.5.4", "Syntax: STARTTLS")
	}
	if n := s.lr.Buffered(); n > 0 {
		// RFC 3207 §5 and CVE-2011-0411: commands pipelined in plaintext
		// after STARTTLS are discarded, never executed after the upgrade.
		s.cfg.Logger.Warn("discarding plaintext pipelined after STARTTLS", "session", s.st.ID, "octets", n)
	}
	s.reply(R(220, "2.0.0", "Ready to start TLS"))
	s.flush()
	if s.err != nil {
		return Reply{}
	}
	s.deadline(s.cfg.CommandTimeout)
	r, w, info, err := s.conn.StartTLS()
	if err != nil {
		s.cfg.Logger.Warn("TLS handshake failed", "session", s.st.ID, "err", err)
		s.closed = true
		s.err = err
		return Reply{}
	}
	s.lr.Reset(r)
	s.w.Reset(w)
	// RFC 3207 §4.2: forget everything learnt before TLS.
	s.resetTx()
	s.st.TLS, s.st.TLSInfo = true, info
	s.st.Helo, s.st.ESMTP, s.st.AuthUser = "", false, ""
	s.helo, s.env = false, nil
	return Reply{}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
