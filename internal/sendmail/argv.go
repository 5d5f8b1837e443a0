package sendmail

import (
	"fmt"
	"strings"
)

// Normalize rewrites a classic sendmail command line into one that
// urfave/cli can parse: every option in its long form, before the
// recipients, which follow a "--". Callers of /usr/sbin/sendmail use
// forms that no flag parser accepts (urfave/cli#488, #1177): values glued
// to the letter (-fuser, -FName, -oi, -q30m, -bs), options after the
// recipients (git send-email), and options nobody but sendmail knows
// (-oem, -odi, -B8BITMIME). Options that change nothing here are dropped
// and reported in notes, which sendmail prints under -v, as Postfix does.
//
// name is the program name (argv[0]); called as "mailq" it means -bp, as
// "newaliases" -bi.
func Normalize(name string, args []string) (out, notes []string, err error) {
	var opts, rcpts []string
	switch base(name) {
	case "mailq":
		opts = append(opts, "--mode", "bp")
	case "newaliases":
		opts = append(opts, "--mode", "bi")
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			rcpts = append(rcpts, args[i+1:]...)
			i = len(args)
			continue
		case len(a) < 2 || a[0] != '-':
			rcpts = append(rcpts, a)
			continue
		case strings.HasPrefix(a, "--"):
			// Our own long options (--queue, --relay, --json ...) pass
			// through; a value for them is glued (--x=v) or the next word.
			opts = append(opts, a)
			if !strings.Contains(a, "=") && longTakesValue(a[2:]) && i+1 < len(args) {
				opts = append(opts, args[i+1])
				i++
			}
			continue
		}
		letter, rest := a[1], a[2:]
		// value returns the option's argument: glued, or the next word.
		value := func() (string, error) {
			if rest != "" {
				return rest, nil
			}
			if i+1 >= len(args) {
				return "", fmt.Errorf("option -%c requires an argument", letter)
			}
			i++
			return args[i], nil
		}
		o, n, err := classic(letter, rest, value)
		if err != nil {
			return nil, nil, err
		}
		opts = append(opts, o...)
		notes = append(notes, n...)
	}
	out = append(out, opts...)
	out = append(out, "--")
	out = append(out, rcpts...)
	return out, notes, nil
}

// withValue maps the classic options that take a value to their long
// names.
var withValue = map[byte]string{
	'f': "from", 'r': "from", 'F': "fullname", 'C': "config",
	'N': "notify", 'R': "ret", 'V': "envid", 'B': "body-type",
}

// classic translates one classic option -LETTER[REST] into long options,
// or into a note when it is accepted and ignored. value fetches the
// option's argument (glued or the next word).
func classic(letter byte, rest string, value func() (string, error)) (opts, notes []string, err error) {
	if long, ok := withValue[letter]; ok {
		v, err := value()
		if err != nil {
			return nil, nil, err
		}
		return []string{"--" + long + "=" + v}, nil, nil
	}
	bad := func() ([]string, []string, error) {
		return nil, nil, fmt.Errorf("unknown option \"-%c%s\"", letter, rest)
	}
	switch letter {
	case 't':
		if rest != "" {
			return bad()
		}
		return []string{"--read-recipients"}, nil, nil
	case 'i':
		if rest != "" {
			return bad()
		}
		return []string{"--ignore-dots"}, nil, nil
	case 'v':
		return []string{"--verbose"}, nil, nil
	case 'I':
		return []string{"--mode=bi"}, nil, nil
	case 'b':
		v, err := value()
		if err != nil {
			return nil, nil, err
		}
		switch v {
		case "m", "s", "p", "v", "i":
			return []string{"--mode=b" + v}, nil, nil
		case "d", "D":
			return nil, nil, fmt.Errorf("-b%s: daemon mode is smtpd's job (see smtpd(8))", v)
		}
		return nil, nil, fmt.Errorf("unsupported mode -b%s", v)
	case 'q':
		switch {
		case rest == "":
			return []string{"--queue-run"}, nil, nil
		case rest[0] == 'R' || rest[0] == 'S' || rest[0] == 'I':
			return nil, nil, fmt.Errorf("-q%c: selective queue runs are not supported", rest[0])
		}
		return []string{"--queue-run", "--queue-interval=" + rest}, nil, nil
	case 'o':
		// -oi is the one -o option that changes what we do; the rest
		// (-oem, -odi, -om, -oQ..., -oA...) configure sendmail
		// internals we do not have.
		if rest == "i" {
			return []string{"--ignore-dots"}, nil, nil
		}
		if rest == "" {
			if _, err := value(); err != nil {
				return nil, nil, err
			}
		}
		return nil, []string{"ignoring option -o" + rest}, nil
	case 'h', 'L', 'X', 'O':
		v, err := value()
		if err != nil {
			return nil, nil, err
		}
		return nil, []string{fmt.Sprintf("ignoring option -%c %s", letter, v)}, nil
	case 'G', 'U', 'n', 'm', 'e', 'd', 's', 'x':
		// -G gateway, -U initial submission, -n no aliasing, -m me
		// too (always on): accepted and ignored, as Postfix does.
		return nil, []string{fmt.Sprintf("ignoring option -%c%s", letter, rest)}, nil
	}
	return bad()
}

// longTakesValue reports whether one of our long options takes a value in
// the next word. Kept in step with the flags of NewApp (argv_test checks).
func longTakesValue(name string) bool {
	switch name {
	case "from", "fullname", "config", "notify", "ret", "envid", "body-type", "mode",
		"queue-interval", "users", "aliases", "hostname", "queue", "relay", "relay-auth",
		"retry", "expire", "warn-after", "timeout", "max-size", "dns-server", "mx-port":
		return true
	}
	return false
}

func base(name string) string {
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		return name[i+1:]
	}
	return name
}
