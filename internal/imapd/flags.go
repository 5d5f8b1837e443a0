package imapd

import (
	"strings"

	"github.com/emersion/go-imap/v2"
)

// Flags live in the Maildir file name (the ":2," info): the upper-case
// letters are the Maildir spec's system flags, mapped to IMAP as Dovecot
// maps them; the lower-case letters a–z are keywords, whose names are in
// the folder's dovecot-keywords file (letter 'a' is entry 0). \Recent is
// not stored: it is session state (RFC 3501 §2.3.2).

var systemFlags = []struct {
	letter byte
	flag   imap.Flag
}{
	{'D', imap.FlagDraft},
	{'F', imap.FlagFlagged},
	{'R', imap.FlagAnswered},
	{'S', imap.FlagSeen},
	{'T', imap.FlagDeleted},
}

// maxKeywords is the number of keyword letters (a–z).
const maxKeywords = 26

// imapFlags lists the IMAP flags of a message whose info flags are info.
func imapFlags(info string, kw []string, recent bool) []imap.Flag {
	flags := make([]imap.Flag, 0, len(info)+1)
	for i := 0; i < len(info); i++ {
		c := info[i]
		switch {
		case c >= 'a' && c <= 'z':
			if k := int(c - 'a'); k < len(kw) {
				flags = append(flags, imap.Flag(kw[k]))
			}
		default:
			for _, s := range systemFlags {
				if s.letter == c {
					flags = append(flags, s.flag)
				}
			}
		}
	}
	if recent {
		flags = append(flags, flagRecent)
	}
	return flags
}

// letterOf returns the info letter of an IMAP flag, or 0 when the flag is
// a keyword not (yet) in kw. \Recent and unknown system flags have none
// and report ok false: they are not stored.
func letterOf(f imap.Flag, kw []string) (letter byte, ok bool) {
	if strings.HasPrefix(string(f), `\`) {
		for _, s := range systemFlags {
			if strings.EqualFold(string(s.flag), string(f)) {
				return s.letter, true
			}
		}
		return 0, false
	}
	for i, k := range kw {
		if strings.EqualFold(k, string(f)) {
			return byte('a' + i), true
		}
	}
	return 0, true
}

// mailboxFlags is the FLAGS response of SELECT: the system flags and
// every keyword defined for the folder.
func mailboxFlags(kw []string) []imap.Flag {
	flags := []imap.Flag{imap.FlagAnswered, imap.FlagFlagged, imap.FlagDeleted, imap.FlagSeen, imap.FlagDraft}
	for _, k := range kw {
		flags = append(flags, imap.Flag(k))
	}
	return flags
}

// permanentFlags adds \* while there is room for new keywords.
func permanentFlags(kw []string) []imap.Flag {
	flags := mailboxFlags(kw)
	if len(kw) < maxKeywords {
		flags = append(flags, imap.FlagWildcard)
	}
	return flags
}

// validKeyword reports whether f can be stored as a keyword: an IMAP atom
// (RFC 3501 §9 flag-keyword) that fits a dovecot-keywords line.
func validKeyword(f imap.Flag) bool {
	s := string(f)
	if s == "" || len(s) > 100 || strings.HasPrefix(s, `\`) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`(){%*"\]`, c) >= 0 {
			return false
		}
	}
	return true
}

// flagRecent is RFC 3501's \Recent (dropped by IMAP4rev2).
const flagRecent imap.Flag = `\Recent`
