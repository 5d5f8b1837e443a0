package b64mime

import (
	"bytes"
	"math/rand/v2"
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

func runApp(stdin string, args ...string) (string, string, int) {
	app := NewApp()
	var out, errb bytes.Buffer
	app.Reader, app.Writer, app.ErrWriter = strings.NewReader(stdin), &out, &errb
	code := cmdutil.Main(app, append([]string{"b64mime"}, args...))
	return out.String(), errb.String(), code
}

func corpus() map[string][]byte {
	rng := rand.New(rand.NewPCG(13, 14))
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	random := make([]byte, 3<<20+5) // past several of the codec's rounds
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	return map[string][]byte{
		"all256":   all,
		"random":   random,
		"longline": bytes.Repeat([]byte("a long line without a break "), 20000),
		"empty":    nil,
		"one":      {0x23},
		"two":      {0x23, 0x5c},
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
		{"encode, the seed's example", "#\\", nil, 0, "I1w=\n", ""},
		{"no wrap", "foobar", []string{"-w", "0"}, 0, "Zm9vYmFy", ""},
		{"decode", "Zm9v\r\nYmFy\r\n", []string{"-d"}, 0, "foobar", ""},
		{"bad character", "Zm9v\nYm*y", []string{"-d"}, 65, "foo", "b64mime: stdin: byte offset 7: invalid character '*'\n"},
		{"truncated", "Zm9vYg", []string{"-d"}, 65, "foo", "b64mime: stdin: byte offset 6: truncated input: missing padding\n"},
		{"lenient", "Zm9v\nYm*Fy", []string{"-d", "--lenient"}, 0, "foobar", ""},
		{"header", "Café\n", []string{"--header"}, 0, "=?UTF-8?B?Q2Fmw6k=?=\n", ""},
		{"header decode", "=?UTF-8?B?Q2Fmw6k=?=\n", []string{"-d", "--header"}, 0, "Café\n", ""},
		{"negative wrap", "", []string{"-w", "-1"}, 64, "", ""},
		{"missing file", "", []string{"/nonexistent/x"}, 74, "", ""},
	}
	for _, tt := range tests {
		out, errs, code := runApp(tt.stdin, tt.args...)
		if code != tt.code || out != tt.stdout || (tt.stderr != "" && errs != tt.stderr) {
			t.Errorf("%s: got %d %q %q, want %d %q %q", tt.name, code, out, errs, tt.code, tt.stdout, tt.stderr)
		}
	}
}

// TestPeerBase64: b64mime | base64 -d and base64 -w 76 | b64mime -d with
// GNU coreutils; the encodings are byte-identical.
func TestPeerBase64(t *testing.T) {
	b64mime := testutil.Binary(t, "b64mime")
	base64 := testutil.Peer(t, "base64")
	for name, data := range corpus() {
		for _, portable := range []bool{false, true} {
			args := []string{}
			if portable {
				args = []string{"--portable"}
			}
			enc := pipe(t, data, b64mime, args...)
			if got := pipe(t, enc, base64, "-d"); !bytes.Equal(got, data) {
				t.Errorf("%s: b64mime %v | base64 -d differs from the input", name, args)
			}
			genc := pipe(t, data, base64, "-w", "76")
			if !bytes.Equal(enc, genc) {
				t.Errorf("%s: b64mime %v and base64 -w 76 differ", name, args)
			}
			if got := pipe(t, genc, b64mime, append(args, "-d")...); !bytes.Equal(got, data) {
				t.Errorf("%s: base64 -w 76 | b64mime -d %v differs from the input", name, args)
			}
		}
		for _, w := range []string{"0", "64", "1"} {
			if len(data) > 100000 && w == "1" {
				continue
			}
			if a, b := pipe(t, data, b64mime, "-w", w), pipe(t, data, base64, "-w", w); !bytes.Equal(a, b) {
				t.Errorf("%s: -w %s output differs from base64's", name, w)
			}
		}
	}
}

// TestPeerPython: Python's base64 module, and email.header for B words.
func TestPeerPython(t *testing.T) {
	b64mime := testutil.Binary(t, "b64mime")
	py := testutil.Python(t)
	const dec = "import base64,sys; sys.stdout.buffer.write(base64.decodebytes(sys.stdin.buffer.read()))"
	const enc = "import base64,sys; sys.stdout.buffer.write(base64.encodebytes(sys.stdin.buffer.read()))"
	for name, data := range corpus() {
		out := pipe(t, data, b64mime, "--crlf")
		if got := pipe(t, out, py, "-c", dec); !bytes.Equal(got, data) {
			t.Errorf("%s: b64mime --crlf | python base64.decodebytes differs", name)
		}
		penc := pipe(t, data, py, "-c", enc)
		if !bytes.Equal(penc, pipe(t, data, b64mime)) {
			t.Errorf("%s: python base64.encodebytes and b64mime differ", name)
		}
		if got := pipe(t, penc, b64mime, "-d"); !bytes.Equal(got, data) {
			t.Errorf("%s: python base64.encodebytes | b64mime -d differs", name)
		}
	}
	line := strings.Repeat("Grüße aus Köln, 漢字 ", 12)
	hdr := pipe(t, []byte(line+"\n"), b64mime, "--header", "--field", "Subject")
	const pydec = `import sys, email
from email.header import decode_header, make_header
msg = email.message_from_bytes(sys.stdin.buffer.read() + b"\n")
print(str(make_header(decode_header(msg["Subject"]))), end="")`
	if got := string(pipe(t, hdr, py, "-c", pydec)); got != line {
		t.Errorf("python decodes our B words to %q, want %q", got, line)
	}
}
