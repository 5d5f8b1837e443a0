package testutil

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TLSCert writes a fresh self-signed certificate for localhost and
// 127.0.0.1 into dir as cert.pem and key.pem (mode 0600) and returns their
// paths. When the test runs as root both files are given to Nobody, so a
// server started with Unprivileged can read the key. A client trusts the
// certificate by adding cert.pem to its RootCAs and dialling "localhost".
func TLSCert(t testing.TB, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	// A random serial, so that two certificates made in one test (a
	// reload, a second server) are never taken for the same one.
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile = filepath.Join(dir, "cert.pem")
	keyFile = filepath.Join(dir, "key.pem")
	for _, f := range []struct {
		path string
		mode os.FileMode
		b    *pem.Block
	}{
		{certFile, 0o644, &pem.Block{Type: "CERTIFICATE", Bytes: der}},
		{keyFile, 0o600, &pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}},
	} {
		if err := os.WriteFile(f.path, pem.EncodeToMemory(f.b), f.mode); err != nil {
			t.Fatal(err)
		}
		if os.Getuid() == 0 {
			if err := os.Chown(f.path, Nobody, Nobody); err != nil {
				t.Fatal(err)
			}
		}
	}
	return certFile, keyFile
}
