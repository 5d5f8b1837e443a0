package mimepack

import (
	"bufio"
	"bytes"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"

	"mailtk/internal/exitcode"
)

// maxSignature bounds what a signer may print (a detached signature,
// with a certificate chain for S/MIME, is a few kilobytes).
const maxSignature = 1 << 20

// runCmd runs cmd with the shell, stdin from in, stdout to out, and the
// extra arguments as "$1", "$2"... A failure is exit status 69.
func (a *App) runCmd(cmd string, in io.Reader, out io.Writer, args ...string) error {
	c := exec.Command(a.Shell, append([]string{"-c", cmd, "mimepack"}, args...)...)
	c.Stdin, c.Stdout, c.Stderr = in, out, a.Stderr
	if err := c.Run(); err != nil {
		return exitcode.Errorf(exitcode.Unavailable, "%q: %v", cmd, err)
	}
	return nil
}

// limitedBuffer keeps at most max bytes and fails beyond.
type limitedBuffer struct {
	bytes.Buffer
	max int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if l.Len()+len(p) > l.max {
		return 0, fmt.Errorf("output longer than %d bytes", l.max)
	}
	return l.Buffer.Write(p)
}

// writeSecure writes the body of a message whose root is protected: the
// root entity is written in canonical form (CRLF, 7bit; RFC 1847 §2.1)
// to a spool file, then signed and/or encrypted by the external
// commands, and the RFC 1847 structure is written to out.
func (b *builder) writeSecure(out *bufio.Writer, root *node) error {
	ent, err := b.canonical(func(w *bufio.Writer) error { return writeNode(w, root, nil) })
	if err != nil {
		return err
	}
	if b.msg.SignCmd != "" {
		bnd, err := b.wrapperBoundary(root)
		if err != nil {
			return err
		}
		if b.msg.EncryptCmd == "" {
			return b.writeSigned(out, ent, bnd)
		}
		// Sign, then encrypt the signed entity (RFC 3156 §6.1).
		ent, err = b.canonical(func(w *bufio.Writer) error { return b.writeSigned(w, ent, bnd) })
		if err != nil {
			return err
		}
	}
	return b.writeEncrypted(out, ent)
}

// canonical writes an entity with CRLF line ends to a spool file and
// returns its name.
func (b *builder) canonical(write func(*bufio.Writer) error) (string, error) {
	f, err := b.tempFile("mimepack-part-")
	if err != nil {
		return "", err
	}
	defer f.Close()
	w := bufio.NewWriterSize(lfToCRLF{f}, 64<<10)
	if err := write(w); err != nil {
		return "", err
	}
	if err := w.Flush(); err != nil {
		return "", exitcode.New(exitcode.IOErr, err)
	}
	return f.Name(), f.Close()
}

func (b *builder) wrapperBoundary(root *node) (string, error) {
	return b.drawBoundary(root)
}

// copyLF copies a spooled CRLF entity into out, which is written with LF.
func copyLF(out io.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return exitcode.New(exitcode.IOErr, err)
	}
	defer f.Close()
	c := &crlfToLF{w: out}
	if _, err := io.Copy(c, f); err != nil {
		return err
	}
	return c.Flush()
}

