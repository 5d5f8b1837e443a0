package imapd

import (
	"errors"
	"path/filepath"

	"mailtk/maildir"
)

// Keywords are kept by the maildir package in Dovecot's dovecot-keywords
// file (letter 'a' is entry 0), so Dovecot and imapd share them.

func keywordsPath(d *maildir.Dir) string { return filepath.Join(d.Path(), maildir.KeywordsName) }

// readKeywords returns the keyword names by letter index.
func readKeywords(d *maildir.Dir) ([]string, error) {
	kw, err := d.Keywords()
	if errors.Is(err, maildir.ErrCorrupt) {
		return nil, nil // treated as empty; the next addition rewrites it
	}
	return kw, err
}

// addKeyword defines name and returns the new table.
func addKeyword(d *maildir.Dir, name string) ([]string, error) {
	if _, err := d.KeywordLetters(name); err != nil {
		if errors.Is(err, maildir.ErrTooManyKeywords) {
			return nil, errTooManyKeywords
		}
		return nil, err
	}
	return d.Keywords()
}

var errTooManyKeywords = maildir.ErrTooManyKeywords
