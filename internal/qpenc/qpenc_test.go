package qpenc

import (
	"bytes"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"mailtk/internal/cmdutil"
	"mailtk/internal/testutil"
)

// pipe runs the built program (or a peer) with stdin and returns stdout.
func pipe(t *testing.T, stdin []byte, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", filepath.Base(name), args, err, stderr.Bytes())
	}
	return out
}

// runApp runs qpenc in-process and returns stdout, stderr and status.
func runApp(stdin string, args ...string) (string, string, int) {
	app := NewApp()
	var out, errb bytes.Buffer
	app.Reader, app.Writer, app.ErrWriter = strings.NewReader(stdin), &out, &errb
	code := cmdutil.Main(app, append([]string{"qpenc"}, args...))
	return out.String(), errb.String(), code
}

func corpus() map[string][]byte {
	rng := rand.New(rand.NewPCG(11, 12))
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	random := make([]byte, 200000)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	var text bytes.Buffer
	words := []string{"Now's", "the", "time", "café", "naïve", "a=b", "\t", "for", "all", "folk", "\f"}
	for text.Len() < 100000 {
		for i := rng.IntN(20); i >= 0; i-- {
			text.WriteString(words[rng.IntN(len(words))] + " ")
		}
		text.WriteString("\n")
	}
	return map[string][]byte{
		"all256":   bytes.Repeat(all, 4),
		"random":   random,
		"text":     text.Bytes(),
		"longline": append(bytes.Repeat([]byte("x y=z é "), 5000), '\n'),
		"empty":    nil,
	}
}

func TestExitStatus(t *testing.T) {
	tests := []struct {
		name, stdin string
		args        []string
		code        int
		stdout      string
		stderr      string
	}{
		{"encode", "Now's the time\f\n", nil, 0, "Now's the time=0C\n", ""},
		{"decode", "caf=C3=A9=\n", []string{"-d"}, 0, "café", ""},
		{"malformed", "ok\nab=ZZ", []string{"-d"}, 65, "ok\nab", "qpenc: stdin: line 2, column 3: '=' followed by 'Z', not two hex digits\n"},
		{"lenient", "ok\nab=ZZ", []string{"-d", "--lenient"}, 0, "ok\nab=ZZ", ""},
		{"8-bit in QP", "caf\xc3\xa9", []string{"-d"}, 65, "caf", "qpenc: stdin: line 1, column 4: unencoded byte 0xC3 (rule 4 needs =C3)\n"},
		{"header", "Café\nplain\n", []string{"-q", "--field", "Subject"}, 0, "Subject: =?UTF-8?Q?Caf=C3=A9?=\nSubject: plain\n", ""},
		{"header decode", "Subject: =?UTF-8?Q?Caf=C3=A9?=\n =?ISO-8859-1?Q?_cr=E8me?=\n", []string{"-d", "-q"}, 0, "Subject: Café crème\n", ""},
		{"header bad word", "x\n=?UTF-8?Q?=Z?=\n", []string{"-d", "-q"}, 65, "x\n", "qpenc: stdin: line 2, column 1: malformed =XX in encoded-word\n"},
		{"unknown charset", "x", []string{"-q", "--charset", "nope"}, 64, "", "qpenc: unknown charset \"nope\"\n"},
		{"unknown flag", "", []string{"--nope"}, 64, "", ""},
		{"two files", "", []string{"a", "b"}, 64, "", "qpenc: at most one input FILE (got 2)\n"},
		{"missing file", "", []string{"/nonexistent/x"}, 74, "", "qpenc: open /nonexistent/x: no such file or directory\n"},
		{"charset without header", "", []string{"--charset", "UTF-8"}, 64, "", "qpenc: --charset and --field need --header\n"},
	}
	for _, tt := range tests {
		out, errs, code := runApp(tt.stdin, tt.args...)
		if code != tt.code || out != tt.stdout || (tt.stderr != "" && errs != tt.stderr) {
			t.Errorf("%s: got %d %q %q, want %d %q %q", tt.name, code, out, errs, tt.code, tt.stdout, tt.stderr)
		}
	}
}

func TestOutputFileOnlyOnSuccess(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	if _, errs, code := runApp("ab=ZZ", "-d", "-o", out); code != 65 {
		t.Fatalf("status %d: %s", code, errs)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("failed run left %v", ents)
	}
	if _, errs, code := runApp("a=3Db\n", "-d", "-o", out); code != 0 {
		t.Fatalf("status %d: %s", code, errs)
	}
	if b, err := os.ReadFile(out); err != nil || string(b) != "a=b\n" {
		t.Fatalf("output file: %q, %v", b, err)
	}
}

