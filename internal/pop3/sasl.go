package pop3

import (
	"bytes"
	"context"
	"encoding/base64"
	"strings"
)

// cmdAuth answers AUTH (RFC 5034). Only PLAIN is offered: the
// credentials are the ones USER/PASS would carry, so the same rule about
// secure connections applies.
func (s *Session) cmdAuth(ctx context.Context, cmd Command) Response {
	if len(cmd.Args) == 0 {
		// QUIRK: AUTH with no mechanism lists the mechanisms, as in the
		// draft RFC 5034 replaced; Outlook and Dovecot still use it.
		r := ok("Supported mechanisms follow")
		r.Multi = true
		if s.opts.Secure {
			r.Lines = []string{"PLAIN"}
		}
		return r
	}
	if len(cmd.Args) > 2 {
		return s.protocolError("Usage: AUTH mechanism [initial-response]")
	}
	if !strings.EqualFold(cmd.Args[0], "PLAIN") {
		return fail("", "Unsupported authentication mechanism")
	}
	if !s.opts.Secure {
		return s.insecure()
	}
	s.user = ""
	if len(cmd.Args) == 1 {
		// RFC 5034 §4: an empty challenge.
		s.saslPending = true
		return Response{Continue: true, TopLines: -1}
	}
	return s.plain(ctx, cmd.Args[1])
}

// saslResponse handles the line that follows a "+ " continuation.
func (s *Session) saslResponse(ctx context.Context, line []byte) Response {
	if string(line) == "*" {
		// RFC 5034 §4: the client cancelled the exchange.
		return fail("", "Authentication cancelled")
	}
	return s.plain(ctx, string(line))
}

// plain checks a base64 SASL PLAIN response (RFC 4616 §2):
// [authzid] NUL authcid NUL passwd. "=" is the empty response (RFC 5034
// §4). Acting for another identity is not supported.
func (s *Session) plain(ctx context.Context, b64 string) Response {
	if b64 == "=" {
		b64 = ""
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return s.authFailedText("Invalid base64 in SASL response")
	}
	authz, authc, pass, good := ParsePlain(raw)
	if !good {
		return s.authFailedText("Malformed SASL PLAIN response")
	}
	if authz != "" && authz != authc {
		return s.authFailedText("Authorization identity not permitted")
	}
	return s.login(ctx, authc, pass)
}

func (s *Session) authFailedText(text string) Response {
	r := s.authFailed()
	r.Text = text + strings.TrimPrefix(r.Text, "Authentication failed")
	return r
}

// ParsePlain splits a decoded SASL PLAIN message (RFC 4616 §2) into its
// authorization identity, authentication identity and password. It
// reports false unless there are exactly two NULs and a non-empty
// authentication identity.
func ParsePlain(b []byte) (authzid, authcid, passwd string, good bool) {
	parts := bytes.Split(b, []byte{0})
	if len(parts) != 3 || len(parts[1]) == 0 {
		return "", "", "", false
	}
	return string(parts[0]), string(parts[1]), string(parts[2]), true
}
