package mimepack

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"mailtk/internal/exitcode"
)

// maxName is the longest file name we create, in bytes (most file
// systems allow 255; room is left for a numeric suffix).
const maxName = 200

// SanitizeFilename turns a file name suggested by a message into one that
// is safe to create inside the output directory, or "" when nothing
// usable is left:
//   - directories are stripped, with "/" or "\" as separator, and a
//     Windows drive prefix ("C:") with them;
//   - NUL, control characters, ":" and Unicode format characters (such
//     as the right-to-left override that disguises "gpj.exe") become "_";
//   - leading dots (no hidden files, no "..") and trailing dots and
//     spaces go;
//   - Windows device names (CON, NUL, COM1, ...) get a "_" in front;
//   - invalid UTF-8 is replaced and the name is cut to maxName bytes,
//     keeping its extension.
func SanitizeFilename(name string) string {
	name = strings.ToValidUTF8(name, "_")
	name = strings.ReplaceAll(name, `\`, "/")
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	if len(name) >= 2 && name[1] == ':' && (name[0]|0x20) >= 'a' && (name[0]|0x20) <= 'z' {
		name = name[2:]
	}
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == ':' || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return '_'
		}
		return r
	}, name)
	name = strings.TrimLeft(name, ". ")
	name = strings.TrimRight(name, ". ")
	if name == "" {
		return ""
	}
	base := strings.ToUpper(name)
	if i := strings.IndexByte(base, '.'); i >= 0 {
		base = base[:i]
	}
	switch base {
	case "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5",
		"COM6", "COM7", "COM8", "COM9", "LPT1", "LPT2", "LPT3", "LPT4",
		"LPT5", "LPT6", "LPT7", "LPT8", "LPT9":
		name = "_" + name
	}
	if len(name) > maxName {
		ext := filepath.Ext(name)
		if len(ext) > 16 {
			ext = ""
		}
		stem := name[:maxName-len(ext)]
		for len(stem) > 0 && !utf8.ValidString(stem) {
			stem = stem[:len(stem)-1]
		}
		name = stem + ext
	}
	return name
}

// defaultName names a part that suggests no file name: part-PATH.EXT.
func defaultName(p *Part) string {
	ext := ".bin"
	switch p.Type {
	case "text/plain":
		ext = ".txt"
	case "text/html":
		ext = ".html"
	case "message/rfc822", "message/global":
		ext = ".eml"
	case "application/pgp-signature":
		ext = ".asc"
	default:
		if exts, _ := mime.ExtensionsByType(p.Type); len(exts) > 0 {
			sort.Strings(exts)
			ext = exts[0]
		}
	}
	return "part-" + p.Path + ext
}

// createUnique creates name in root without ever replacing or following
// anything already there: O_EXCL refuses an existing name, symbolic link
// included, and os.Root refuses paths that leave the directory. Taken
// names get a numeric suffix before the extension (name-1.ext, ...).
func createUnique(root *os.Root, name string) (*os.File, string, error) {
	ext := filepath.Ext(name)
	stem := strings.TrimSuffix(name, ext)
	if stem == "" {
		stem, ext = name, ""
	}
	for i := 0; i < 10000; i++ {
		try := name
		if i > 0 {
			try = fmt.Sprintf("%s-%d%s", stem, i, ext)
		}
		f, err := root.OpenFile(try, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil {
			return f, try, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, "", exitcode.New(exitcode.CantCreat, err)
		}
	}
	return nil, "", exitcode.Errorf(exitcode.CantCreat, "%s: too many files of that name", name)
}

// Extract writes every leaf part of the message into dir, which it
// creates if needed, and prints "PATH<TAB>SIZE<TAB>FILE" for each file.
func (a *App) Extract(r io.Reader, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return exitcode.New(exitcode.CantCreat, err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return exitcode.New(exitcode.CantCreat, err)
	}
	defer root.Close()
	return Walk(r, a.Limits, func(p *Part) error {
		if p.Container {
			return nil
		}
		name := SanitizeFilename(p.Filename)
		if name == "" {
			name = defaultName(p)
		}
		f, got, err := createUnique(root, name)
		if err != nil {
			return err
		}
		n, err := io.Copy(f, p.Decoded())
		if cerr := f.Close(); err == nil && cerr != nil {
			err = exitcode.New(exitcode.IOErr, cerr)
		}
		full := filepath.Join(dir, got)
		if err != nil {
			// What was decoded stays on disk; say so, and fail.
			return fmt.Errorf("%w (incomplete %s kept)", err, full)
		}
		_, err = fmt.Fprintf(a.Stdout, "%s\t%d\t%s\n", p.Path, n, full)
		return err
	})
}

// WritePart writes the part at path to standard output: decoded for a
// leaf, as it is for a container (a whole message for message/rfc822).
func (a *App) WritePart(r io.Reader, path string) error {
	found := false
	err := Walk(r, a.Limits, func(p *Part) error {
		if p.Path != path {
			return nil
		}
		found = true
		src := p.Decoded()
		if p.Container {
			src = p.Raw()
		}
		if _, err := io.Copy(a.Stdout, src); err != nil {
			return err
		}
		return errStop
	})
	if err == nil && !found {
		return exitcode.Errorf(exitcode.DataErr, "no part %s in the message", path)
	}
	return err
}
