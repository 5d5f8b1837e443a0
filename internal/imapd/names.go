package imapd

import (
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-imap/v2"
)

// Mailbox names.
//
// INBOX is the Maildir itself; every other mailbox is a Maildir++ folder:
// the IMAP name "Lists.go" is the directory ".Lists.go". The hierarchy
// delimiter is therefore '.', as in Dovecot's and Courier's default
// Maildir++ layout, so a Maildir shows the same names under either server.
// Non-ASCII names are stored in modified UTF-7, as Dovecot stores them.
//
// Every name a client sends goes through folderName, and then through
// maildir.ValidateFolder, before any path is built from it.

// Delim is the hierarchy delimiter imapd announces in LIST.
const Delim = '.'

// maxNameLen bounds the on-disk folder name, leaving room under the
// 255-byte file name limit for the leading dot.
const maxNameLen = 200

// errNoSuchMailbox is the answer for a name that does not exist.
var errNoSuchMailbox = &imap.Error{
	Type: imap.StatusResponseTypeNo,
	Code: imap.ResponseCodeNonExistent,
	Text: "No such mailbox",
}

func badName(text string) error {
	return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot, Text: "Bad mailbox name: " + text}
}

// isInbox reports whether name is INBOX, which RFC 3501 §5.1 makes
// case-insensitive.
func isInbox(name string) bool { return strings.EqualFold(name, "INBOX") }

// folderName maps the mailbox name a client sent (UTF-8, already decoded
// from modified UTF-7 by the protocol layer) to the Maildir++ folder name
// without its leading dot, or "" for INBOX. It refuses what cannot be a
// safe single directory name: empty levels ("a..b", ".a", "a."), '/',
// control characters, list wildcards, invalid UTF-8 and over-long names.
func folderName(name string) (string, error) {
	if isInbox(name) {
		return "", nil
	}
	if name == "" {
		return "", badName("empty")
	}
	if !utf8.ValidString(name) {
		return "", badName("invalid UTF-8")
	}
	for _, r := range name {
		switch {
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			return "", badName("control character")
		case r == '/':
			return "", badName("'/' is not allowed (the hierarchy delimiter is '.')")
		case r == '*' || r == '%':
			return "", badName("wildcard character")
		case r == utf8.RuneError:
			return "", badName("invalid UTF-8")
		}
	}
	for _, level := range strings.Split(name, string(Delim)) {
		if level == "" {
			return "", badName("empty hierarchy level")
		}
	}
	enc := encodeUTF7(name)
	if len(enc) > maxNameLen {
		return "", badName("too long")
	}
	// A name whose first level is INBOX in another case would be a second
	// spelling of INBOX's children; keep one spelling (RFC 3501 §5.1).
	if i := strings.IndexByte(enc, Delim); i >= 0 && isInbox(enc[:i]) {
		enc = "INBOX" + enc[i:]
	}
	return enc, nil
}

// mailboxName maps a Maildir++ folder name (without the leading dot) to
// the IMAP name shown to clients, or reports false for a directory whose
// name is not a valid modified UTF-7 folder name (it is then not listed).
func mailboxName(folder string) (string, bool) {
	if folder == "" {
		return "INBOX", true
	}
	name, err := decodeUTF7(folder)
	if err != nil {
		return "", false
	}
	if _, err := folderName(name); err != nil {
		return "", false
	}
	return name, true
}
