package netio

import (
	"github.com/urfave/cli/v2"
)

// The long option names every server shares. They are also the names in
// a --config file ("listen = 127.0.0.1:25").
const (
	FlagListen           = "listen"
	FlagTLSCert          = "tls-cert"
	FlagTLSKey           = "tls-key"
	FlagTLSImplicit      = "tls-implicit"
	FlagMaxConns         = "max-conns"
	FlagMaxPerIP         = "max-per-ip"
	FlagGrace            = "grace"
	FlagHandshakeTimeout = "tls-handshake-timeout"
)

// Flags returns the command-line flags smtpd, pop3d and imapd share, so
// that the three servers are started the same way. Read them back with
// OptionsFromCLI. Each call returns new flag values.
func Flags() []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{
			Name:  FlagListen,
			Usage: "listen on `ADDR` (host:port, [v6addr]:port, :port or unix:/path; repeatable) instead of serving stdin/stdout or systemd's LISTEN_FDS sockets",
		},
		&cli.StringFlag{
			Name:  FlagTLSCert,
			Usage: "TLS certificate chain `FILE` (PEM); enables STARTTLS. Default: $CERTFILE",
		},
		&cli.StringFlag{
			Name:  FlagTLSKey,
			Usage: "TLS private key `FILE` (PEM). Default: $KEYFILE, else the certificate file",
		},
		&cli.BoolFlag{
			Name:  FlagTLSImplicit,
			Usage: "speak TLS from the first byte (ports 465, 993, 995) instead of offering STARTTLS",
		},
		&cli.DurationFlag{
			Name:  FlagHandshakeTimeout,
			Usage: "give up on a TLS handshake after `DURATION`",
			Value: DefaultHandshakeTimeout,
		},
		&cli.IntFlag{
			Name:  FlagMaxConns,
			Usage: "with --listen or LISTEN_FDS: serve at most `N` sessions at once (-1: no limit)",
			Value: DefaultMaxConns,
		},
		&cli.IntFlag{
			Name:  FlagMaxPerIP,
			Usage: "with --listen or LISTEN_FDS: at most `N` sessions from one IPv4 address or IPv6 /64 (-1: no limit)",
			Value: DefaultMaxPerIP,
		},
		&cli.DurationFlag{
			Name:  FlagGrace,
			Usage: "on SIGTERM, stop accepting and let sessions finish for up to `DURATION`",
			Value: DefaultGrace,
		},
	}
}

// OptionsFromCLI reads the flags of Flags into Options. The caller adds
// its Logger (and anything else) before calling Serve.
func OptionsFromCLI(c *cli.Context) Options {
	return Options{
		Listen:           c.StringSlice(FlagListen),
		TLSCertFile:      c.String(FlagTLSCert),
		TLSKeyFile:       c.String(FlagTLSKey),
		TLSImplicit:      c.Bool(FlagTLSImplicit),
		HandshakeTimeout: c.Duration(FlagHandshakeTimeout),
		MaxConns:         c.Int(FlagMaxConns),
		MaxPerIP:         c.Int(FlagMaxPerIP),
		Grace:            c.Duration(FlagGrace),
	}
}
