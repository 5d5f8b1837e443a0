package cmdutil

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"mailtk/internal/exitcode"
)

// ConfigFlagName is the long option that names a settings file.
const ConfigFlagName = "config"

// ConfigFlag returns the --config flag. A program that has a default
// settings file (sendmail: /etc/mailtk/sendmail.conf) passes its path; a
// missing default file is not an error, a missing named file is.
func ConfigFlag(defaultPath string) *cli.StringFlag {
	return &cli.StringFlag{
		Name:  ConfigFlagName,
		Usage: "read settings from `FILE` (one \"name = value\" line per long option)",
		Value: defaultPath,
	}
}

// addConfig gives app a --config flag (unless it has one) and applies the
// file before the action runs.
func addConfig(app *cli.App) {
	has := false
	for _, f := range app.Flags {
		for _, n := range f.Names() {
			if n == ConfigFlagName {
				has = true
			}
		}
	}
	if !has {
		app.Flags = append(app.Flags, ConfigFlag(""))
	}
	before := app.Before
	app.Before = func(c *cli.Context) error {
		if err := applyConfig(c); err != nil {
			return err
		}
		if before != nil {
			return before(c)
		}
		return nil
	}
}

func applyConfig(c *cli.Context) error {
	path := c.String(ConfigFlagName)
	if path == "" {
		return nil
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) && !c.IsSet(ConfigFlagName) {
		return nil // the program's default file is optional
	}
	if err != nil {
		return exitcode.New(exitcode.Config, err)
	}
	defer f.Close()
	settings, err := ParseConfig(f, path)
	if err != nil {
		return err
	}
	// Flags given on the command line win over the file: remember them
	// before the file sets anything (a slice flag set twice by the file
	// would otherwise look like a command-line flag).
	fromArgs := map[string]bool{}
	for _, fl := range c.App.Flags {
		for _, n := range fl.Names() {
			if c.IsSet(n) {
				for _, m := range fl.Names() {
					fromArgs[m] = true
				}
			}
		}
	}
	known := map[string]bool{}
	for _, fl := range c.App.Flags {
		for _, n := range fl.Names() {
			known[n] = true
		}
	}
	for _, s := range settings {
		if !known[s.Name] || s.Name == ConfigFlagName {
			return exitcode.Errorf(exitcode.Config, "%s:%d: unknown setting %q", path, s.Line, s.Name)
		}
		if fromArgs[s.Name] {
			continue
		}
		if err := c.Set(s.Name, s.Value); err != nil {
			return exitcode.Errorf(exitcode.Config, "%s:%d: %s: %v", path, s.Line, s.Name, err)
		}
	}
	return nil
}

// Setting is one "name = value" line of a settings file.
type Setting struct {
	Name, Value string
	Line        int
}

// ParseConfig reads a settings file: one "name = value" per line, where
// name is a long option without its dashes; blank lines and lines whose
// first non-blank character is '#' are ignored; a value may be quoted with
// double quotes (Go escapes) or single quotes (literal). A bare name means
// "name = true", for boolean options. There is no other syntax: this is
// not a configuration language.
func ParseConfig(r interface{ Read([]byte) (int, error) }, path string) ([]Setting, error) {
	var out []Setting
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64*1024)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		name, value, found := strings.Cut(line, "=")
		name = strings.TrimSpace(name)
		value = strings.TrimSpace(value)
		if !found {
			value = "true"
		}
		if name == "" || strings.ContainsAny(name, " \t\"'") {
			return nil, exitcode.Errorf(exitcode.Config, "%s:%d: expected \"name = value\"", path, n)
		}
		name = strings.TrimLeft(name, "-")
		v, err := unquote(value)
		if err != nil {
			return nil, exitcode.Errorf(exitcode.Config, "%s:%d: %s: %v", path, n, name, err)
		}
		out = append(out, Setting{Name: name, Value: v, Line: n})
	}
	if err := sc.Err(); err != nil {
		return nil, exitcode.Errorf(exitcode.Config, "%s: %v", path, err)
	}
	return out, nil
}

func unquote(v string) (string, error) {
	if len(v) == 0 {
		return v, nil
	}
	switch v[0] {
	case '"':
		return strconv.Unquote(v)
	case '\'':
		if len(v) < 2 || v[len(v)-1] != '\'' {
			return "", fmt.Errorf("unterminated quote")
		}
		return v[1 : len(v)-1], nil
	}
	return v, nil
}
