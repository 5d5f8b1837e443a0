package mimepack

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"mailtk/internal/testutil"
)

// gpgHome makes a temporary GNUPGHOME with a fresh key for test@example.org
// and returns the environment that points gpg at it.
func gpgHome(t *testing.T) []string {
	gpg := testutil.Peer(t, "gpg")
	home, err := os.MkdirTemp("/tmp", "mimepack-gpg-") // short: gpg-agent's socket path
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(home, 0o700)
	env := append(os.Environ(), "GNUPGHOME="+home)
	t.Cleanup(func() {
		c := exec.Command("gpgconf", "--kill", "all")
		c.Env = env
		c.Run()
		os.RemoveAll(home)
	})
	c := exec.Command(gpg, "--batch", "--quick-gen-key", "--passphrase", "", "Test <test@example.org>", "default", "default", "never")
	c.Env = env
	if out, err := c.CombinedOutput(); err != nil {
		t.Fatalf("gpg --quick-gen-key: %v\n%s", err, out)
	}
	return env
}

// runEnv runs the mimepack binary with an environment.
func runEnv(t *testing.T, env []string, stdin []byte, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(testutil.Binary(t, "mimepack"), args...)
	cmd.Env = env
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := testutil.ExitCode(err)
	if code < 0 {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// firstPart cuts the first body part of a multipart/signed message the
// simple way (independently of our parser) and canonicalises it to CRLF.
func firstPart(t *testing.T, msg string) []byte {
	m := regexp.MustCompile(`boundary="?([^";\n]+)"?`).FindStringSubmatch(msg)
	if m == nil {
		t.Fatal("no boundary")
	}
	d := "\n--" + m[1] + "\n"
	i := strings.Index(msg, d)
	j := strings.Index(msg[i+len(d):], d)
	if i < 0 || j < 0 {
		t.Fatal("no delimiters")
	}
	part := msg[i+len(d) : i+len(d)+j]
	return []byte(strings.ReplaceAll(part, "\n", "\r\n"))
}

func TestPeerGPG(t *testing.T) {
	env := gpgHome(t)
	dir := t.TempDir()
	corpus(t, dir)
	sign := "gpg --batch -u test@example.org --detach-sign --armor"
	verify := `gpg --batch --verify "$1" "$2"`
	out, errs, code := runEnv(t, env, nil, "-f", "test@example.org", "-t", "b@example.org", "-s", "signed", "-m", "plain signed text",
		"--sign-cmd", sign, filepath.Join(dir, "notes.txt"), filepath.Join(dir, "random.bin"))
	if code != 0 {
		t.Fatalf("sign: %d %s", code, errs)
	}
	if !strings.Contains(out, `protocol="application/pgp-signature"`) || !regexp.MustCompile(`micalg=pgp-sha(256|512)`).MatchString(out) {
		t.Errorf("multipart/signed parameters:\n%s", out[:600])
	}
	// The signed part is 7bit: no 8bit content under a signature.
	if strings.Contains(out, "8bit") {
		t.Error("8bit part under a signature")
	}
	// Independent check: cut the part ourselves, verify with gpg directly.
	os.WriteFile(filepath.Join(dir, "data"), firstPart(t, out), 0o644)
	sigs := regexp.MustCompile(`(?s)-----BEGIN PGP SIGNATURE-----.*-----END PGP SIGNATURE-----\n`).FindString(out)
	os.WriteFile(filepath.Join(dir, "sig.asc"), []byte(sigs), 0o644)
	c := exec.Command("gpg", "--batch", "--verify", filepath.Join(dir, "sig.asc"), filepath.Join(dir, "data"))
	c.Env = env
	if b, err := c.CombinedOutput(); err != nil {
		t.Fatalf("gpg --verify of the part cut independently: %v\n%s", err, b)
	}
	if _, errs, code := runEnv(t, env, []byte(out), "--verify-cmd", verify); code != 0 {
		t.Errorf("--verify-cmd: %d %s", code, errs)
	}
	// As a Unix mailbox stores it (LF), as the wire carries it (CRLF).
	if _, errs, code := runEnv(t, env, []byte(strings.ReplaceAll(out, "\n", "\r\n")), "--verify-cmd", verify); code != 0 {
		t.Errorf("--verify-cmd on CRLF: %d %s", code, errs)
	}
	bad := strings.Replace(out, "plain signed text", "plain forged text", 1)
	if _, _, code := runEnv(t, env, []byte(bad), "--verify-cmd", verify); code != 65 {
		t.Errorf("tampered message: exit %d, want 65", code)
	}
	list := mustRun(t, []byte(out), "-l")
	if !strings.Contains(list, "multipart/signed; protocol=application/pgp-signature") || !strings.Contains(list, "signature.asc") {
		t.Errorf("-l:\n%s", list)
	}

	// Encrypted (and signed then encrypted): gpg decrypts, we read it.
	enc := "gpg --batch --trust-model always -r test@example.org --encrypt --armor"
	for _, args := range [][]string{{"--encrypt-cmd", enc}, {"--sign-cmd", sign, "--encrypt-cmd", enc}} {
		out, errs, code := runEnv(t, env, nil, append(append([]string{"-s", "secret", "-m", "hidden text"}, args...), filepath.Join(dir, "bytes.dat"))...)
		if code != 0 {
			t.Fatalf("%v: %d %s", args, code, errs)
		}
		if strings.Contains(out, "hidden text") || !strings.Contains(out, `multipart/encrypted;`) {
			t.Fatalf("not encrypted:\n%s", out)
		}
		ct := mustRun(t, []byte(out), "--part", "2")
		c := exec.Command("gpg", "--batch", "--decrypt")
		c.Env, c.Stdin = env, strings.NewReader(ct)
		plain, err := c.Output()
		if err != nil {
			t.Fatalf("gpg --decrypt: %v", err)
		}
		list := mustRun(t, plain, "-l")
		if !strings.Contains(list, "bytes.dat") {
			t.Errorf("decrypted:\n%s", list)
		}
		if len(args) == 4 {
			if _, errs, code := runEnv(t, env, plain, "--verify-cmd", verify); code != 0 {
				t.Errorf("signature inside the encryption: %d %s", code, errs)
			}
		}
	}
}

func TestPeerOpenSSL(t *testing.T) {
	openssl := testutil.Peer(t, "openssl")
	dir := t.TempDir()
	corpus(t, dir)
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	peerRun(t, dir, nil, openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
		"-days", "2", "-subj", "/CN=test/emailAddress=test@example.org")
	for _, form := range []string{"DER", "PEM"} {
		sign := "openssl cms -sign -binary -outform " + form + " -signer " + cert + " -inkey " + key
		msg := mustRun(t, nil, "-f", "test@example.org", "-s", "smime", "-m", "Grüße", "--sign-cmd", sign, filepath.Join(dir, "random.bin"))
		if !strings.Contains(msg, `protocol="application/pkcs7-signature"`) || !strings.Contains(msg, "micalg=sha-256") {
			t.Errorf("%s: parameters:\n%s", form, msg[:500])
		}
		p := filepath.Join(dir, "signed-"+form+".eml")
		os.WriteFile(p, []byte(msg), 0o644)
		// openssl reads the S/MIME message itself: an independent parser.
		peerRun(t, dir, nil, openssl, "cms", "-verify", "-in", p, "-CAfile", cert, "-out", os.DevNull)
		v := `openssl cms -verify -binary -inform DER -in "$1" -content "$2" -CAfile ` + cert + " -out /dev/null"
		if _, errs, code := run(t, []byte(msg), "--verify-cmd", v); code != 0 {
			t.Errorf("%s: --verify-cmd: %d %s", form, code, errs)
		}
	}
	enc := "openssl cms -encrypt -binary -outform DER -aes256 " + cert
	msg := mustRun(t, nil, "-s", "secret", "-m", "hidden text", "--encrypt-cmd", enc, filepath.Join(dir, "bytes.dat"))
	if !strings.Contains(msg, "application/pkcs7-mime; smime-type=enveloped-data") || strings.Contains(msg, "hidden text") {
		t.Fatalf("not enveloped:\n%s", msg)
	}
	p := filepath.Join(dir, "enc.eml")
	os.WriteFile(p, []byte(msg), 0o644)
	plain := peerRun(t, dir, nil, openssl, "cms", "-decrypt", "-in", p, "-recip", cert, "-inkey", key)
	out := t.TempDir()
	mustRun(t, []byte(plain), "-x", "-C", out)
	want, _ := os.ReadFile(filepath.Join(dir, "bytes.dat"))
	if got, err := os.ReadFile(filepath.Join(out, "bytes.dat")); err != nil || !bytes.Equal(got, want) {
		t.Errorf("decrypted attachment differs (%v)", err)
	}
}

func TestSplitJoin(t *testing.T) {
	dir := t.TempDir()
	files := corpus(t, dir)
	prefix := filepath.Join(dir, "frag")
	listing := mustRun(t, nil, "-s", "big", "-t", "a@example.org", "--split", "40000", "-o", prefix, filepath.Join(dir, "random.bin"))
	frags := strings.Fields(listing)
	if len(frags) < 10 {
		t.Fatalf("%d fragments", len(frags))
	}
	for _, f := range frags {
		b, _ := os.ReadFile(f)
		head, body, _ := strings.Cut(string(b), "\n\n")
		if len(body) > 40000 || !strings.Contains(head, "message/partial") {
			t.Errorf("%s: %d bytes of content", f, len(body))
		}
	}
	// Any order.
	shuffled := append([]string{}, frags...)
	shuffled[0], shuffled[len(shuffled)-1] = shuffled[len(shuffled)-1], shuffled[0]
	shuffled[1], shuffled[3] = shuffled[3], shuffled[1]
	joined := mustRun(t, nil, append([]string{"--join"}, shuffled...)...)
	out := t.TempDir()
	mustRun(t, []byte(joined), "-x", "-C", out)
	if got, _ := os.ReadFile(filepath.Join(out, "random.bin")); !bytes.Equal(got, files["random.bin"]) {
		t.Error("joined attachment differs")
	}
	if !strings.Contains(joined, "Subject: big\n") || strings.Count(joined, "Subject:") != 1 {
		t.Errorf("joined header:\n%s", joined[:300])
	}
	if _, errs, code := run(t, nil, append([]string{"--join"}, frags[1:]...)...); code != 65 || !strings.Contains(errs, "fragment 1 of") {
		t.Errorf("missing fragment: %d %s", code, errs)
	}
	if _, errs, code := run(t, nil, "--join", frags[0], frags[0]); code != 65 || !strings.Contains(errs, "twice") {
		t.Errorf("duplicate fragment: %d %s", code, errs)
	}
	// Fragments made by mpack.
	mpack := testutil.Peer(t, "mpack")
	peerRun(t, dir, nil, mpack, "-s", "from mpack", "-m", "30000", "-o", filepath.Join(dir, "mp"), "random.bin")
	mp, _ := filepath.Glob(filepath.Join(dir, "mp.*"))
	if len(mp) < 5 {
		t.Fatalf("mpack made %d fragments", len(mp))
	}
	mp[0], mp[2] = mp[2], mp[0]
	joined = mustRun(t, nil, append([]string{"--join"}, mp...)...)
	out = t.TempDir()
	mustRun(t, []byte(joined), "-x", "-C", out)
	if got, _ := os.ReadFile(filepath.Join(out, "random.bin")); !bytes.Equal(got, files["random.bin"]) {
		t.Error("attachment joined from mpack's fragments differs")
	}
}
