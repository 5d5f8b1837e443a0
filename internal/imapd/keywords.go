package imapd

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"mailtk/maildir"
)

// dovecot-keywords maps keyword letters to names, one "<index> <name>"
// line each; letter 'a' is index 0. Changes are made under Dovecot's
// dotlock (dovecot-keywords.lock, O_EXCL) and written by rename, so
// Dovecot and imapd can share the file.

const keywordsFile = "dovecot-keywords"

func keywordsPath(d *maildir.Dir) string { return filepath.Join(d.Path(), keywordsFile) }

// readKeywords returns the keyword names by letter index; a missing file
// means no keywords. Malformed lines are skipped.
func readKeywords(d *maildir.Dir) ([]string, error) {
	b, err := os.ReadFile(keywordsPath(d))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return parseKeywords(b), nil
}

func parseKeywords(b []byte) []string {
	kw := make([]string, 0, maxKeywords)
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		idx, name, ok := strings.Cut(sc.Text(), " ")
		n, err := strconv.Atoi(idx)
		if !ok || err != nil || n < 0 || n >= maxKeywords || name == "" {
			continue
		}
		for len(kw) <= n {
			kw = append(kw, "")
		}
		kw[n] = name
	}
	return kw
}

func formatKeywords(kw []string) []byte {
	var b bytes.Buffer
	for i, k := range kw {
		if k != "" {
			fmt.Fprintf(&b, "%d %s\n", i, k)
		}
	}
	return b.Bytes()
}

// addKeyword defines name (if no keyword of that name, in any case,
// exists) and returns the new list.
func addKeyword(d *maildir.Dir, name string) ([]string, error) {
	path := keywordsPath(d)
	unlock, err := dotlock(path + ".lock")
	if err != nil {
		return nil, err
	}
	defer unlock()
	kw, err := readKeywords(d)
	if err != nil {
		return nil, err
	}
	for _, k := range kw {
		if strings.EqualFold(k, name) {
			return kw, nil
		}
	}
	slot := -1
	for i, k := range kw {
		if k == "" {
			slot = i
			break
		}
	}
	if slot < 0 {
		if len(kw) >= maxKeywords {
			return nil, errTooManyKeywords
		}
		kw = append(kw, "")
		slot = len(kw) - 1
	}
	kw[slot] = name
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, formatKeywords(kw), 0o600); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return nil, err
	}
	return kw, nil
}

var errTooManyKeywords = errors.New("all 26 keyword letters are in use in this folder")

// dotlock takes an O_EXCL lock file, overriding one older than two
// minutes (Dovecot's stale timeout), waiting at most ten seconds.
func dotlock(path string) (func(), error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			fmt.Fprintf(f, "%d", os.Getpid())
			f.Close()
			return func() { os.Remove(path) }, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, err
		}
		if fi, err := os.Stat(path); err == nil && time.Since(fi.ModTime()) > 2*time.Minute {
			os.Remove(path)
			continue
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%s: lock timeout", path)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