// writeSigned writes multipart/signed (RFC 1847 §2.1): the entity as it
// was signed, then the detached signature made by --sign-cmd. PGP/MIME
// (RFC 3156 §5) and S/MIME (RFC 8551 §3.5.3) are told apart by the
// signature itself.
func (b *builder) writeSigned(out *bufio.Writer, ent, bnd string) error {
	f, err := os.Open(ent)
	if err != nil {
		return exitcode.New(exitcode.IOErr, err)
	}
	sig := &limitedBuffer{max: maxSignature}
	err = b.app.runCmd(b.msg.SignCmd, f, sig)
	f.Close()
	if err != nil {
		return err
	}
	raw := sig.Bytes()
	var protocol, micalg, sigPart string
	switch {
	case len(raw) == 0:
		return exitcode.Errorf(exitcode.Unavailable, "%q printed no signature", b.msg.SignCmd)
	case bytes.Contains(raw[:min(len(raw), 100)], []byte("-----BEGIN PGP SIGNATURE-----")):
		protocol = "application/pgp-signature"
		micalg = pgpMicalg(raw)
		var s strings.Builder
		s.WriteString("Content-Type: application/pgp-signature; name=\"signature.asc\"\n")
		s.WriteString("Content-Description: OpenPGP digital signature\n")
		s.WriteString("Content-Disposition: attachment; filename=\"signature.asc\"\n\n")
		s.Write(bytes.ReplaceAll(raw, []byte("\r\n"), []byte("\n")))
		sigPart = s.String()
	default:
		der, err := derOf(raw)
		if err != nil {
			return exitcode.Errorf(exitcode.Unavailable, "%q: signature is neither ASCII-armored OpenPGP nor CMS (DER or PEM): %v", b.msg.SignCmd, err)
		}
		protocol = "application/pkcs7-signature"
		micalg = cmsMicalg(der)
		var s strings.Builder
		s.WriteString("Content-Type: application/pkcs7-signature; name=\"smime.p7s\"\n")
		s.WriteString("Content-Transfer-Encoding: base64\n")
		s.WriteString("Content-Disposition: attachment; filename=\"smime.p7s\"\n\n")
		s.WriteString(wrap76(base64.StdEncoding.EncodeToString(der)))
		sigPart = s.String()
	}
	if b.msg.Micalg != "" {
		micalg = b.msg.Micalg
	}
	if micalg == "" {
		return exitcode.Errorf(exitcode.Unavailable, "cannot tell the hash algorithm of the signature; give --micalg")
	}
	fmt.Fprintf(out, "Content-Type: multipart/signed; protocol=%q;\n micalg=%s;\n boundary=%s\n\n",
		protocol, quoteParam(micalg), quoteParam(bnd))
	fmt.Fprintf(out, "--%s\n", bnd)
	if err := copyLF(out, ent); err != nil {
		return err
	}
	fmt.Fprintf(out, "\n--%s\n%s\n--%s--\n", bnd, strings.TrimRight(sigPart, "\n"), bnd)
	return nil
}

// writeEncrypted writes the output of --encrypt-cmd run on the entity:
// multipart/encrypted for OpenPGP (RFC 3156 §4), application/pkcs7-mime
// enveloped-data for CMS (RFC 8551 §3.3, which has no multipart form).
func (b *builder) writeEncrypted(out *bufio.Writer, ent string) error {
	f, err := os.Open(ent)
	if err != nil {
		return exitcode.New(exitcode.IOErr, err)
	}
	ct, err := b.tempFile("mimepack-enc-")
	if err != nil {
		f.Close()
		return err
	}
	defer ct.Close()
	err = b.app.runCmd(b.msg.EncryptCmd, f, ct)
	f.Close()
	if err != nil {
		return err
	}
	if _, err := ct.Seek(0, io.SeekStart); err != nil {
		return exitcode.New(exitcode.IOErr, err)
	}
	br := bufio.NewReaderSize(ct, 64<<10)
	head, _ := br.Peek(64)
	switch {
	case len(head) == 0:
		return exitcode.Errorf(exitcode.Unavailable, "%q printed nothing", b.msg.EncryptCmd)
	case bytes.HasPrefix(head, []byte("-----BEGIN PGP MESSAGE-----")):
		bnd, err := b.randomBoundary()
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "Content-Type: multipart/encrypted;\n protocol=\"application/pgp-encrypted\";\n boundary=%s\n\n", quoteParam(bnd))
		fmt.Fprintf(out, "--%s\nContent-Type: application/pgp-encrypted\nContent-Description: PGP/MIME version identification\n\nVersion: 1\n\n", bnd)
		fmt.Fprintf(out, "--%s\nContent-Type: application/octet-stream; name=\"encrypted.asc\"\nContent-Description: OpenPGP encrypted message\nContent-Disposition: inline; filename=\"encrypted.asc\"\n\n", bnd)
		c := &crlfToLF{w: out}
		if _, err := io.Copy(c, br); err != nil {
			return exitcode.New(exitcode.IOErr, err)
		}
		c.Flush()
		_, err = fmt.Fprintf(out, "\n--%s--\n", bnd)
		return err
	case head[0] == 0x30 || bytes.HasPrefix(head, []byte("-----BEGIN")):
		io.WriteString(out, "Content-Type: application/pkcs7-mime; smime-type=enveloped-data;\n name=\"smime.p7m\"\n")
		io.WriteString(out, "Content-Transfer-Encoding: base64\nContent-Disposition: attachment; filename=\"smime.p7m\"\n\n")
		if head[0] == 0x30 {
			return encodeBase64(out, br)
		}
		return copyPEMBody(out, br)
	}
	return exitcode.Errorf(exitcode.Unavailable, "%q: output is neither ASCII-armored OpenPGP nor CMS (DER or PEM)", b.msg.EncryptCmd)
}

