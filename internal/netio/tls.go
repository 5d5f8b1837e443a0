package netio

import (
	"context"
	"crypto/tls"
	"fmt"
	"os"
	"sync"
	"time"

	"mailtk/internal/exitcode"
	"mailtk/internal/lineio"
)

// TLSConfig returns the server TLS configuration from TLSCertFile and
// TLSKeyFile (or CERTFILE/KEYFILE), or nil when no certificate is
// configured. The files are loaded now, so a bad path or key is reported
// at start-up as a configuration error (exit 78); afterwards they are
// re-read when they change, so a renewed certificate is used by new
// handshakes without a restart.
//
// The configuration allows TLS 1.2 and later only (RFC 8996, RFC 9325).
func (o *Options) TLSConfig() (*tls.Config, error) {
	cert, key := o.TLSCertFile, o.TLSKeyFile
	getenv := o.Getenv
	if getenv == nil && o.LookupEnv != nil {
		lookup := o.LookupEnv
		getenv = func(k string) string { v, _ := lookup(k); return v }
	}
	if getenv == nil {
		getenv = os.Getenv
	}
	if cert == "" {
		cert = getenv("CERTFILE")
		if key == "" {
			key = getenv("KEYFILE")
		}
	}
	if cert == "" {
		if key != "" {
			return nil, exitcode.Errorf(exitcode.Config, "a TLS key file was given without a certificate file")
		}
		return nil, nil
	}
	if hasControl(cert) || hasControl(key) {
		return nil, exitcode.Errorf(exitcode.Config, "TLS file names must not contain control characters")
	}
	if key == "" {
		key = cert // ucspi-tls: the key may be in the certificate file
	}
	r := &certReloader{certFile: cert, keyFile: key}
	if _, err := r.get(nil); err != nil {
		return nil, exitcode.New(exitcode.Config, err)
	}
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: r.get,
	}, nil
}

// certReloader serves a key pair and re-reads it when either file's size
// or modification time changes. A renewal that leaves broken files keeps
// the old pair in use.
type certReloader struct {
	certFile, keyFile string

	mu    sync.Mutex
	cert  *tls.Certificate
	stamp [2]fileStamp
}

type fileStamp struct {
	size  int64
	mtime time.Time
}

func stampOf(path string) (fileStamp, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{fi.Size(), fi.ModTime()}, nil
}

func (r *certReloader) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	cs, err1 := stampOf(r.certFile)
	ks, err2 := stampOf(r.keyFile)
	if r.cert != nil && (err1 != nil || err2 != nil || [2]fileStamp{cs, ks} == r.stamp) {
		return r.cert, nil
	}
	c, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		if r.cert != nil {
			return r.cert, nil
		}
		return nil, fmt.Errorf("loading TLS certificate %s and key %s: %w", r.certFile, r.keyFile, err)
	}
	r.cert, r.stamp = &c, [2]fileStamp{cs, ks}
	return r.cert, nil
}

// TLS reports whether the connection is encrypted.
func (c *Conn) TLS() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tlsState != nil
}

// TLSState returns the TLS connection state, and false on a plaintext
// connection.
func (c *Conn) TLSState() (tls.ConnectionState, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tlsState == nil {
		return tls.ConnectionState{}, false
	}
	return *c.tlsState, true
}

// TLSConfig returns the server's TLS configuration, nil when none.
func (c *Conn) TLSConfig() *tls.Config { return c.tlsCfg }

// CanStartTLS reports whether STARTTLS (SMTP), STLS (POP3) or STARTTLS
// (IMAP) should be offered: TLS is configured and not yet active.
func (c *Conn) CanStartTLS() bool { return c.tlsCfg != nil && !c.TLS() }

// StartTLS runs the server side of a TLS handshake on the connection and,
// when it succeeds, makes every later Read and Write go through TLS. A
// nil cfg means the server's configuration (ErrNoTLS when there is none).
// The handshake is bounded by Options.HandshakeTimeout. After a failed
// handshake the connection is unusable: close it.
//
// The caller's contract (CVE-2011-0411 and its relatives in many
// servers): bytes the client sent after the STARTTLS command, in
// plaintext, before the handshake, must never be executed as commands
// of the encrypted session, because a man in the middle can inject them.
// So a server must, after writing its "go ahead" reply and before calling
// StartTLS, throw away its buffered reader (or Reset it, which discards
// what it holds) and read only from the Conn afterwards. StartTLSLines
// does exactly that for a lineio.Reader and is what servers should call.
func (c *Conn) StartTLS(cfg *tls.Config) error {
	if c.TLS() {
		return ErrAlreadyTLS
	}
	if cfg == nil {
		cfg = c.tlsCfg
	}
	if cfg == nil {
		return ErrNoTLS
	}
	c.mu.Lock()
	plain := c.Conn
	c.mu.Unlock()
	tc := tls.Server(plain, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), c.handshake)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		return fmt.Errorf("TLS handshake: %w", err)
	}
	st := tc.ConnectionState()
	c.mu.Lock()
	c.Conn, c.tlsState = tc, &st
	c.mu.Unlock()
	return nil
}

// StartTLSLines is StartTLS for a session that reads its commands with r:
// it discards whatever r had buffered (plaintext pipelined after the
// STARTTLS command, see StartTLS) and points r at the encrypted stream.
// It returns how many octets were discarded, which a server may log; a
// non-zero count is a client bug or an injection attempt, never a
// command. r is re-pointed at c even when the handshake fails.
func (c *Conn) StartTLSLines(cfg *tls.Config, r *lineio.Reader) (discarded int, err error) {
	discarded = r.Buffered()
	err = c.StartTLS(cfg)
	r.Reset(c) // drops the buffered plaintext
	return discarded, err
}

// handshakeImplicit runs the TLS handshake for --tls-implicit before the
// session starts.
func (c *Conn) handshakeImplicit() error { return c.StartTLS(nil) }
