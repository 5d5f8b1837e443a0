package sendmail

import (
	"log/slog"

	"github.com/urfave/cli/v2"

	"mailtk/internal/exitcode"
)

func smtpMode(c *cli.Context, log *slog.Logger) error {
	return exitcode.Errorf(exitcode.Unavailable, "-bs is not available yet")
}

func verifyMode(c *cli.Context, log *slog.Logger) error {
	return exitcode.Errorf(exitcode.Unavailable, "-bv is not available yet")
}