// copyPEMBody copies the base64 lines of a PEM block (64 columns, valid
// MIME base64) without its BEGIN/END lines.
func copyPEMBody(out io.Writer, r *bufio.Reader) error {
	for {
		line, err := r.ReadString('\n')
		t := strings.TrimRight(line, "\r\n")
		if t != "" && !strings.HasPrefix(t, "-----") {
			io.WriteString(out, t+"\n")
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return exitcode.New(exitcode.IOErr, err)
		}
	}
}

func wrap76(s string) string {
	var b strings.Builder
	for len(s) > 76 {
		b.WriteString(s[:76] + "\n")
		s = s[76:]
	}
	b.WriteString(s + "\n")
	return b.String()
}

// derOf returns the DER bytes of a CMS structure given as DER or PEM.
func derOf(raw []byte) ([]byte, error) {
	if raw[0] == 0x30 {
		return raw, nil
	}
	blk, _ := pem.Decode(raw)
	if blk == nil {
		return nil, errors.New("no PEM block")
	}
	return blk.Bytes, nil
}

// pgpMicalg reads the hash algorithm of an armored OpenPGP signature
// (RFC 4880 §5.2, RFC 9580 §5.2) and names it as RFC 3156 §5 wants.
func pgpMicalg(armored []byte) string {
	blk := armorBody(armored)
	if len(blk) < 2 || blk[0]&0x80 == 0 {
		return ""
	}
	var body []byte
	if blk[0]&0x40 != 0 { // new format header: length octets follow
		if blk[0]&0x3f != 2 || len(blk) < 3 {
			return ""
		}
		switch l := blk[1]; {
		case l < 192:
			body = blk[2:]
		case l < 224:
			body = blk[3:]
		case l == 255:
			body = blk[6:]
		default:
			return ""
		}
	} else { // old format
		if (blk[0]>>2)&0x0f != 2 {
			return ""
		}
		body = blk[1+(1<<(blk[0]&3)):]
	}
	var h byte
	switch {
	case len(body) >= 4 && (body[0] == 4 || body[0] == 5 || body[0] == 6):
		h = body[3]
	case len(body) >= 17 && body[0] == 3:
		h = body[16]
	default:
		return ""
	}
	return map[byte]string{1: "pgp-md5", 2: "pgp-sha1", 3: "pgp-ripemd160", 8: "pgp-sha256",
		9: "pgp-sha384", 10: "pgp-sha512", 11: "pgp-sha224", 12: "pgp-sha3-256", 14: "pgp-sha3-512"}[h]
}

// armorBody decodes the base64 of an ASCII-armored block (RFC 4880 §6.2).
func armorBody(armored []byte) []byte {
	lines := strings.Split(strings.ReplaceAll(string(armored), "\r", ""), "\n")
	var b64 strings.Builder
	state := 0
	for _, l := range lines {
		switch {
		case state == 0 && strings.HasPrefix(l, "-----BEGIN"):
			state = 1
		case state == 1 && l == "":
			state = 2
		case state == 1 && !strings.Contains(l, ": "):
			state = 2
			b64.WriteString(l)
		case state == 2 && (strings.HasPrefix(l, "=") || strings.HasPrefix(l, "-----")):
			state = 3
		case state == 2:
			b64.WriteString(l)
		}
	}
	out, _ := base64.StdEncoding.DecodeString(b64.String())
	return out
}

// cmsMicalg reads the first digest algorithm of a CMS SignedData
// (RFC 5652 §5.1) and names it as RFC 8551 §3.5.3.2 wants.
func cmsMicalg(der []byte) string {
	var ci struct {
		Type    asn1.ObjectIdentifier
		Content asn1.RawValue `asn1:"explicit,tag:0"`
	}
	if _, err := asn1.Unmarshal(der, &ci); err != nil {
		return ""
	}
	var sd struct {
		Version int
		Digests []pkix.AlgorithmIdentifier `asn1:"set"`
	}
	if _, err := asn1.Unmarshal(ci.Content.Bytes, &sd); err != nil || len(sd.Digests) == 0 {
		return ""
	}
	switch sd.Digests[0].Algorithm.String() {
	case "1.2.840.113549.2.5":
		return "md5"
	case "1.3.14.3.2.26":
		return "sha-1"
	case "2.16.840.1.101.3.4.2.4":
		return "sha-224"
	case "2.16.840.1.101.3.4.2.1":
		return "sha-256"
	case "2.16.840.1.101.3.4.2.2":
		return "sha-384"
	case "2.16.840.1.101.3.4.2.3":
		return "sha-512"
	}
	return ""
}
