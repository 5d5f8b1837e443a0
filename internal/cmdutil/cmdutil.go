// Package cmdutil runs a program's urfave/cli application and turns its
// result into an exit status, so that every main is one line:
//
//	func main() { os.Exit(cmdutil.Main(smtpd.NewApp(), os.Args)) }
//
// It also gives every program the same settings file: --config FILE, one
// "name = value" line per long option (see config.go).
package cmdutil

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/urfave/cli/v2"

	"mailtk/internal/exitcode"
)

// Main runs app with args (args[0] is the program name) and returns the
// exit status. It never calls os.Exit, so tests can run an app in-process
// with app.Reader, app.Writer and app.ErrWriter pointed at buffers.
//
// Errors are printed once, as "NAME: message", on app.ErrWriter; the
// status comes from exitcode.Of, and command-line errors are 64 (EX_USAGE).
func Main(app *cli.App, args []string) int {
	if app.Reader == nil {
		app.Reader = os.Stdin
	}
	if app.Writer == nil {
		app.Writer = os.Stdout
	}
	if app.ErrWriter == nil {
		app.ErrWriter = os.Stderr
	}
	// Run must return errors to us, not exit the process.
	app.ExitErrHandler = func(*cli.Context, error) {}
	usage := app.OnUsageError
	app.OnUsageError = func(c *cli.Context, err error, sub bool) error {
		if usage != nil {
			err = usage(c, err, sub)
		}
		return exitcode.New(exitcode.Usage, err)
	}
	addConfig(app)

	err := app.Run(args)
	if err == nil {
		return exitcode.OK
	}
	code := exitcode.Of(err)
	var ce cli.ExitCoder
	if !errors.As(err, new(*exitcode.Error)) && errors.As(err, &ce) {
		code = ce.ExitCode()
	}
	if msg := err.Error(); msg != "" {
		fmt.Fprintf(app.ErrWriter, "%s: %s\n", app.Name, msg)
	}
	return code
}

// UsageError returns an error that exits with 64 (EX_USAGE).
func UsageError(format string, args ...any) error {
	return exitcode.Errorf(exitcode.Usage, format, args...)
}

// Stdout returns the writer the app prints to.
func Stdout(c *cli.Context) io.Writer { return c.App.Writer }

// Stderr returns the writer the app prints diagnostics to.
func Stderr(c *cli.Context) io.Writer { return c.App.ErrWriter }

// Hostname returns given, or when it is empty the machine's host name, or
// "localhost" when the system has none: the default of every program's
// --hostname.
func Hostname(given string) string {
	if given != "" {
		return given
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "localhost"
}