// TestPeerQprint: qpenc | qprint -d and qprint -e | qpenc -d, text and
// binary (--binary / qprint -b), with the real programs.
func TestPeerQprint(t *testing.T) {
	qpenc := testutil.Binary(t, "qpenc")
	qprint := testutil.Peer(t, "qprint")
	for name, data := range corpus() {
		binary := name != "text" && name != "longline" && name != "empty"
		encArgs, qpArgs := []string{}, []string{"-e"}
		if binary {
			encArgs, qpArgs = []string{"--binary"}, []string{"-e", "-b"}
		}
		enc := pipe(t, data, qpenc, encArgs...)
		if got := pipe(t, enc, qprint, "-d"); !bytes.Equal(got, data) {
			t.Errorf("%s: qpenc | qprint -d differs from the input", name)
		}
		penc := pipe(t, data, qprint, qpArgs...)
		if got := pipe(t, penc, qpenc, "-d"); !bytes.Equal(got, data) {
			t.Errorf("%s: qprint %v | qpenc -d differs from the input", name, qpArgs)
		}
		for i, l := range bytes.Split(enc, []byte("\n")) {
			if len(l) > 76 {
				t.Fatalf("%s: line %d is %d characters", name, i+1, len(l))
			}
		}
	}
}

// TestPeerPython: Python's quopri decodes our output and we decode its.
func TestPeerPython(t *testing.T) {
	qpenc := testutil.Binary(t, "qpenc")
	py := testutil.Python(t)
	const dec = "import quopri,sys; quopri.decode(sys.stdin.buffer, sys.stdout.buffer)"
	const enc = "import quopri,sys; quopri.encode(sys.stdin.buffer, sys.stdout.buffer, quotetabs=False)"
	for name, data := range corpus() {
		args := []string{}
		if name == "random" || name == "all256" {
			args = []string{"--binary"}
		}
		if got := pipe(t, pipe(t, data, qpenc, args...), py, "-c", dec); !bytes.Equal(got, data) {
			t.Errorf("%s: qpenc | python quopri.decode differs from the input", name)
		}
		if len(args) > 0 {
			continue // quopri.encode is a text encoder: CR and LF stay raw
		}
		if got := pipe(t, pipe(t, data, py, "-c", enc), qpenc, "-d"); !bytes.Equal(got, data) {
			t.Errorf("%s: python quopri.encode | qpenc -d differs from the input", name)
		}
	}
}

// TestPeerPythonHeaders: Python's email.header reads our Q words, and we
// read the words it writes.
func TestPeerPythonHeaders(t *testing.T) {
	qpenc := testutil.Binary(t, "qpenc")
	py := testutil.Python(t)
	lines := []string{"Re: Café au lait", strings.Repeat("漢字かな ", 30), "plain", strings.Repeat("é", 100), "a😀b 😀 c"}
	in := []byte(strings.Join(lines, "\n") + "\n")
	enc := pipe(t, in, qpenc, "-q", "--field", "Subject")
	const pydec = `import sys, email
from email.header import decode_header, make_header
msg = email.message_from_bytes(b"\n".join(l for l in sys.stdin.buffer.read().split(b"\n")) + b"\n")
for v in msg.get_all("Subject"):
    print(str(make_header(decode_header(v))))`
	// Python's parser keeps one field per header name; feed one at a time.
	for i, block := range strings.SplitAfter(string(enc), "\nSubject:") {
		if i > 0 {
			block = "Subject:" + block
		}
		block = strings.TrimSuffix(block, "\nSubject:") + "\n"
		got := strings.TrimSuffix(string(pipe(t, []byte(block+"\n"), py, "-c", pydec)), "\n")
		if got != lines[i] {
			t.Errorf("python decodes %q to %q, want %q", block, got, lines[i])
		}
	}
	const pyenc = `import sys
from email.header import Header
for l in sys.stdin.read().splitlines():
    print("Subject: " + Header(l, "utf-8", header_name="Subject").encode())`
	got := pipe(t, pipe(t, in, py, "-c", pyenc), qpenc, "-d", "-q")
	want := "Subject: " + strings.Join(lines, "\nSubject: ") + "\n"
	if string(got) != want {
		t.Errorf("python Header | qpenc -d -q = %q, want %q", got, want)
	}
}

func TestOutputDevice(t *testing.T) {
	if _, errs, code := runApp("x\n", "-o", os.DevNull); code != 0 {
		t.Fatalf("status %d: %s", code, errs)
	}
	if fi, err := os.Stat(os.DevNull); err != nil || fi.Mode().IsRegular() {
		t.Fatalf("%s was replaced: %v %v", os.DevNull, fi.Mode(), err)
	}
}
