package smtp

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"sync/atomic"
	"time"

	"mailtk/internal/lineio"
)

// Conn is the connection a session runs on, as the driver hands it over.
// Only R and W are required; the package never imports net or os.
type Conn struct {
	R io.Reader
	W io.Writer
	// SetDeadline sets the read and write deadline; nil when the
	// transport has none (a bytes.Buffer in a test).
	SetDeadline func(time.Time) error
	// StartTLS upgrades the connection (RFC 3207) and returns the new
	// reader and writer and a short description of the TLS parameters
	// for the Received: header. nil: STARTTLS is not offered.
	StartTLS func() (r io.Reader, w io.Writer, info string, err error)
	// Draining, when it is closed, asks the session to end politely:
	// an idle session, or one about to read its next command, answers
	// 421 4.3.2 and ends (RFC 5321 §3.8); a message being received is
	// finished first. nil: never.
	Draining <-chan struct{}
}

// DataLineMax bounds one text line of DATA (RFC 5321 §4.5.3.1.6 asks
// for at least 1000 octets including CRLF).
const DataLineMax = 12288

// session is one SMTP or LMTP session: the state machine and the one
// place that reads and writes.
type session struct {
	ctx     context.Context
	cfg     *Config
	be      Backend
	conn    Conn
	lr      *lineio.Reader
	w       *bufio.Writer
	out     []byte
	st      State
	env     *Envelope
	helo    bool // HELO/EHLO/LHLO done since the start or the last STARTTLS
	valid   bool // a command succeeded: the shorter first timeout is over
	strikes int
	closed  bool
	err     error       // write error or lost connection
	bdat    *bdatTx     // a BDAT transfer in progress
	idle    atomic.Bool // waiting for a command (not in DATA or AUTH)
	drain   atomic.Bool // Conn.Draining was closed
}

// Serve runs one session on c until the client quits, the connection
// fails, a limit is hit or ctx is cancelled (then the client gets 421).
// It returns nil for an orderly end.
func Serve(ctx context.Context, cfg Config, be Backend, peer Peer, c Conn) error {
	cfg = cfg.Defaults()
	bufMax := max(cfg.AuthLineMax, cfg.CommandLineMax, DataLineMax)
	s := &session{
		ctx:  ctx,
		cfg:  &cfg,
		be:   be,
		conn: c,
		lr:   lineio.NewReader(c.R, bufMax),
		w:    bufio.NewWriterSize(c.W, 4096),
		st:   State{ID: cfg.NewID(), Peer: peer, TLS: peer.TLS, LMTP: cfg.LMTP},
	}
	s.lr.SetMax(cfg.CommandLineMax)
	if c.SetDeadline != nil {
		stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
		defer stop()
	}
	if c.Draining != nil {
		done := make(chan struct{})
		defer close(done)
		go func() {
			select {
			case <-c.Draining:
				s.drain.Store(true)
				if s.idle.Load() && c.SetDeadline != nil {
					c.SetDeadline(time.Unix(1, 0)) // wake the idle read
				}
			case <-done:
			}
		}()
	}
	start := cfg.Now()
	cfg.Logger.Info("session start", "session", s.st.ID, "remote", peer.Addr, "local", peer.Local, "relayclient", peer.RelayClient)
	greet := "Simple Mail Transfer Service Ready"
	if cfg.LMTP {
		greet = "LMTP Service Ready"
	}
	s.reply(R(220, "", cfg.Hostname+" "+greet))
	for !s.closed && s.err == nil {
		s.step()
	}
	s.resetTx()
	s.flush()
	cfg.Logger.Info("session end", "session", s.st.ID, "remote", peer.Addr, "helo", sanitize(s.st.Helo, 64),
		"tls", s.st.TLS, "user", s.st.AuthUser, "duration", cfg.Now().Sub(start).Round(time.Millisecond), "err", s.err)
	if errors.Is(s.err, errClosed) {
		return nil
	}
	return s.err
}

var (
	errClosed   = errors.New("client closed the connection")
	errDraining = errors.New("server shutting down")
)

// reply queues r; it is sent when the client has no more pipelined
// commands for us (RFC 2920 §3.1) or at a synchronisation point.
func (s *session) reply(r Reply) {
	s.out = r.Append(s.out[:0])
	if _, err := s.w.Write(s.out); err != nil && s.err == nil {
		s.err = err
	}
	if code := r.Code; code == 500 || code == 501 || code == 503 || code == 535 {
		s.strikes++
		if s.strikes >= s.cfg.MaxStrikes && !s.closed {
			s.out = R(421, "4.7.0", s.cfg.Hostname+" Too many errors, closing connection").Append(s.out[:0])
			s.w.Write(s.out)
			s.closed = true
		}
	}
}

func (s *session) flush() {
	if err := s.w.Flush(); err != nil && s.err == nil {
		s.err = err
	}
}

// deadline arms the connection's deadline d from now.
func (s *session) deadline(d time.Duration) {
	if s.conn.SetDeadline != nil && s.ctx.Err() == nil {
		s.conn.SetDeadline(s.cfg.Now().Add(d))
	}
}

