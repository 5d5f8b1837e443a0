package maildir

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaildirFolderMarker is the empty file that marks a Maildir++ folder
// (Courier's maildirfolder), so that deliveries into it know it is not
// the INBOX.
const MaildirFolderMarker = "maildirfolder"

// MaxFolderName bounds a folder name: the directory ".NAME" must fit the
// 255-byte limit of a file name.
const MaxFolderName = 254

// ValidateFolder is the one gate from a folder name to a path. A Maildir++
// folder "Lists.go" is the directory ".Lists.go" in the INBOX Maildir,
// with '.' as the hierarchy separator. The name must be non-empty, at most
// MaxFolderName bytes of valid UTF-8, without '/', control bytes or DEL,
// and without empty segments (so no leading, trailing or doubled '.', and
// no "." or ".." path element can come out of it).
func ValidateFolder(name string) error {
	bad := func(why string) error {
		return fmt.Errorf("%w: %q: %s", ErrBadFolder, name, why)
	}
	switch {
	case name == "":
		return bad("empty")
	case len(name) > MaxFolderName:
		return bad("longer than " + strconv.Itoa(MaxFolderName) + " bytes")
	case !utf8.ValidString(name):
		return bad("not UTF-8")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c < ' ' || c == 0x7f {
			return bad("control character")
		}
		if c == '/' {
			return bad("contains '/'")
		}
	}
	for _, seg := range strings.Split(name, ".") {
		if seg == "" {
			return bad("empty hierarchy segment")
		}
	}
	return nil
}

// folderPath returns the directory of a validated folder.
func (d *Dir) folderPath(name string) (string, error) {
	if err := ValidateFolder(name); err != nil {
		return "", err
	}
	return filepath.Join(d.path, "."+name), nil
}

// Folders lists the Maildir++ folders of d (the INBOX Maildir) by name:
// ".Sent" and ".Lists.go" give "Sent" and "Lists.go". Names that fail
// ValidateFolder, and entries that are not directories (symlinks
// included), are skipped. The list is sorted.
func (d *Dir) Folders() ([]string, error) {
	ents, err := os.ReadDir(d.path)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		n := e.Name()
		if len(n) < 2 || n[0] != '.' || !e.IsDir() {
			continue
		}
		if ValidateFolder(n[1:]) == nil {
			out = append(out, n[1:])
		}
	}
	slices.Sort(out)
	return out, nil
}

// Folder opens an existing folder of d (the INBOX Maildir), with d's
// Options. A folder's own folders are not nested: "a.b" is a folder of the
// INBOX, not of "a".
func (d *Dir) Folder(name string) (*Dir, error) {
	p, err := d.folderPath(name)
	if err != nil {
		return nil, err
	}
	return OpenWith(p, d.opts)
}

// CreateFolder creates a new folder (tmp/, new/, cur/ and the
// maildirfolder marker, all 0700/0600) and opens it. It fails with an
// error wrapping fs.ErrExist if the folder exists. Parent folders are not
// created: in Maildir++ "a.b" needs no "a".
func (d *Dir) CreateFolder(name string) (*Dir, error) {
	p, err := d.folderPath(name)
	if err != nil {
		return nil, err
	}
	// Build it under a temporary name and rename it into place, so that no
	// one ever sees a half-made folder.
	tmp := filepath.Join(d.path, SubTmp, ".folder-"+strconv.FormatUint(rand.Uint64(), 16))
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return nil, err
	}
	cleanup := func() { os.RemoveAll(tmp) }
	for _, sub := range []string{SubTmp, SubNew, SubCur} {
		if err := os.Mkdir(filepath.Join(tmp, sub), 0o700); err != nil {
			cleanup()
			return nil, err
		}
	}
	f, err := os.OpenFile(filepath.Join(tmp, MaildirFolderMarker), os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		cleanup()
		return nil, err
	}
	f.Close()
	if err := syncDir(tmp); err != nil {
		cleanup()
		return nil, err
	}
	// rename(2) of a directory onto an existing empty directory succeeds,
	// so check first; the window only matters for two creators of the same
	// name at once, and then one of them sees an empty new folder.
	if _, err := os.Lstat(p); err == nil {
		cleanup()
		return nil, fmt.Errorf("maildir: folder %q: %w", name, fs.ErrExist)
	}
	if err := os.Rename(tmp, p); err != nil {
		cleanup()
		if errors.Is(err, fs.ErrExist) || errors.Is(err, errNotEmpty) {
			return nil, fmt.Errorf("maildir: folder %q: %w", name, fs.ErrExist)
		}
		return nil, err
	}
	if err := syncDir(d.path); err != nil {
		return nil, err
	}
	return OpenWith(p, d.opts)
}

// DeleteFolder removes a folder and every message in it. The folder is
// first renamed to a name no reader lists ("..deleted-*"), so it vanishes
// at once, then removed. Its sub-folders ("name.child") are separate
// directories in Maildir++ and stay. A missing folder gives an error
// wrapping fs.ErrNotExist.
func (d *Dir) DeleteFolder(name string) error {
	p, err := d.folderPath(name)
	if err != nil {
		return err
	}
	if fi, err := os.Lstat(p); err != nil {
		return err
	} else if !fi.IsDir() {
		return fmt.Errorf("maildir: folder %q: not a directory", name)
	}
	trash := filepath.Join(d.path, "..deleted-"+strconv.FormatUint(rand.Uint64(), 16))
	if err := os.Rename(p, trash); err != nil {
		return err
	}
	return os.RemoveAll(trash)
}

// RenameFolder renames a folder and its sub-folders: renaming "a" to "b"
// also renames "a.x" to "b.x" (IMAP RENAME, RFC 3501 §6.3.5). It fails
// with an error wrapping fs.ErrExist if any target exists, and with
// fs.ErrNotExist if the folder does not exist. The renames are done one
// by one; an error midway leaves the ones done in place.
func (d *Dir) RenameFolder(oldName, newName string) error {
	from, err := d.folderPath(oldName)
	if err != nil {
		return err
	}
	to, err := d.folderPath(newName)
	if err != nil {
		return err
	}
	if oldName == newName {
		return nil
	}
	if strings.HasPrefix(newName, oldName+".") {
		return fmt.Errorf("%w: cannot rename %q into itself (%q)", ErrBadFolder, oldName, newName)
	}
	if _, err := os.Lstat(from); err != nil {
		return err
	}
	all, err := d.Folders()
	if err != nil {
		return err
	}
	type move struct{ from, to string }
	moves := []move{{from, to}}
	for _, f := range all {
		if strings.HasPrefix(f, oldName+".") {
			n := newName + f[len(oldName):]
			if err := ValidateFolder(n); err != nil {
				return err
			}
			moves = append(moves, move{filepath.Join(d.path, "."+f), filepath.Join(d.path, "."+n)})
		}
	}
	for _, m := range moves {
		if _, err := os.Lstat(m.to); err == nil {
			return fmt.Errorf("maildir: folder %q: %w", filepath.Base(m.to)[1:], fs.ErrExist)
		}
	}
	for _, m := range moves {
		if err := os.Rename(m.from, m.to); err != nil {
			return err
		}
	}
	return syncDir(d.path)
}
