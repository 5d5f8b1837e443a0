// Package relay delivers queued mail over SMTP: to a smarthost, or
// straight to the recipient domains' MX hosts. It is the queue runner's
// transport (queue.Transport).
package relay

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"mailtk/internal/queue"
)

// Hop is one host to try, with its addresses (none: resolve Name).
type Hop struct {
	Name  string
	Addrs []netip.Addr
}

// MXResolver gives the hosts that receive mail for a domain, in the order
// to try them (RFC 5321 §5.1). A permanent error (the domain does not
// exist, or has a null MX) fails the recipients; a temporary one defers.
type MXResolver interface {
	Hosts(ctx context.Context, domain string) ([]Hop, error)
}

// PermanentError marks a resolution failure that will not change on retry.
// Status is the RFC 3463 code to report; "5.1.2" (bad destination system)
// when empty.
type PermanentError struct {
	Err    error
	Status string
}

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Transport sends messages over SMTP.
type Transport struct {
	// Smarthost is HOST[:PORT] to relay everything through; empty means
	// direct delivery to each domain's MX hosts through MX.
	Smarthost string
	// Insecure allows a smarthost connection without TLS. By default
	// STARTTLS is required.
	Insecure bool
	// ImplicitTLS speaks TLS to the smarthost from the first byte
	// (submissions over TLS, RFC 8314 §3.3); port 465 implies it.
	ImplicitTLS bool
	// Username and Password authenticate to the smarthost (AUTH PLAIN,
	// or LOGIN when PLAIN is not offered); only ever sent over TLS,
	// unless Insecure.
	Username, Password string
	// Hostname is what we say in EHLO.
	Hostname string
	// MX resolves recipient domains for direct delivery.
	MX MXResolver
	// Port is the SMTP port for direct delivery; default 25.
	Port int
	// TLSConfig is the base TLS configuration (RootCAs for tests). The
	// smarthost's certificate is verified; MX hosts get opportunistic
	// TLS (RFC 7435: encrypt when offered, accept any certificate).
	TLSConfig *tls.Config
	// Timeout bounds each step of a session: connecting and each
	// command's reply; default 5m. Sending the message is not bounded as
	// a whole: each block of data written has 3/5 of Timeout and the
	// reply to the final dot twice Timeout, the proportions of RFC 5321
	// §4.5.3.2 (5, 3 and 10 minutes).
	Timeout time.Duration
	// Dial opens connections; default a net.Dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Deliver implements queue.Transport.
func (t *Transport) Deliver(ctx context.Context, env *queue.Envelope, rcpts []*queue.Recipient, msg io.ReaderAt, size int64) []queue.Result {
	results := make([]queue.Result, len(rcpts))
	if t.Smarthost != "" {
		host, port := splitHostPort(t.Smarthost, 25)
		idx := make([]int, len(rcpts))
		for i := range idx {
			idx[i] = i
		}
		t.deliverHops(ctx, env, rcpts, idx, results, []Hop{{Name: host}}, port, true, msg, size)
		return results
	}
	// Direct delivery: one group per recipient domain.
	groups := map[string][]int{}
	var order []string
	for i, rc := range rcpts {
		d := strings.ToLower(domainOf(rc.Addr))
		if _, ok := groups[d]; !ok {
			order = append(order, d)
		}
		groups[d] = append(groups[d], i)
	}
	for _, d := range order {
		idx := groups[d]
		hops, err := t.MX.Hosts(ctx, d)
		if err != nil {
			var perm *PermanentError
			res := queue.Result{Temporary: true, Status: "4.4.3", Text: "looking up " + d + ": " + err.Error()}
			if errors.As(err, &perm) {
				status := perm.Status
				if status == "" {
					status = "5.1.2"
				}
				res = queue.Result{Status: status, Text: "looking up " + d + ": " + err.Error()}
			}
			for _, i := range idx {
				results[i] = res
			}
			continue
		}
		port := t.Port
		if port == 0 {
			port = 25
		}
		t.deliverHops(ctx, env, rcpts, idx, results, hops, port, false, msg, size)
	}
	return results
}

// deliverHops tries the hosts in order until every recipient in idx has a
// final answer or the hosts run out; a connection failure or a 4xx moves
// on to the next host with the recipients still deferred.
func (t *Transport) deliverHops(ctx context.Context, env *queue.Envelope, rcpts []*queue.Recipient, idx []int, results []queue.Result, hops []Hop, port int, smarthost bool, msg io.ReaderAt, size int64) {
	for _, i := range idx {
		results[i] = queue.Result{Temporary: true, Status: "4.4.1", Text: "no host could be reached"}
	}
	remaining := idx
	for _, hop := range hops {
		addrs := []string{hop.Name}
		if len(hop.Addrs) > 0 {
			addrs = addrs[:0]
			for _, a := range hop.Addrs {
				addrs = append(addrs, a.String())
			}
		}
		for _, a := range addrs {
			if len(remaining) == 0 || ctx.Err() != nil {
				return
			}
			remaining = t.session(ctx, env, rcpts, remaining, results, hop.Name, net.JoinHostPort(a, strconv.Itoa(port)), smarthost, msg, size)
		}
	}
}

// open starts the SMTP session: greeting, EHLO, and STARTTLS when the
// server offers it (required when requireTLS). It returns the client and
// the connection it runs on (a new one when the server had no STARTTLS).
//
// go-smtp only exposes STARTTLS through NewClientStartTLS, which says
// EHLO as "localhost" before the upgrade; the EHLO after the upgrade,
// the one the server's policy applies to, carries our name. A server
// that does not offer STARTTLS costs a second connection in plaintext.
// The greeting and the exchange before the upgrade run under go-smtp's
// own command timeout, RFC 5321's 5 minutes.
func (t *Transport) open(ctx context.Context, conn net.Conn, addr string, tlsConf *tls.Config, implicit, requireTLS bool, to timeouts) (*smtp.Client, net.Conn, error) {
	hello := func(c *smtp.Client) (*smtp.Client, net.Conn, error) {
		c.CommandTimeout, c.SubmissionTimeout = to.command, to.final
		if err := c.Hello(t.Hostname); err != nil {
			c.Close()
			return nil, nil, err
		}
		return c, conn, nil
	}
	if implicit {
		return hello(smtp.NewClient(conn))
	}
	c, err := smtp.NewClientStartTLS(conn, tlsConf)
	if err == nil {
		return hello(c)
	}
	var se *smtp.SMTPError
	if errors.As(err, &se) || !strings.Contains(err.Error(), "support STARTTLS") {
		return nil, nil, err
	}
	if requireTLS {
		return nil, nil, &smtp.SMTPError{Code: 454, EnhancedCode: smtp.EnhancedCode{4, 7, 0}, Message: "smarthost does not offer STARTTLS and TLS is required"}
	}
	dctx, cancel := context.WithTimeout(ctx, to.command)
	defer cancel()
	conn, err = t.dial(dctx, addr)
	if err != nil {
		return nil, nil, err
	}
	return hello(smtp.NewClient(conn))
}

// timeouts are one session's limits per step (RFC 5321 §4.5.3.2).
type timeouts struct {
	command time.Duration // connecting, each command's reply
	block   time.Duration // each block of DATA written
	final   time.Duration // the reply to the final dot
}

// timeouts returns t's step limits: Timeout per command, and the data
// block and final-dot limits in the proportions of RFC 5321 §4.5.3.2
// (5, 3 and 10 minutes by default).
func (t *Transport) timeouts() timeouts {
	cmd := t.Timeout
	if cmd <= 0 {
		cmd = 5 * time.Minute
	}
	return timeouts{command: cmd, block: cmd * 3 / 5, final: cmd * 2}
}

func (t *Transport) dial(ctx context.Context, addr string) (net.Conn, error) {
	dial := t.Dial
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	return dial(ctx, "tcp", addr)
}

// connect dials addr and opens the SMTP session (TLS and EHLO). The
// returned connection is the one under the client, for DATA's deadlines.
func (t *Transport) connect(ctx context.Context, name, addr string, smarthost bool, to timeouts) (*smtp.Client, net.Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, to.command)
	defer cancel()
	conn, err := t.dial(dctx, addr)
	if err != nil {
		return nil, nil, err
	}
	tlsConf := t.tlsConfig(name, smarthost)
	implicit := smarthost && (t.ImplicitTLS || strings.HasSuffix(addr, ":465"))
	if implicit {
		tc := tls.Client(conn, tlsConf)
		if err := tc.HandshakeContext(dctx); err != nil {
			conn.Close()
			return nil, nil, err
		}
		conn = tc
	}
	return t.open(ctx, conn, addr, tlsConf, implicit, smarthost && !t.Insecure, to)
}

