package netio

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"mailtk/internal/exitcode"
)

// Handler runs one session. It owns c until it returns; Serve closes c
// afterwards (closing it earlier is fine). ctx ends when the server gives
// up on sessions (Grace after shutdown began); check c.Draining() to end
// a session politely before that.
type Handler func(ctx context.Context, c *Conn)

// Serve runs handle for each connection the program was given and
// returns when there are no more:
//
//   - Options.Listen set: listen on each address and serve concurrently
//     until ctx ends or SIGTERM/SIGINT arrives, then stop accepting, give
//     sessions Options.Grace to finish, close what is left, return nil.
//   - LISTEN_FDS set (systemd Accept=no): the same on the inherited
//     listening sockets. LISTEN_PID must be this process, otherwise Serve
//     refuses to start (the sockets were meant for another program). A
//     single connected socket on fd 3 (systemd Accept=yes without
//     StandardInput=socket) is served as one session.
//   - otherwise stdin/stdout is the one connection; Serve returns after
//     that session.
//
// Configuration problems (bad address, missing certificate, LISTEN_PID
// mismatch) are returned as exitcode.Config errors, a failure to listen
// as exitcode.OSErr.
func Serve(ctx context.Context, opts Options, handle Handler) error {
	o := opts.withDefaults()
	cfg, err := o.TLSConfig()
	if err != nil {
		return err
	}
	if o.TLSImplicit && cfg == nil {
		return exitcode.Errorf(exitcode.Config, "--tls-implicit needs --tls-cert and --tls-key")
	}
	if len(o.Listen) > 0 {
		lns, err := listenAll(o.Listen)
		if err != nil {
			return err
		}
		if o.Bound != nil {
			if err := o.Bound(); err != nil {
				for _, ln := range lns {
					ln.Close()
				}
				return err
			}
		}
		return serveListeners(ctx, &o, cfg, lns, handle)
	}
	if _, ok := o.LookupEnv(envListenFDs); ok {
		sa, err := systemdSockets(&o)
		if err != nil {
			return err
		}
		if sa.conn != nil {
			return serveOne(ctx, &o, cfg, sa.conn, sa.name, nil, handle)
		}
		return serveListeners(ctx, &o, cfg, sa.listeners, handle)
	}
	nc, err := stdioConn(o.Stdin, o.Stdout)
	if err != nil {
		return exitcode.New(exitcode.OSErr, err)
	}
	in, out := o.Stdin, o.Stdout
	return serveOne(ctx, &o, cfg, nc, "", []func() error{in.Close, out.Close}, handle)
}

// serveOne runs the single session of stdin/stdout mode (or systemd's
// Accept=yes fd 3). The ucspi-tcp environment describes the peer here,
// and only here: in listener modes the environment is the daemon's own.
func serveOne(ctx context.Context, o *Options, cfg *tls.Config, nc net.Conn, name string, extra []func() error, handle Handler) error {
	p := Peer{
		RemoteAddr: addrPort(nc.RemoteAddr()),
		LocalAddr:  addrPort(nc.LocalAddr()),
		Stdio:      true,
		Network:    networkOf(nc.RemoteAddr()),
		Listener:   name,
	}
	o.env().fillPeer(&p)
	c := newConn(nc, p, o, cfg, nil)
	c.extra = extra
	defer c.Close()
	if o.TLSImplicit {
		if err := c.handshakeImplicit(); err != nil {
			o.Logger.Info("TLS handshake failed", "peer", p, "err", err)
			return nil // the client's failure, not the program's
		}
	}
	handle(ctx, c)
	return nil
}

// namedListener is a listener and the name sessions see in Peer.Listener.
type namedListener struct {
	net.Listener
	name string
}

// listenAll opens every --listen address, closing them all on an error.
func listenAll(addrs []string) ([]namedListener, error) {
	var lns []namedListener
	for _, a := range addrs {
		ln, err := listen(a)
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return nil, err
		}
		lns = append(lns, namedListener{ln, a})
	}
	return lns, nil
}

// listen opens one --listen address: host:port, or unix:/path (a stale
// socket file left by an earlier run is removed first).
func listen(addr string) (net.Listener, error) {
	if hasControl(addr) {
		return nil, exitcode.Errorf(exitcode.Config, "--listen %q: control characters in address", addr)
	}
	if path, ok := strings.CutPrefix(addr, "unix:"); ok {
		if path == "" {
			return nil, exitcode.Errorf(exitcode.Config, "--listen %q: empty socket path", addr)
		}
		if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
			if c, err := net.Dial("unix", path); err == nil {
				c.Close()
				return nil, exitcode.Errorf(exitcode.OSErr, "--listen %s: another server is listening there", addr)
			}
			os.Remove(path)
		}
		ln, err := net.Listen("unix", path)
		if err != nil {
			return nil, exitcode.New(exitcode.OSErr, err)
		}
		return ln, nil
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return nil, exitcode.Errorf(exitcode.Config, "--listen %q: want host:port, [v6addr]:port, :port or unix:/path", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, exitcode.New(exitcode.OSErr, err)
	}
	return ln, nil
}

// serveListeners runs the accept loops until ctx ends or a signal comes,
// then drains (see Serve).
func serveListeners(ctx context.Context, o *Options, cfg *tls.Config, lns []namedListener, handle Handler) error {
	if !o.NoSignals {
		var stop context.CancelFunc
		ctx, stop = signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
		defer stop()
	}
	s := newServer(ctx, o, cfg, handle)
	for _, ln := range lns {
		o.Logger.Info("listening", "addr", ln.Addr().String(), "name", ln.name)
	}
	if o.Ready != nil {
		var addrs []net.Addr
		for _, ln := range lns {
			addrs = append(addrs, ln.Addr())
		}
		o.Ready(addrs)
	}
	errc := make(chan error, len(lns))
	for _, ln := range lns {
		go func() { errc <- s.acceptLoop(ln) }()
	}
	var err error
	pending := len(lns)
	select {
	case <-ctx.Done():
	case err = <-errc: // a listener failed for good: shut down all
		pending--
	}
	s.shutdown(lns)
	for ; pending > 0; pending-- {
		if e := <-errc; err == nil {
			err = e
		}
	}
	return err
}

// errorsIsClosed reports a listener closed by shutdown.
func errorsIsClosed(err error) bool { return errors.Is(err, net.ErrClosed) }

// wrapAccept makes a fatal accept error an OSErr for the exit status.
func wrapAccept(ln namedListener, err error) error {
	return exitcode.New(exitcode.OSErr, fmt.Errorf("accept on %s: %w", ln.name, err))
}
