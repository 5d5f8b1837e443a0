package pop3d

import (
	"bufio"
	"context"
	"errors"
	"io"
	"time"

	"mailtk/internal/lineio"
	"mailtk/internal/netio"
	"mailtk/internal/pop3"
)

// Default timeouts.
const (
	// DefaultTimeout is the idle timeout after login: RFC 1939 §3 asks
	// for at least 10 minutes.
	DefaultTimeout = 10 * time.Minute
	// DefaultLoginTimeout is the idle timeout before login, shorter so
	// that idle unauthenticated connections don't pile up.
	DefaultLoginTimeout = 2 * time.Minute
)

// Implementation is the CAPA IMPLEMENTATION value (RFC 2449 §6.9).
const Implementation = "mailtk-pop3d"

// deadlineWriter pushes the write deadline forward before each write,
// so a client that stops reading in the middle of a long RETR is dropped
// after the timeout while a slow but steady one is not.
type deadlineWriter struct {
	c       *netio.Conn
	timeout time.Duration
	n       int64
}

func (w *deadlineWriter) Write(p []byte) (int, error) {
	w.c.SetWriteDeadline(time.Now().Add(w.timeout))
	n, err := w.c.Write(p)
	w.n += int64(n)
	return n, err
}

// ServeConn runs one POP3 session on conn. It is the only place that
// reads from and writes to the connection: the pop3.Session decides,
// ServeConn reads bounded lines, applies deadlines, writes responses,
// starts TLS and logs the session.
func ServeConn(ctx context.Context, cfg *Config, conn *netio.Conn) {
	start := time.Now()
	log := cfg.Logger.With("peer", conn.Peer)
	timeout, loginTimeout := cfg.Timeout, cfg.LoginTimeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	if loginTimeout <= 0 {
		loginTimeout = DefaultLoginTimeout
	}
	opts := pop3.Options{
		Hostname:       cfg.Hostname,
		Implementation: Implementation,
		CanStartTLS:    conn.CanStartTLS(),
		Secure:         conn.PlaintextAuthOK(),
		Logger:         log,
	}
	dw := &deadlineWriter{c: conn, timeout: timeout}
	bw := bufio.NewWriterSize(dw, 64<<10)
	wr := pop3.NewWriter(bw)
	write := func(r pop3.Response) error {
		_, err := wr.Write(&r)
		return err
	}

	var s *pop3.Session
	if cfg.Preauth != nil {
		md, err := OpenMaildrop(cfg.Preauth.Maildir, log)
		if err != nil {
			log.Error("preauth maildrop", "maildir", cfg.Preauth.Maildir, "err", err)
			r := preauthError(err)
			write(r)
			bw.Flush()
			return
		}
		s = pop3.NewPreauthSession(opts, cfg.Preauth.Name, md)
	} else {
		opts.Auth = pop3.AuthenticatorFunc(func(ctx context.Context, user, pass string) (pop3.Maildrop, error) {
			return cfg.login(ctx, conn.Peer, log, user, pass)
		})
		s = pop3.NewSession(opts)
	}
	defer s.Close()

	lr := lineio.NewReader(conn, pop3.MaxSASL)
	reason := "quit"
	err := write(s.Greeting())
	for err == nil {
		if lr.Buffered() == 0 {
			// PIPELINING (RFC 2449 §6.6): answers to pipelined commands
			// go out together, once the client has nothing more queued.
			if err = bw.Flush(); err != nil {
				break
			}
		}
		if draining(conn) {
			reason = "shutdown"
			if err = write(pop3.Response{Code: pop3.CodeSysTemp, Text: "Server shutting down, try again later"}); err == nil {
				err = bw.Flush()
			}
			break
		}
		if s.WantSASL() {
			lr.SetMax(pop3.MaxSASL)
		} else {
			lr.SetMax(pop3.MaxCommand)
		}
		idle := timeout
		if s.State() == pop3.Authorization {
			idle = loginTimeout
		}
		conn.SetReadDeadline(time.Now().Add(idle))
		// QUIRK: RFC 1939 §3 ends commands with CRLF; a bare LF (netcat,
		// some scripts) is accepted too, as qmail-pop3d and Dovecot do.
		// Unlike SMTP there is no message data after a command that a
		// line-ending difference could smuggle.
		line, _, rerr := lr.ReadLine()
		var r pop3.Response
		switch {
		case errors.Is(rerr, lineio.ErrTooLong):
			r = s.LineTooLong()
		case isTimeout(rerr):
			r, reason = s.Timeout(), "timeout"
		case rerr != nil:
			if !errors.Is(rerr, io.EOF) {
				log.Debug("read", "err", rerr)
			}
			reason, err = "disconnected", rerr
			continue
		default:
			r = s.Handle(ctx, line)
		}
		if err = write(r); err != nil {
			break
		}
		if r.Close || r.StartTLS {
			if err = bw.Flush(); err != nil {
				break
			}
		}
		if r.Close {
			break
		}
		if r.StartTLS {
			// RFC 2595 §4 and CVE-2021-38084: whatever the client sent
			// after STLS in plaintext is thrown away, never executed.
			n, terr := conn.StartTLSLines(nil, lr)
			if n > 0 {
				log.Warn("discarded plaintext sent after STLS", "octets", n)
			}
			if terr != nil {
				log.Info("TLS handshake failed", "err", terr)
				reason, err = "tls-failed", terr
				continue
			}
			bw.Reset(dw)
			s.TLSStarted()
		}
	}
	st := s.Stats()
	log.Info("session", "user", st.User, "end", reason, "state", s.State().String(),
		"messages", st.Messages, "retrieved", st.Retrieved, "deleted", st.Deleted,
		"tls", conn.TLS(), "out", dw.n, "duration", time.Since(start).Round(time.Millisecond))
}

// draining reports whether the server is shutting down (SIGTERM in
// listener mode): the session ends between commands, without UPDATE.
func draining(conn *netio.Conn) bool {
	select {
	case <-conn.Draining():
		return true
	default:
		return false
	}
}

func isTimeout(err error) bool {
	var ne interface{ Timeout() bool }
	return err != nil && errors.As(err, &ne) && ne.Timeout()
}

// preauthError answers a connection whose preauthenticated maildrop
// cannot be opened.
func preauthError(err error) pop3.Response {
	var pe *pop3.Error
	switch {
	case errors.Is(err, pop3.ErrInUse):
		return pop3.Response{Code: pop3.CodeInUse, Text: "Maildrop is locked by another POP3 session, try again later", Close: true}
	case errors.As(err, &pe):
		return pop3.Response{Code: pe.Code, Text: pe.Text, Close: true}
	}
	return pop3.Response{Code: pop3.CodeSysTemp, Text: "Mailbox unavailable, try again later", Close: true}
}
