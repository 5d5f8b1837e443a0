package login

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/urfave/cli/v2"

	"mailtk/internal/exitcode"
)

func fromArgs(t *testing.T, args ...string) (Mode, error) {
	t.Helper()
	var mode Mode
	var err error
	app := &cli.App{
		Name: "x", Flags: Flags("x"), Writer: io.Discard, ErrWriter: io.Discard,
		Action: func(c *cli.Context) error {
			mode, err = FromCLI(c, "x")
			return nil
		},
	}
	if rerr := app.Run(append([]string{"x"}, args...)); rerr != nil {
		t.Fatal(rerr)
	}
	return mode, err
}

func TestFromCLI(t *testing.T) {
	users := filepath.Join(t.TempDir(), "users")
	os.WriteFile(users, []byte("alice:{PLAIN}x:1000:1000::/home/alice::\n"), 0o644)
	tests := []struct {
		args []string
		code int // 0: accepted
	}{
		{[]string{"--users", users}, 0},
		{[]string{"--checkpassword", "/bin/checkpassword /bin/true"}, 0},
		{nil, exitcode.Usage},
		{[]string{"--users", users, "--checkpassword", "/bin/cp"}, exitcode.Usage},
		{[]string{"--users", users, "--maildir", "/tmp/x"}, exitcode.Usage},
		{[]string{"--preauth"}, exitcode.Usage},
		{[]string{"--checkpassword", " "}, exitcode.Usage},
		{[]string{"--users", filepath.Join(t.TempDir(), "missing")}, exitcode.Config},
	}
	for _, tt := range tests {
		mode, err := fromArgs(t, tt.args...)
		if code := exitcode.Of(err); code != tt.code {
			t.Errorf("%q: exit %d (%v), want %d", tt.args, code, err, tt.code)
		}
		if err == nil && mode.Auth == nil && mode.Preauth == nil {
			t.Errorf("%q: no login mode", tt.args)
		}
	}
	mode, err := fromArgs(t, "--preauth", "--maildir", "rel/Maildir")
	if os.Geteuid() == 0 {
		if exitcode.Of(err) != exitcode.Config {
			t.Errorf("--preauth as root: %v", err)
		}
		return
	}
	if err != nil || mode.Preauth == nil || !filepath.IsAbs(mode.Preauth.Maildir) {
		t.Errorf("--preauth: %+v, %v", mode.Preauth, err)
	}
}
