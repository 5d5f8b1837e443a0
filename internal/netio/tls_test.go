package netio

import (
	"context"
	"crypto/tls"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"mailtk/internal/exitcode"
	"mailtk/internal/testutil"
)

// TestStartTLSDiscardsPipelinedPlaintext is the CVE-2011-0411 check: a
// command pipelined in plaintext after STARTTLS must not run inside the
// TLS session.
func TestStartTLSDiscardsPipelinedPlaintext(t *testing.T) {
	certFile, keyFile := testutil.TLSCert(t, t.TempDir())
	pool := certPool(t, certFile)
	srv, cli := testutil.SocketPair(t)
	c, err := NewConn(srv, Peer{Network: "unix"}, Options{TLSCertFile: certFile, TLSKeyFile: keyFile, Logger: quietLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { echo(context.Background(), c); c.Close(); close(done) }()
	cl := newClient(t, cli)
	cl.expect("220 ", "tls=false")
	if !c.CanStartTLS() {
		t.Fatal("CanStartTLS is false with a certificate")
	}
	// One write: the command, and an injected command behind it.
	cl.send("STARTTLS\r\nINJECTED\r\n")
	cl.expect("220 go ahead")
	cl.startTLS(pool)
	cl.expect("250 tls discarded=10")
	cl.send("PEER\r\n")
	cl.expect("250 ", "tls=true")
	cl.send("QUIT\r\n")
	cl.expect("221 bye")
	<-done
	if c.CanStartTLS() {
		t.Fatal("CanStartTLS after TLS")
	}
	if st, ok := c.TLSState(); !ok || st.Version < tls.VersionTLS12 {
		t.Fatalf("TLSState = %v, %v", st.Version, ok)
	}
	if err := c.StartTLS(nil); err != ErrAlreadyTLS {
		t.Fatalf("second StartTLS: %v", err)
	}
}

func TestStartTLSWithoutConfig(t *testing.T) {
	srv, _ := testutil.SocketPair(t)
	c, err := NewConn(srv, Peer{}, Options{Logger: quietLogger(t), LookupEnv: envMap(nil)})
	if err != nil {
		t.Fatal(err)
	}
	if c.CanStartTLS() || c.StartTLS(nil) != ErrNoTLS {
		t.Fatal("StartTLS without a certificate should give ErrNoTLS")
	}
}

func TestStartTLSHandshakeFailure(t *testing.T) {
	certFile, keyFile := testutil.TLSCert(t, t.TempDir())
	srv, cli := testutil.SocketPair(t)
	c, _ := NewConn(srv, Peer{}, Options{TLSCertFile: certFile, TLSKeyFile: keyFile, Logger: quietLogger(t)})
	go func() { cli.Write([]byte("this is not a ClientHello\r\n")); cli.Close() }()
	if err := c.StartTLS(nil); err == nil || c.TLS() {
		t.Fatalf("handshake with garbage: %v", err)
	}
}

func TestTLSConfig(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := testutil.TLSCert(t, dir)
	tests := []struct {
		name    string
		o       Options
		wantNil bool
		wantErr bool
	}{
		{"none", Options{}, true, false},
		{"flags", Options{TLSCertFile: certFile, TLSKeyFile: keyFile}, false, false},
		{"ucspi-tls env", Options{Getenv: func(k string) string {
			return map[string]string{"CERTFILE": certFile, "KEYFILE": keyFile}[k]
		}}, false, false},
		{"missing file", Options{TLSCertFile: dir + "/nope.pem", TLSKeyFile: keyFile}, false, true},
		{"key without cert", Options{TLSKeyFile: keyFile}, false, true},
		{"cert file without key in it", Options{TLSCertFile: certFile}, false, true},
		{"key file as cert", Options{TLSCertFile: keyFile, TLSKeyFile: keyFile}, false, true},
	}
	for _, tt := range tests {
		if tt.o.Getenv == nil {
			tt.o.Getenv = func(string) string { return "" }
		}
		cfg, err := tt.o.TLSConfig()
		if (err != nil) != tt.wantErr || (cfg == nil) != (tt.wantNil || tt.wantErr) {
			t.Errorf("%s: cfg=%v err=%v", tt.name, cfg != nil, err)
		}
		if err != nil && exitcode.Of(err) != exitcode.Config {
			t.Errorf("%s: exit %d, want %d", tt.name, exitcode.Of(err), exitcode.Config)
		}
	}
}

// TestCertificateReload: a renewed certificate is served without a
// restart; a broken renewal keeps the old one.
func TestCertificateReload(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := testutil.TLSCert(t, dir)
	o := Options{TLSCertFile: certFile, TLSKeyFile: keyFile, Getenv: func(string) string { return "" }}
	cfg, err := o.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	// Each certificate TLSCert writes has a random serial number.
	serial := func() string {
		c, err := cfg.GetCertificate(nil)
		if err != nil {
			t.Fatal(err)
		}
		return c.Leaf.SerialNumber.String()
	}
	first := serial()
	testutil.TLSCert(t, dir)            // the renewal, over the same files
	future := time.Now().Add(time.Hour) // mtime changes even within one clock tick
	os.Chtimes(certFile, future, future)
	second := serial()
	if second == first {
		t.Fatalf("after renewal: still serial %s", first)
	}
	os.WriteFile(certFile, []byte("broken"), 0o644)
	if got := serial(); got != second {
		t.Fatalf("after a broken renewal: serial %s, want %s", got, second)
	}
}

// TestImplicitTLS serves TLS from the first byte on a listener.
func TestImplicitTLS(t *testing.T) {
	certFile, keyFile := testutil.TLSCert(t, t.TempDir())
	pool := certPool(t, certFile)
	addrs, stop := startListen(t, Options{TLSCertFile: certFile, TLSKeyFile: keyFile, TLSImplicit: true}, "127.0.0.1:0")
	defer stop()
	tc, err := tls.Dial("tcp", addrs[0].String(), &tls.Config{RootCAs: pool, ServerName: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	c := newClient(t, tc)
	c.expect("220 ", "tls=true", "stdio=false", "net=tcp")
	// A plaintext client gets nothing it can use and no session.
	nc, err := net.Dial("tcp", addrs[0].String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.Write([]byte("HELO plaintext\r\n"))
	nc.SetReadDeadline(time.Now().Add(20 * time.Second))
	b := make([]byte, 100)
	n, _ := nc.Read(b)
	if strings.Contains(string(b[:n]), "220") {
		t.Fatalf("plaintext client got %q", b[:n])
	}
}