// readLine reads one line for the state machine, flushing pending
// replies first when the client is waiting for them.
func (s *session) readLine(timeout time.Duration) ([]byte, lineio.Ending, error) {
	if s.lr.Buffered() == 0 {
		s.flush()
	}
	s.deadline(timeout)
	if s.drain.Load() && s.idle.Load() && s.lr.Buffered() == 0 {
		s.lost(errDraining)
		return nil, lineio.EOF, errDraining
	}
	line, end, err := s.lr.ReadLine()
	if err != nil && !errors.Is(err, lineio.ErrTooLong) && !(errors.Is(err, io.EOF) && line != nil) {
		s.lost(err)
	}
	return line, end, err
}

// lost ends the session after a read error, telling the client why when
// it can still hear it.
func (s *session) lost(err error) {
	s.closed = true
	var te interface{ Timeout() bool }
	switch {
	case s.ctx.Err() != nil || s.drain.Load():
		if s.conn.SetDeadline != nil {
			s.conn.SetDeadline(s.cfg.Now().Add(5 * time.Second))
		}
		s.reply(R(421, "4.3.2", s.cfg.Hostname+" Service shutting down, closing connection"))
		s.flush()
		s.err = nil
	case errors.As(err, &te) && te.Timeout():
		s.deadline(5 * time.Second)
		s.reply(R(421, "4.4.2", s.cfg.Hostname+" Error: timeout exceeded, closing connection"))
		s.flush()
		if s.err == nil {
			s.err = err
		}
	case errors.Is(err, io.EOF):
		s.err = errClosed
	default:
		s.err = err
	}
}

// step reads and answers one command.
func (s *session) step() {
	timeout := s.cfg.CommandTimeout
	if !s.valid {
		timeout = s.cfg.GreetingTimeout
	}
	if s.drain.Load() && s.lr.Buffered() == 0 {
		s.lost(errDraining)
		return
	}
	s.idle.Store(true)
	line, end, err := s.readLine(timeout)
	s.idle.Store(false)
	switch {
	case errors.Is(err, lineio.ErrTooLong):
		s.reply(R(500, "5.5.2", "Line too long (RFC 5321 §4.5.3.1.4)"))
		return
	case err != nil && line == nil:
		return
	}
	if end != lineio.CRLF || bytes.IndexByte(line, '\r') >= 0 {
		// RFC 5321 §2.3.8: CR and LF only as CRLF. A command ended by
		// a bare LF is not executed.
		s.reply(R(500, "5.5.2", "Syntax error: command must end with CRLF, bare CR or LF refused"))
		if end == lineio.EOF {
			s.closed = true
		}
		return
	}
	cmd, err := ParseCommand(line)
	if err != nil {
		s.reply(ReplyOf(err))
		return
	}
	r := s.dispatch(cmd)
	if r.Code == 0 {
		return // the handler replied itself
	}
	if r.Code/100 == 2 {
		s.valid = true
	}
	s.reply(r)
}

// dispatch is the one place a verb becomes an action.
func (s *session) dispatch(cmd Command) Reply {
	switch cmd.Verb {
	case "EHLO", "HELO":
		if s.cfg.LMTP {
			return R(500, "5.5.1", "This is an LMTP server: use LHLO (RFC 2033 §4.1)")
		}
		return s.cmdHello(cmd.Verb == "EHLO", cmd.Arg)
	case "LHLO":
		if !s.cfg.LMTP {
			return R(500, "5.5.1", "Command unrecognized: LHLO is for LMTP")
		}
		return s.cmdHello(true, cmd.Arg)
	case "MAIL":
		return s.cmdMail(cmd.Arg)
	case "RCPT":
		return s.cmdRcpt(cmd.Arg)
	case "DATA":
		return s.cmdData(cmd.Arg)
	case "RSET":
		if cmd.Arg != "" {
			return R(501, "5.5.4", "Syntax: RSET")
		}
		s.resetTx()
		return R(250, "2.0.0", "OK")
	case "NOOP":
		return R(250, "2.0.0", "OK")
	case "QUIT":
		s.closed = true
		return R(221, "2.0.0", s.cfg.Hostname+" Service closing transmission channel")
	case "VRFY":
		return s.cmdVrfy(cmd.Arg)
	case "EXPN":
		return s.cmdExpn(cmd.Arg)
	case "HELP":
		return s.cmdHelp(cmd.Arg)
	case "STARTTLS":
		return s.cmdStartTLS(cmd.Arg)
	case "AUTH":
		return s.cmdAuth(cmd.Arg)
	case "BDAT":
		return s.cmdBdat(cmd.Arg)
	case "SEND", "SOML", "SAML", "TURN", "ETRN", "ATRN", "BURL", "VERB":
		// RFC 5321 §4.5.1 and Appendix F: obsolete or not offered.
		return R(502, "5.5.1", "Command not implemented")
	case "GET", "POST", "HEAD", "PUT", "CONNECT", "OPTIONS", "DELETE", "PATCH", "TRACE":
		// A web client (or a cross-protocol attack through one):
		// never let the rest of its request run as SMTP commands.
		s.closed = true
		return R(421, "4.7.0", s.cfg.Hostname+" This is an SMTP server, not HTTP: closing connection")
	default:
		return R(500, "5.5.1", "Command unrecognized")
	}
}
