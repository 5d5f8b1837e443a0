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
		if a == "--" {
			rcpts = append(rcpts, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			rcpts = append(rcpts, a)
			continue
		}
		if strings.HasPrefix(a, "--") {
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
		switch letter {
		case 'f', 'r':
			v, err := value()
			if err != nil {
				return nil, nil, err
			}
			opts = append(opts, "--from="+v)
		case 'F':
			v, err := value()
			if err != nil {
				return nil, nil, err
			}
			opts = append(opts, "--fullname="+v)
		case 'C':
			v, err := value()
			if err != nil {
				return nil, nil, err
			}
			opts = append(opts, "--config="+v)
		case 'N':
			v, err := value()
			if err != nil {
				return nil, nil, err
			}
			opts = append(opts, "--notify="+v)
		case 'R':
			v, err := value()
			if err != nil {
				return nil, nil, err
			}
			opts = append(opts, "--ret="+v)
		case 'V':
			v, err := value()
			if err != nil {
				return nil, nil, err
			}
			opts = append(opts, "--envid="+v)
		case 'B':
			v, err := value()
			if err != nil {
				return nil, nil, err
			}
			opts = append(opts, "--body-type="+v)
		case 't':
			if rest != "" {
				return nil, nil, fmt.Errorf("unknown option %q", a)
			}
			opts = append(opts, "--read-recipients")
		case 'i':
			if rest != "" {
				return nil, nil, fmt.Errorf("unknown option %q", a)
			}
			opts = append(opts, "--ignore-dots")
		case 'v':
			opts = append(opts, "--verbose")
		case 'b':
			v, err := value()
			if err != nil {
				return nil, nil, err
			}
			switch v {
			case "m", "s", "p", "v", "i":
				opts = append(opts, "--mode=b"+v)
			case "d", "D":
				return nil, nil, fmt.Errorf("-b%s: daemon mode is smtpd's job (see smtpd(8))", v)
			default:
				return nil, nil, fmt.Errorf("unsupported mode -b%s", v)
			}
		case 'q':
			switch {
			case rest == "":
				opts = append(opts, "--queue-run")
			case rest[0] == 'R' || rest[0] == 'S' || rest[0] == 'I':
				return nil, nil, fmt.Errorf("-q%c: selective queue runs are not supported", rest[0])
			default:
				opts = append(opts, "--queue-run", "--queue-interval="+rest)
			}
		case 'o':
			// -oi is the one -o option that changes what we do; the
			// rest (-oem, -odi, -om, -oQ..., -oA...) configure sendmail
			// internals we do not have.
			if rest == "i" {
				opts = append(opts, "--ignore-dots")
				continue
			}
			if rest == "" {
				if _, err := value(); err != nil {
					return nil, nil, err
				}
			}
			notes = append(notes, fmt.Sprintf("ignoring option -o%s", rest))
		case 'h', 'L', 'X', 'O':
			v, err := value()
			if err != nil {
				return nil, nil, err
			}
			notes = append(notes, fmt.Sprintf("ignoring option -%c %s", letter, v))
		case 'G', 'U', 'n', 'm', 'e', 'd', 's', 'x':
			// -G gateway, -U initial submission, -n no aliasing, -m me
			// too (always on): accepted and ignored, as Postfix does.
			notes = append(notes, fmt.Sprintf("ignoring option %s", a))
		case 'I':
			opts = append(opts, "--mode=bi")
		default:
			return nil, nil, fmt.Errorf("unknown option %q", a)
		}
	}
	out = append(out, opts...)
	out = append(out, "--")
	out = append(out, rcpts...)
	return out, notes, nil
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
