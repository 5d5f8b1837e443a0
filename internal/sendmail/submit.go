package sendmail

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/user"
	"strings"

	"github.com/urfave/cli/v2"

	"mailtk/internal/exitcode"
	"mailtk/internal/mx"
	"mailtk/internal/queue"
	"mailtk/internal/relay"
)

// submit is the default mode (-bm): read the message, deliver local
// recipients, queue the rest, and exit 0 only when every recipient is
// delivered or safely queued.
func submit(c *cli.Context, log *slog.Logger) error {
	s := Submission{
		From:           c.String("from"),
		FullName:       c.String("fullname"),
		ReadRecipients: c.Bool("read-recipients"),
		IgnoreDots:     c.Bool("ignore-dots"),
		MaxSize:        c.Int64("max-size"),
		Hostname:       hostname(c),
		Getenv:         os.Getenv,
	}
	if u, err := user.Current(); err == nil {
		s.User = u.Username
	}
	rcpts := c.Args().Slice()
	if !s.ReadRecipients && len(rcpts) == 0 {
		return exitcode.Errorf(exitcode.Usage, "no recipients given (use -t to read them from the message)")
	}
	p, err := Prepare(stdin(c), s)
	if err != nil {
		return err
	}
	rcpts = append(rcpts, p.Recipients...)
	if len(rcpts) == 0 {
		return exitcode.Errorf(exitcode.Usage, "no recipients in the message's To, Cc or Bcc")
	}
	for i, r := range rcpts {
		if err := checkAddress(r); err != nil {
			return exitcode.Errorf(exitcode.DataErr, "recipient %q: %v", r, err)
		}
		if !strings.Contains(r, "@") {
			rcpts[i] = r + "@" + s.Hostname
		}
	}
	rt, err := newRouter(c, s.Hostname, log)
	if err != nil {
		return err
	}
	env := queue.Envelope{
		From:  p.Sender,
		RET:   strings.ToUpper(c.String("ret")),
		EnvID: c.String("envid"),
		Body:  strings.ToUpper(c.String("body-type")),
	}
	for _, r := range rcpts {
		env.Recipients = append(env.Recipients, queue.Recipient{Addr: r, Notify: strings.ToUpper(c.String("notify"))})
	}
	return rt.route(c.Context, log, env, p)
}

// checkAddress refuses what can never be an address on an SMTP command
// line: control characters, spaces, angle brackets.
func checkAddress(a string) error {
	if a == "" {
		return errors.New("empty")
	}
	for _, r := range a {
		if r < 0x21 || r == 0x7f || r == '<' || r == '>' {
			return errors.New("contains a space, control character or angle bracket")
		}
	}
	return nil
}

// transport builds the SMTP transport the queue runner uses.
func transport(c *cli.Context) (*relay.Transport, error) {
	t := &relay.Transport{
		Smarthost:   c.String("relay"),
		Insecure:    c.Bool("relay-insecure"),
		ImplicitTLS: c.Bool("relay-tls"),
		Hostname:    hostname(c),
		Timeout:     c.Duration("timeout"),
		Port:        c.Int("mx-port"),
	}
	if f := c.String("relay-auth"); f != "" {
		u, p, err := readAuthFile(f)
		if err != nil {
			return nil, exitcode.New(exitcode.Config, err)
		}
		t.Username, t.Password = u, p
	}
	if t.Smarthost == "" {
		r, err := mx.NewResolver(mx.Options{Servers: c.StringSlice("dns-server")})
		if err != nil {
			return nil, exitcode.New(exitcode.Config, err)
		}
		t.MX = relay.MXHosts(r)
	}
	return t, nil
}

// readAuthFile reads "user password" from a file that only its owner may
// read: a password file others can read is a configuration error.
func readAuthFile(path string) (user, pass string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return "", "", err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", "", err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return "", "", fmt.Errorf("%s: readable by others (mode %v); chmod 600 it", path, fi.Mode().Perm())
	}
	b := make([]byte, 4096)
	n, err := f.Read(b)
	if err != nil && !errors.Is(err, fs.ErrClosed) && n == 0 {
		return "", "", fmt.Errorf("%s: %v", path, err)
	}
	line, _, _ := strings.Cut(string(b[:n]), "\n")
	user, pass, ok := strings.Cut(strings.TrimSpace(line), " ")
	if !ok || user == "" {
		return "", "", fmt.Errorf("%s: expected \"user password\" on the first line", path)
	}
	return user, strings.TrimSpace(pass), nil
}
