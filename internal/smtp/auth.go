package smtp

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"

	"mailtk/internal/lineio"
)

// authOffered reports whether AUTH may be used on this connection: it is
// configured, not used yet, and the password cannot be read off the wire
// (TLS, or a local client) unless InsecureAuth says otherwise.
func (s *session) authOffered() bool {
	return s.cfg.Auth && s.st.AuthUser == "" && (s.st.TLS || s.st.Peer.Local || s.cfg.InsecureAuth)
}

var errAuthCancelled = &Error{Code: 501, Enhanced: "5.0.0", Text: "Authentication cancelled"}

// cmdAuth answers AUTH (RFC 4954) with the PLAIN (RFC 4616) and LOGIN
// mechanisms.
func (s *session) cmdAuth(arg string) Reply {
	switch {
	case !s.cfg.Auth:
		return R(502, "5.5.1", "AUTH not available")
	case !s.st.ESMTP:
		return R(503, "5.5.1", "Send EHLO first")
	case s.st.AuthUser != "":
		return R(503, "5.5.1", "Already authenticated")
	case s.env != nil:
		return R(503, "5.5.1", "AUTH not allowed during a mail transaction")
	case !s.authOffered():
		return R(538, "5.7.11", "Encryption required for requested authentication mechanism")
	}
	mech, initial, _ := strings.Cut(arg, " ")
	var user, pass string
	var err error
	switch strings.ToUpper(mech) {
	case "PLAIN":
		user, pass, err = s.authPlain(initial)
	case "LOGIN":
		user, pass, err = s.authLogin(initial)
	default:
		return R(504, "5.5.4", "Unrecognized authentication type")
	}
	if s.closed {
		return Reply{}
	}
	if err != nil {
		return ReplyOf(err)
	}
	if err := s.be.Auth(s.ctx, &s.st, user, pass); err != nil {
		return ReplyOf(err)
	}
	s.st.AuthUser = user
	return R(235, "2.7.0", "Authentication successful")
}

// authLine sends a 334 challenge and reads the client's base64 answer.
func (s *session) authLine(challenge string) ([]byte, error) {
	s.reply(R(334, "", challenge))
	s.lr.SetMax(s.cfg.AuthLineMax)
	line, end, err := s.readLine(s.cfg.CommandTimeout)
	s.lr.SetMax(s.cfg.CommandLineMax)
	switch {
	case errors.Is(err, lineio.ErrTooLong):
		return nil, Errorf(500, "5.5.6", "Authentication exchange line is too long")
	case err != nil && line == nil:
		return nil, err
	case end != lineio.CRLF:
		return nil, Errorf(500, "5.5.2", "Syntax error: bare LF refused")
	}
	if string(line) == "*" {
		return nil, errAuthCancelled
	}
	return decode64(string(line))
}

func decode64(s string) ([]byte, error) {
	if s == "=" {
		return nil, nil // RFC 4954 §4: an empty initial response
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, Errorf(501, "5.5.2", "Cannot decode base64 response")
	}
	return b, nil
}

// authPlain reads "authzid NUL authcid NUL passwd" (RFC 4616 §2).
func (s *session) authPlain(initial string) (user, pass string, err error) {
	var b []byte
	if initial == "" {
		b, err = s.authLine("")
	} else {
		b, err = decode64(initial)
	}
	if err != nil {
		return "", "", err
	}
	parts := bytes.Split(b, []byte{0})
	if len(parts) != 3 || len(parts[1]) == 0 {
		return "", "", Errorf(501, "5.5.2", "Malformed PLAIN response")
	}
	if len(parts[0]) > 0 && !bytes.Equal(parts[0], parts[1]) {
		return "", "", Errorf(535, "5.7.8", "Proxy authorization (authzid) is not supported")
	}
	return checkedUser(string(parts[1]), string(parts[2]))
}

// authLogin runs the LOGIN exchange (draft-murchison-sasl-login).
func (s *session) authLogin(initial string) (user, pass string, err error) {
	var u []byte
	if initial != "" {
		u, err = decode64(initial)
	} else {
		u, err = s.authLine("VXNlcm5hbWU6") // "Username:"
	}
	if err != nil {
		return "", "", err
	}
	p, err := s.authLine("UGFzc3dvcmQ6") // "Password:"
	if err != nil {
		return "", "", err
	}
	return checkedUser(string(u), string(p))
}

// checkedUser refuses names that could forge a log line or header.
func checkedUser(user, pass string) (string, string, error) {
	if user == "" || len(user) > 256 || sanitize(user, 256) != user || strings.ContainsAny(user, " \t") {
		return "", "", ErrAuthFailed
	}
	return user, pass, nil
}
