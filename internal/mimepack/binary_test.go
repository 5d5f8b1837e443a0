package mimepack

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"mailtk/internal/testutil"
)

// run execs the mimepack binary and returns stdout, stderr and status.
func run(t *testing.T, stdin []byte, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(testutil.Binary(t, "mimepack"), args...)
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

// mustRun runs mimepack and fails the test unless it exits 0.
func mustRun(t *testing.T, stdin []byte, args ...string) string {
	t.Helper()
	out, errs, code := run(t, stdin, args...)
	if code != 0 {
		t.Fatalf("mimepack %v: exit %d: %s", args, code, errs)
	}
	return out
}

// peerRun runs a peer program in dir and fails the test on error.
func peerRun(t *testing.T, dir string, stdin []byte, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}

// corpus writes test files covering the encodings: random binary, all
// 256 byte values, UTF-8 text, a long line, CRLF text, a non-ASCII name.
func corpus(t *testing.T, dir string) map[string][]byte {
	r := mrand.New(mrand.NewPCG(3, 4))
	rnd := make([]byte, 300000)
	for i := range rnd {
		rnd[i] = byte(r.IntN(256))
	}
	all := make([]byte, 256*4)
	for i := range all {
		all[i] = byte(i)
	}
	files := map[string][]byte{
		"random.bin":     rnd,
		"bytes.dat":      all,
		"notes.txt":      []byte("Grüße\nline two\n\ttabbed  \n"),
		"long.txt":       []byte(strings.Repeat("0123456789", 300) + "\nshort\n"),
		"dos.txt":        []byte("one\r\ntwo\r\n"),
		"résumé été.pdf": append([]byte("%PDF-1.4\n"), rnd[:5000]...),
		"page.html":      []byte("<html><body><p>héllo</p></body></html>\n"),
	}
	writeFiles(t, dir, files)
	return files
}

func names(files map[string][]byte) []string {
	var n []string
	for k := range files {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// TestBinaryBuildExtract: the built binary round-trips the corpus.
func TestBinaryBuildExtract(t *testing.T) {
	dir := t.TempDir()
	files := corpus(t, dir)
	var args []string
	for _, n := range names(files) {
		args = append(args, filepath.Join(dir, n))
	}
	msg := mustRun(t, nil, append([]string{"-s", "Test", "-f", "a@example.org", "-t", "b@example.org", "-m", "Hello"}, args...)...)
	out := filepath.Join(t.TempDir(), "out")
	listing := mustRun(t, []byte(msg), "-x", "-C", out)
	if n := strings.Count(listing, "\n"); n != len(files)+1 {
		t.Errorf("%d lines printed:\n%s", n, listing)
	}
	for _, n := range names(files) {
		got, err := os.ReadFile(filepath.Join(out, n))
		if err != nil || !bytes.Equal(got, files[n]) {
			t.Errorf("%s: not extracted byte for byte (%v)", n, err)
		}
	}
	// Never overwrite: a second run writes numbered names.
	listing = mustRun(t, []byte(msg), "-x", "-C", out)
	if !strings.Contains(listing, "random-1.bin") || !strings.Contains(listing, "part-1-1.txt") {
		t.Errorf("second extraction:\n%s", listing)
	}
}

// TestPeerPythonReadsOurs: Python's email package decodes what we build.
func TestPeerPythonReadsOurs(t *testing.T) {
	py := testutil.Python(t)
	dir := t.TempDir()
	files := corpus(t, dir)
	var args []string
	for _, n := range names(files) {
		args = append(args, filepath.Join(dir, n))
	}
	msg := mustRun(t, nil, append([]string{"-s", "Grüße", "-f", "Zoé <z@example.org>", "-t", "b@example.org", "-m", "Hello"}, args...)...)
	out := t.TempDir()
	script := `
import email, sys, os
from email import policy
m = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=policy.default)
print("SUBJECT", m['subject'])
print("FROM", m['from'])
for p in m.walk():
    fn = p.get_filename()
    if fn:
        open(os.path.join(sys.argv[2], fn), 'wb').write(p.get_payload(decode=True))
`
	os.WriteFile(filepath.Join(out, "msg.eml"), []byte(msg), 0o644)
	res := peerRun(t, out, nil, py, "-c", script, filepath.Join(out, "msg.eml"), out)
	if !strings.Contains(res, "SUBJECT Grüße") || !strings.Contains(res, "FROM Zoé <z@example.org>") {
		t.Errorf("python read headers as:\n%s", res)
	}
	for _, n := range names(files) {
		got, err := os.ReadFile(filepath.Join(out, n))
		if err != nil || !bytes.Equal(got, files[n]) {
			t.Errorf("%s: python did not get it byte for byte (%v)", n, err)
		}
	}
}

// TestPeerMunpackReadsOurs: munpack (mpack 1.6) decodes what we build.
func TestPeerMunpackReadsOurs(t *testing.T) {
	munpack := testutil.Peer(t, "munpack")
	dir := t.TempDir()
	files := corpus(t, dir)
	delete(files, "résumé été.pdf") // munpack knows no RFC 2231 names
	var args []string
	for _, n := range names(files) {
		args = append(args, filepath.Join(dir, n))
	}
	msg := mustRun(t, nil, append([]string{"-s", "x", "-t", "b@example.org"}, args...)...)
	out := t.TempDir()
	p := filepath.Join(out, "msg.eml")
	os.WriteFile(p, []byte(msg), 0o644)
	peerRun(t, out, nil, munpack, "-q", "-t", "-C", out, "-f", p)
	// munpack writes text parts with the local line end, as RFC 2046
	// §4.1.1 allows a reader to: the CRLF text comes out with LF.
	files["dos.txt"] = bytes.ReplaceAll(files["dos.txt"], []byte("\r\n"), []byte("\n"))
	for _, n := range names(files) {
		got, err := os.ReadFile(filepath.Join(out, n))
		if err != nil || !bytes.Equal(got, files[n]) {
			t.Errorf("%s: munpack did not get it byte for byte (%v)", n, err)
		}
	}
}

// TestPeerMpackToUs: we unpack what mpack builds.
func TestPeerMpackToUs(t *testing.T) {
	mpack := testutil.Peer(t, "mpack")
	dir := t.TempDir()
	files := corpus(t, dir)
	for _, n := range []string{"random.bin", "bytes.dat", "notes.txt"} {
		msgPath := filepath.Join(t.TempDir(), "m.eml")
		peerRun(t, dir, nil, mpack, "-s", "subj", "-o", msgPath, n)
		msg, _ := os.ReadFile(msgPath)
		out := t.TempDir()
		mustRun(t, msg, "-x", "-C", out)
		got, err := os.ReadFile(filepath.Join(out, n))
		if err != nil || !bytes.Equal(got, files[n]) {
			t.Errorf("%s from mpack: not byte for byte (%v)", n, err)
		}
	}
}

// TestPeerPythonToUs: we unpack what Python's email package builds.
func TestPeerPythonToUs(t *testing.T) {
	py := testutil.Python(t)
	dir := t.TempDir()
	files := corpus(t, dir)
	script := `
import sys, os, mimetypes
from email.message import EmailMessage
from email import policy
m = EmailMessage()
m['Subject'] = 'from python'
m.set_content('body text\n')
for n in sorted(os.listdir(sys.argv[1])):
    data = open(os.path.join(sys.argv[1], n), 'rb').read()
    m.add_attachment(data, maintype='application', subtype='octet-stream', filename=n)
sys.stdout.buffer.write(m.as_bytes(policy=policy.SMTP if sys.argv[2] == 'crlf' else policy.default))
`
	for _, mode := range []string{"lf", "crlf"} {
		msg := peerRun(t, dir, nil, py, "-c", script, dir, mode)
		out := t.TempDir()
		mustRun(t, []byte(msg), "-x", "-C", out)
		for _, n := range names(files) {
			got, err := os.ReadFile(filepath.Join(out, n))
			if err != nil || !bytes.Equal(got, files[n]) {
				t.Errorf("%s %s from python: not byte for byte (%v)", mode, n, err)
			}
		}
	}
}

// shape is a structure as (depth, type) pairs.
func mshowShape(t *testing.T, mshow, msgPath string) []string {
	cmd := exec.Command(mshow, "-t", msgPath)
	cmd.Env = append(os.Environ(), "MBLAZE="+t.TempDir())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("mshow -t: %v", err)
	}
	re := regexp.MustCompile(`^( *)\d+: ([^ ]+)`)
	var shape []string
	for _, l := range strings.Split(string(out), "\n") {
		if m := re.FindStringSubmatch(l); m != nil {
			shape = append(shape, strings.Repeat(" ", len(m[1])/2-1)+strings.ToLower(m[2]))
		}
	}
	return shape
}

func ourShape(t *testing.T, msg []byte) []string {
	var list []Entry
	if err := json.Unmarshal([]byte(mustRun(t, msg, "-l", "--json")), &list); err != nil {
		t.Fatal(err)
	}
	var shape []string
	for _, e := range list {
		shape = append(shape, strings.Repeat(" ", e.Depth)+e.Type)
	}
	return shape
}

// TestPeerMshowAgrees: mblaze's mshow -t and our -l see the same tree.
func TestPeerMshowAgrees(t *testing.T) {
	mshow := testutil.Peer(t, "mshow")
	py := testutil.Python(t)
	dir := t.TempDir()
	corpus(t, dir)
	inner := filepath.Join(dir, "inner.eml")
	os.WriteFile(inner, []byte(mustRun(t, nil, "-m", "inner", "--html", filepath.Join(dir, "page.html"), filepath.Join(dir, "bytes.dat"))), 0o644)
	pyMsg := peerRun(t, dir, nil, py, "-c", `
import sys
from email.message import EmailMessage
inner = EmailMessage(); inner['Subject'] = 'in'; inner.set_content('x'); inner.add_attachment(b'\0' * 10, maintype='application', subtype='x-y', filename='z')
m = EmailMessage(); m.set_content('t'); m.add_alternative('<p>h</p>', subtype='html'); m.add_attachment(inner)
sys.stdout.write(m.as_string())
`)
	msgs := map[string][]byte{
		"single":  []byte(mustRun(t, nil, "-m", "just text")),
		"mixed":   []byte(mustRun(t, nil, "-m", "x", "--html", filepath.Join(dir, "page.html"), filepath.Join(dir, "random.bin"), filepath.Join(dir, "notes.txt"))),
		"digest":  []byte(mustRun(t, nil, "-m", "see", "--digest", inner, inner)),
		"python":  []byte(pyMsg),
		"nesting": []byte(testNested),
	}
	for name, msg := range msgs {
		p := filepath.Join(t.TempDir(), name+".eml")
		os.WriteFile(p, msg, 0o644)
		want, got := mshowShape(t, mshow, p), ourShape(t, msg)
		if strings.Join(want, "\n") != strings.Join(got, "\n") {
			t.Errorf("%s: mshow -t\n%s\nmimepack -l\n%s", name, strings.Join(want, "\n"), strings.Join(got, "\n"))
		}
	}
}

const testNested = "Content-Type: multipart/mixed; boundary=a\n\n--a\nContent-Type: multipart/related; boundary=ab\n\n--ab\nContent-Type: multipart/alternative; boundary=abc\n\n--abc\n\nplain\n--abc\nContent-Type: text/html\n\n<p>\n--abc--\n--ab\nContent-Type: image/png\nContent-Transfer-Encoding: base64\n\niVBORw0K\n--ab--\n--a\nContent-Type: application/pdf\n\nx\n--a--\n"

// TestBinaryExitStatus checks the documented exit codes.
func TestBinaryExitStatus(t *testing.T) {
	deep := "Content-Type: multipart/mixed; boundary=b0\n\n"
	for i := 0; i < 10000; i++ {
		deep += "--b" + itoa(i) + "\nContent-Type: multipart/mixed; boundary=b" + itoa(i+1) + "\n\n"
	}
	tests := []struct {
		name  string
		stdin string
		args  []string
		code  int
		msg   string
	}{
		{"missing file", "", []string{"/nonexistent/file"}, 66, "no such file"},
		{"two modes", "", []string{"-l", "-x"}, 64, "exclude each other"},
		{"unknown flag", "", []string{"--bogus"}, 64, ""},
		{"bad address", "", []string{"-t", "not an address <"}, 64, "--to"},
		{"header injection", "", []string{"-s", "x\nBcc: y@z"}, 64, "line break"},
		{"missing final boundary", "Content-Type: multipart/mixed; boundary=b\n\n--b\n\nx\n", []string{"-l"}, 65, "part 1: missing final boundary"},
		{"10,000 levels", deep, []string{"-l"}, 65, "nested deeper than 64 levels"},
		{"no such part", "Subject: x\n\nbody\n", []string{"--part", "3"}, 65, "no part 3"},
		{"bad quoted-printable", "Content-Transfer-Encoding: quoted-printable\n\na\x01b\n", []string{"--part", "1"}, 65, "part 1: quoted-printable"},
		{"signer fails", "", []string{"-m", "x", "--sign-cmd", "exit 3"}, 69, "exit status 3"},
		{"verify unsigned", "Subject: x\n\nbody\n", []string{"--verify-cmd", "true"}, 65, "not a multipart/signed"},
		{"split without -o", "", []string{"-m", "x", "--split", "2000"}, 64, "-o PREFIX"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, errs, code := run(t, []byte(tc.stdin), tc.args...)
			if code != tc.code || !strings.Contains(strings.ToLower(errs), strings.ToLower(tc.msg)) {
				t.Errorf("exit %d, want %d; stderr %q", code, tc.code, errs)
			}
			if tc.name == "signer fails" && out != "" {
				t.Errorf("a failed build printed %q", out)
			}
		})
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestBinaryHostileNames: suggested names never lead outside -C DIR,
// never through a symbolic link, never over an existing file.
func TestBinaryHostileNames(t *testing.T) {
	hostile := []string{"../../x", "/etc/passwd", `C:\x`, "a\x00b", strings.Repeat("A", 5000) + ".txt",
		"dup.txt", "dup.txt", "..", ".profile", "x\u202egpj.exe", "link"}
	var b strings.Builder
	b.WriteString("Content-Type: multipart/mixed; boundary=zz\n\n")
	for i, h := range hostile {
		// Half as RFC 2231 parameters, half as plain (quoted) ones.
		if i%2 == 0 {
			b.WriteString("--zz\nContent-Type: application/octet-stream\nContent-Disposition: attachment; filename*=UTF-8''" + pct(h) + "\n\ndata" + itoa(i) + "\n")
		} else {
			b.WriteString("--zz\nContent-Type: application/octet-stream; name=\"" + strings.ReplaceAll(h, `\`, `\\`) + "\"\n\ndata" + itoa(i) + "\n")
		}
	}
	b.WriteString("--zz--\n")
	parent := t.TempDir()
	out := filepath.Join(parent, "out")
	os.Mkdir(out, 0o755)
	target := filepath.Join(parent, "target")
	os.WriteFile(target, []byte("keep"), 0o644)
	os.Symlink(target, filepath.Join(out, "link"))
	os.Symlink(target, filepath.Join(out, "passwd"))
	listing := mustRun(t, []byte(b.String()), "-x", "-C", out)
	if got, _ := os.ReadFile(target); string(got) != "keep" {
		t.Fatal("wrote through a symbolic link")
	}
	ents, _ := os.ReadDir(parent)
	if len(ents) != 2 {
		t.Errorf("files outside DIR: %v", ents)
	}
	ents, _ = os.ReadDir(out)
	var got []string
	for _, e := range ents {
		if e.Type()&os.ModeSymlink == 0 {
			got = append(got, e.Name())
		}
		if strings.HasPrefix(e.Name(), ".") || strings.ContainsAny(e.Name(), "\x00\\:") || len(e.Name()) > maxName+10 {
			t.Errorf("unsafe name %q", e.Name())
		}
	}
	if len(got) != len(hostile) || strings.Count(listing, "\n") != len(hostile) {
		t.Errorf("wrote %d files for %d parts: %q\n%s", len(got), len(hostile), got, listing)
	}
	for _, want := range []string{"dup.txt", "dup-1.txt", "x", "x-1", "a_b", "profile", "x_gpj.exe", "link-1", "passwd-1"} {
		if _, err := os.Lstat(filepath.Join(out, want)); err != nil {
			t.Errorf("expected %s: %v (have %q)", want, err, got)
		}
	}
}

func pct(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		b.WriteString("%" + strings.ToUpper(hex.EncodeToString([]byte{s[i]})))
	}
	return b.String()
}

// TestManPageAgrees: every option of --help is in the man page.
func TestManPageAgrees(t *testing.T) {
	page, err := os.ReadFile(filepath.Join(testutil.ModuleRoot(t), "docs", "man", "mimepack.1.md"))
	if err != nil {
		t.Fatal(err)
	}
	help := mustRun(t, nil, "--help")
	for _, f := range NewApp().Flags {
		for _, n := range f.Names() {
			opt := "--" + n
			if len(n) == 1 {
				opt = "-" + n
			}
			if !strings.Contains(string(page), "**"+opt+"**") {
				t.Errorf("%s is not in the man page", opt)
			}
			if !strings.Contains(help, opt) {
				t.Errorf("%s is not in --help", opt)
			}
		}
	}
	for _, code := range []string{"64", "65", "66", "69", "73", "74"} {
		if !strings.Contains(help, code) || !strings.Contains(string(page), "**"+code+"**") {
			t.Errorf("exit status %s not documented in both", code)
		}
	}
}

// heavyEnv names the environment variable that turns on the heavy
// variants of tests, too slow or disk-hungry for every run.
const heavyEnv = "MAILTK_HEAVY"

// TestBinaryConstantMemory: building and unpacking an attachment stays
// within 32 MiB of resident memory. By default the attachment is 32 MiB,
// already more than a program that holds it (or its 43 MiB of base64) in
// memory could fit in; with MAILTK_HEAVY=1 it is 256 MiB (about 600 MB
// written to disk). The 1 GiB run is in bench/mimepack.
func TestBinaryConstantMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 75 MB to disk")
	}
	size := int64(32 << 20)
	if os.Getenv(heavyEnv) != "" {
		size = 256 << 20
	}
	dir := t.TempDir()
	big := filepath.Join(dir, "big.bin")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	f.Truncate(size) // sparse: cheap to make, as big to encode
	f.Close()
	msgPath := filepath.Join(dir, "msg.eml")
	// The peak RSS of a child is measured by a small launcher: a child
	// started straight from this (large) test process would count the
	// test's own pages, which it shares until exec, in ru_maxrss. The
	// figure is an upper bound: at least the launcher's own (~10 MiB).
	py := testutil.Python(t)
	bin := testutil.Binary(t, "mimepack")
	maxRSS := func(stdout string, args ...string) int64 {
		script := `
import resource, subprocess, sys
out = open(sys.argv[1], 'wb') if sys.argv[1] else subprocess.DEVNULL
subprocess.run(sys.argv[2:], stdout=out, check=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
`
		out, err := exec.Command(py, append([]string{"-c", script, stdout, bin}, args...)...).Output()
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		kb, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%v: peak RSS %d KiB", args[:2], kb)
		return kb // KiB on Linux
	}
	if kb := maxRSS(msgPath, "-m", "x", big); kb > 32<<10 {
		t.Errorf("build: peak RSS %d KiB", kb)
	}
	if kb := maxRSS("", "-x", "-C", filepath.Join(dir, "out"), msgPath); kb > 32<<10 {
		t.Errorf("unpack: peak RSS %d KiB", kb)
	}
	fi, err := os.Stat(filepath.Join(dir, "out", "big.bin"))
	if err != nil || fi.Size() != size {
		t.Errorf("unpacked: %v %v", fi, err)
	}
}
