package userdb

import (
	"errors"
	"os/exec"
	"strings"
	"testing"

	"mailtk/internal/testutil"
)

// Passwords the real tools hash in the tests: ASCII, spaces, shell
// metacharacters, UTF-8.
var toolPasswords = []string{"secret", "correct horse battery staple", `p@ss:w0rd!$"'`, "pässwörd-日本"}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(testutil.Peer(t, name), args...).Output()
	if err != nil {
		t.Fatalf("%s %v: %v", name, args, err)
	}
	return strings.TrimSpace(string(out))
}

func checkVector(t *testing.T, tool, stored, password string) {
	t.Helper()
	ok, err := Verify(stored, password)
	if err != nil || !ok {
		t.Errorf("%s: Verify(%q, %q) = %v, %v; want true", tool, stored, password, ok, err)
	}
	for _, wrong := range []string{password + "x", "", strings.ToUpper(password)} {
		if wrong == password {
			continue
		}
		if ok, err := Verify(stored, wrong); ok || err != nil {
			t.Errorf("%s: Verify(%q, %q) = %v, %v; want false", tool, stored, wrong, ok, err)
		}
	}
	if !Supported(stored) {
		t.Errorf("%s: Supported(%q) is false", tool, stored)
	}
}

// TestDoveadmVectors checks hashes made by Dovecot's own doveadm pw.
func TestDoveadmVectors(t *testing.T) {
	doveadm := testutil.Peer(t, "doveadm")
	_ = doveadm
	for _, scheme := range []string{"BLF-CRYPT", "ARGON2ID", "ARGON2I", "SHA512-CRYPT", "SHA256-CRYPT", "PLAIN"} {
		for i, pw := range toolPasswords {
			if (scheme == "ARGON2ID" || scheme == "ARGON2I") && i > 1 {
				continue // 64 MiB per hash: two passwords each are enough
			}
			args := []string{"pw", "-s", scheme, "-p", pw}
			if scheme == "BLF-CRYPT" {
				args = append(args, "-r", "5")
			}
			stored := run(t, "doveadm", args...)
			if !strings.HasPrefix(stored, "{"+scheme+"}") {
				t.Fatalf("doveadm pw -s %s gave %q", scheme, stored)
			}
			checkVector(t, "doveadm "+scheme, stored, pw)
			// The same hash without {SCHEME}, as crypt(3) would store it.
			if _, bare := SplitScheme(stored); scheme != "PLAIN" {
				checkVector(t, "bare "+scheme, bare, pw)
			}
		}
	}
}

// TestHtpasswdVectors checks bcrypt hashes made by Apache's htpasswd.
func TestHtpasswdVectors(t *testing.T) {
	for _, pw := range toolPasswords {
		line := run(t, "htpasswd", "-bnBC", "5", "user", pw)
		_, hash, ok := strings.Cut(line, ":")
		if !ok || !strings.HasPrefix(hash, "$2y$05$") {
			t.Fatalf("htpasswd gave %q", line)
		}
		checkVector(t, "htpasswd", hash, pw)
		checkVector(t, "htpasswd as {BLF-CRYPT}", "{BLF-CRYPT}"+hash, pw)
	}
	// QUIRK check: bcrypt reads 72 octets; so do htpasswd and we.
	long := strings.Repeat("a", 72)
	line := run(t, "htpasswd", "-bnBC", "5", "user", long+"tail")
	_, hash, _ := strings.Cut(line, ":")
	if ok, err := Verify(hash, long+"other tail"); !ok || err != nil {
		t.Errorf("a password over 72 octets: %v %v; want it truncated as htpasswd does", ok, err)
	}
}

// TestMkpasswdVectors checks SHA-crypt hashes made by mkpasswd (whois
// package, glibc/libxcrypt crypt(3)), with default and custom rounds.
func TestMkpasswdVectors(t *testing.T) {
	for _, pw := range toolPasswords {
		for _, args := range [][]string{
			{"-m", "sha-512", pw},
			{"-m", "sha-256", pw},
			{"-m", "sha-512", "-R", "1000", pw},
			{"-m", "sha-512", "-R", "12345", "-S", "0123456789abcdef", pw},
			{"-m", "sha-256", "-R", "5000", "-S", "shortsal", pw},
			{"-m", "bcrypt", "-R", "5", pw},
		} {
			stored := run(t, "mkpasswd", args...)
			checkVector(t, "mkpasswd "+strings.Join(args[:len(args)-1], " "), stored, pw)
		}
		checkVector(t, "mkpasswd as {SHA512-CRYPT}", "{SHA512-CRYPT}"+run(t, "mkpasswd", "-m", "sha-512", pw), pw)
		checkVector(t, "mkpasswd as {CRYPT}", "{CRYPT}"+run(t, "mkpasswd", "-m", "sha-512", pw), pw)
	}
}

func TestVerifyErrors(t *testing.T) {
	tests := []struct {
		stored string
		ok     bool
		err    bool
	}{
		{"{PLAIN}x", true, false},
		{"{plain}x", true, false}, // scheme names are case-insensitive
		{"{CLEARTEXT}x", true, false},
		{"{PLAIN}y", false, false},
		{"!$6$abc$def", false, false}, // locked
		{"*", false, false},           // locked (passwd(5) style)
		{"{MD5-CRYPT}$1$abc$def", false, true},
		{"{SSHA}abc", false, true},
		{"{NOPE}abc", false, true},
		{"$1$saltsalt$abc", false, true}, // MD5 crypt
		{"abXyZ12345678", false, true},   // DES crypt
		{"", false, true},
		{"{SHA512-CRYPT}$5$abc$def", false, true},
		{"{BLF-CRYPT}$2y$05$short", false, true},
		{"{ARGON2ID}$argon2i$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA", false, true},
		{"{ARGON2ID}$argon2id$v=16$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA", false, true},
		{"{ARGON2ID}$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g", false, true},
		{"{ARGON2ID}$argon2id$v=19$m=8,t=1,p=1$!!!$aGFzaA", false, true},
		{"{ARGON2ID}$argon2id$v=19$m=8,t=1$c2FsdHNhbHQ", false, true},
		{"$6$rounds=99999999$salt$hash", false, true}, // over our limit
		{"$6$rounds=x$salt$hash", false, true},
	}
	for _, tt := range tests {
		ok, err := Verify(tt.stored, "x")
		if ok != tt.ok || (err != nil) != tt.err {
			t.Errorf("Verify(%q, x) = %v, %v", tt.stored, ok, err)
		}
		if err != nil && !errors.Is(err, ErrScheme) {
			t.Errorf("Verify(%q): %v does not wrap ErrScheme", tt.stored, err)
		}
	}
}