// session runs one SMTP transaction with one host and returns the
// recipients that are still only temporarily refused. Each step has its
// own time limit (see timeouts), so a large message over a slow link
// takes as long as it needs while the data keeps moving; ctx ends the
// session at any step.
func (t *Transport) session(ctx context.Context, env *queue.Envelope, rcpts []*queue.Recipient, idx []int, results []queue.Result, name, addr string, smarthost bool, msg io.ReaderAt, size int64) []int {
	to := t.timeouts()
	c, conn, err := t.connect(ctx, name, addr, smarthost, to)
	if err != nil {
		return failSome(err, name, idx, results)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if smarthost {
		if err := t.auth(c); err != nil {
			return failSome(err, name, idx, results)
		}
	}
	accepted, temp, err := envelope(c, env, rcpts, idx, results, name, size)
	if err != nil {
		return failSome(err, name, idx, results)
	}
	if len(accepted) == 0 {
		c.Quit()
		return temp
	}
	resp, err := data(c, conn, to, msg, size)
	if err != nil {
		return append(temp, failSome(err, name, accepted, results)...)
	}
	for _, i := range accepted {
		results[i] = queue.Result{OK: true, Status: "2.0.0", Text: fmt.Sprintf("250 %s", resp.StatusText), RemoteMTA: name}
	}
	c.Quit()
	return temp
}

// auth authenticates to the smarthost when a username is configured.
func (t *Transport) auth(c *smtp.Client) error {
	if t.Username == "" {
		return nil
	}
	var a sasl.Client
	switch {
	case c.SupportsAuth("PLAIN"):
		a = sasl.NewPlainClient("", t.Username, t.Password)
	case c.SupportsAuth("LOGIN"):
		a = sasl.NewLoginClient(t.Username, t.Password)
	default:
		return &smtp.SMTPError{Code: 454, EnhancedCode: smtp.EnhancedCode{4, 7, 0}, Message: "smarthost offers neither AUTH PLAIN nor LOGIN"}
	}
	return c.Auth(a)
}

// envelope sends MAIL FROM and one RCPT TO per recipient in idx, with the
// DSN parameters when the server has DSN. It returns the recipients
// accepted and those refused temporarily (their results set); err is a
// MAIL FROM failure, which concerns them all.
func envelope(c *smtp.Client, env *queue.Envelope, rcpts []*queue.Recipient, idx []int, results []queue.Result, name string, size int64) (accepted, temp []int, err error) {
	hasDSN, _ := c.Extension("DSN")
	mo := &smtp.MailOptions{Size: size, EnvelopeID: env.EnvID, UTF8: env.SMTPUTF8}
	if env.Body == "8BITMIME" {
		mo.Body = smtp.Body8BitMIME
	}
	switch strings.ToUpper(env.RET) {
	case "FULL":
		mo.Return = smtp.DSNReturnFull
	case "HDRS":
		mo.Return = smtp.DSNReturnHeaders
	}
	if !hasDSN {
		mo.Return, mo.EnvelopeID = "", ""
	}
	if err := c.Mail(env.From, mo); err != nil {
		return nil, nil, err
	}
	for _, i := range idx {
		ro := &smtp.RcptOptions{}
		if hasDSN && rcpts[i].Notify != "" {
			for _, n := range strings.Split(strings.ToUpper(rcpts[i].Notify), ",") {
				ro.Notify = append(ro.Notify, smtp.DSNNotify(strings.TrimSpace(n)))
			}
		}
		if hasDSN && rcpts[i].ORCPT != "" {
			if typ, addr, ok := strings.Cut(rcpts[i].ORCPT, ";"); ok {
				ro.OriginalRecipientType, ro.OriginalRecipient = smtp.DSNAddressType(strings.ToUpper(typ)), addr
			}
		}
		if err := c.Rcpt(rcpts[i].Addr, ro); err != nil {
			results[i] = classify(err, name)
			if results[i].Temporary {
				temp = append(temp, i)
			}
			continue
		}
		accepted = append(accepted, i)
	}
	return accepted, temp, nil
}

// data sends the message. The DATA command has the command timeout;
// while the message is written each block has to.block (the deadline
// moves with every block, so only a stalled transfer times out); the
// reply to the final dot gets to.final (RFC 5321 §4.5.3.2).
func data(c *smtp.Client, conn net.Conn, to timeouts, msg io.ReaderAt, size int64) (*smtp.DataResponse, error) {
	w, err := c.Data()
	if err != nil {
		return nil, err
	}
	dw := &deadlineWriter{w: w, conn: conn, d: to.block}
	if _, err := io.Copy(dw, &lineEnds{r: bufio.NewReader(io.NewSectionReader(msg, 0, size))}); err != nil {
		return nil, err // never the final dot: the caller closes the connection
	}
	// The final dot is written under the last block's deadline; go-smtp
	// then waits for the reply for c.SubmissionTimeout (to.final).
	conn.SetWriteDeadline(time.Now().Add(to.block))
	return w.CloseWithResponse()
}

// deadlineWriter moves conn's write deadline d ahead before every block
// it passes to w: the RFC 5321 §4.5.3.2 data block timeout.
type deadlineWriter struct {
	w    io.Writer
	conn net.Conn
	d    time.Duration
}

func (dw *deadlineWriter) Write(p []byte) (int, error) {
	if err := dw.conn.SetWriteDeadline(time.Now().Add(dw.d)); err != nil {
		return 0, err
	}
	return dw.w.Write(p)
}

func failSome(err error, name string, idx []int, results []queue.Result) []int {
	res := classify(err, name)
	for _, i := range idx {
		results[i] = res
	}
	if res.Temporary {
		return idx
	}
	return nil
}

func (t *Transport) tlsConfig(name string, smarthost bool) *tls.Config {
	var c *tls.Config
	if t.TLSConfig != nil {
		c = t.TLSConfig.Clone()
	} else {
		c = &tls.Config{}
	}
	c.ServerName = name
	if !smarthost {
		// RFC 7435 opportunistic security: MX certificates are rarely
		// valid for the MX name, and refusing would only push the
		// message to plaintext. Authenticated TLS to MX hosts needs
		// DANE or MTA-STS, which this transport does not implement.
		c.InsecureSkipVerify = true
	}
	return c
}

// classify turns an SMTP reply or a network error into a Result.
func classify(err error, host string) queue.Result {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		code := se.EnhancedCode
		status := fmt.Sprintf("%d.%d.%d", code[0], code[1], code[2])
		if code[0] == 0 || code == smtp.NoEnhancedCode {
			status = fmt.Sprintf("%d.0.0", se.Code/100)
		}
		text := fmt.Sprintf("%d %s %s", se.Code, status, se.Message)
		return queue.Result{Temporary: se.Code/100 == 4, Status: status, Text: text, RemoteMTA: host}
	}
	return queue.Result{Temporary: true, Status: "4.4.1", Text: fmt.Sprintf("%s: %v", host, err), RemoteMTA: host}
}

func splitHostPort(s string, def int) (string, int) {
	h, p, err := net.SplitHostPort(s)
	if err != nil {
		return s, def
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		return h, def
	}
	return h, n
}

func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return addr[i+1:]
	}
	return ""
}

// lineEnds normalises line ends for the wire: CRLF and LF become LF (the
// DATA writer turns every LF into CRLF and dot-stuffs), and a bare CR,
// which no SMTP server should be sent (RFC 5321 §2.3.8), becomes a line
// break too.
type lineEnds struct {
	r   *bufio.Reader
	out []byte
}

func (l *lineEnds) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		b, err := l.r.ReadByte()
		if err != nil {
			if n > 0 {
				return n, nil
			}
			return 0, err
		}
		if b == '\r' {
			if next, err := l.r.Peek(1); err == nil && next[0] == '\n' {
				continue // CRLF: the LF follows
			}
			b = '\n'
		}
		p[n] = b
		n++
	}
	return n, nil
}
