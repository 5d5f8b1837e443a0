package cmdutil

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"mailtk/internal/exitcode"
)

func testApp(got *map[string]any) *cli.App {
	return &cli.App{
		Name: "t",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "hostname"},
			&cli.BoolFlag{Name: "lenient"},
			&cli.StringSliceFlag{Name: "listen"},
			&cli.IntFlag{Name: "max-rcpt", Value: 100},
		},
		Action: func(c *cli.Context) error {
			*got = map[string]any{
				"hostname": c.String("hostname"),
				"lenient":  c.Bool("lenient"),
				"listen":   strings.Join(c.StringSlice("listen"), ","),
				"max-rcpt": c.Int("max-rcpt"),
			}
			if c.Args().First() == "fail" {
				return exitcode.Errorf(exitcode.DataErr, "bad data at offset 3")
			}
			return nil
		},
	}
}

func run(t *testing.T, args ...string) (int, map[string]any, string) {
	t.Helper()
	var got map[string]any
	app := testApp(&got)
	var stderr bytes.Buffer
	app.Writer = &bytes.Buffer{}
	app.ErrWriter = &stderr
	code := Main(app, append([]string{"t"}, args...))
	return code, got, stderr.String()
}

func TestConfigFileAndCommandLine(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "t.conf")
	os.WriteFile(conf, []byte(`# settings
hostname = "mx.example.org"
lenient
listen = 127.0.0.1:25
listen = '[::1]:25'
max-rcpt = 5
`), 0o600)

	code, got, _ := run(t, "--config", conf)
	if code != 0 {
		t.Fatalf("code %d", code)
	}
	want := map[string]any{"hostname": "mx.example.org", "lenient": true, "listen": "127.0.0.1:25,[::1]:25", "max-rcpt": 5}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}

	// The command line wins.
	_, got, _ = run(t, "--config", conf, "--hostname", "cli.example", "--max-rcpt", "7")
	if got["hostname"] != "cli.example" || got["max-rcpt"] != 7 {
		t.Errorf("command line did not win: %v", got)
	}
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.conf")
	os.WriteFile(bad, []byte("hostname = x\nnosuch = 1\n"), 0o600)
	code, _, msg := run(t, "--config", bad)
	if code != exitcode.Config || !strings.Contains(msg, "bad.conf:2") {
		t.Errorf("unknown setting: code %d, %q", code, msg)
	}
	code, _, _ = run(t, "--config", filepath.Join(dir, "missing"))
	if code != exitcode.Config {
		t.Errorf("missing file: code %d", code)
	}
	os.WriteFile(bad, []byte("hostname = \"unterminated\n"), 0o600)
	code, _, _ = run(t, "--config", bad)
	if code != exitcode.Config {
		t.Errorf("bad quote: code %d", code)
	}
}

func TestExitStatus(t *testing.T) {
	if code, _, _ := run(t, "--no-such-flag"); code != exitcode.Usage {
		t.Errorf("usage error: code %d", code)
	}
	code, _, msg := run(t, "fail")
	if code != exitcode.DataErr || msg != "t: bad data at offset 3\n" {
		t.Errorf("data error: code %d, %q", code, msg)
	}
}
