package maildir

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

var errNotEmpty = syscall.ENOTEMPTY

// CleanTmp removes regular files in tmp/ whose modification time is older
// than olderThan (DefaultTmpAge, 36 hours, when olderThan is 0): the
// leftovers of deliveries that crashed. The Maildir spec says a delivery
// never takes that long. It returns how many files it removed.
func (d *Dir) CleanTmp(olderThan time.Duration) (removed int, err error) {
	if olderThan <= 0 {
		olderThan = DefaultTmpAge
	}
	tmp := filepath.Join(d.path, SubTmp)
	names, err := readNames(tmp)
	if err != nil {
		return 0, err
	}
	cutoff := d.opts.Now().Add(-olderThan)
	var errs []error
	for _, n := range names {
		p := filepath.Join(tmp, n)
		fi, err := os.Lstat(p)
		if err != nil {
			continue // gone meanwhile
		}
		if !fi.Mode().IsRegular() || !fi.ModTime().Before(cutoff) {
			continue
		}
		if err := os.Remove(p); err == nil {
			removed++
		} else if !isNotExist(err) {
			errs = append(errs, err)
		}
	}
	return removed, errors.Join(errs...)
}

// Problem kinds reported by Check.
const (
	// ProblemSize: the S= or W= in the name disagrees with the file.
	ProblemSize = "size"
	// ProblemDuplicate: two files carry the same key.
	ProblemDuplicate = "duplicate"
	// ProblemStray: a file in new/ or cur/ that is not a message (bad
	// name, not a regular file).
	ProblemStray = "stray"
	// ProblemOldTmp: a file in tmp/ older than DefaultTmpAge.
	ProblemOldTmp = "old-tmp"
)

// Problem is one thing Check found.
type Problem struct {
	Kind   string // one of the Problem* constants
	Path   string
	Detail string
}

// Check reads the whole Maildir and reports what readers would stumble
// over: names whose S= or W= sizes are wrong (Dovecot's
// maildir_broken_filename_sizes case), keys that appear twice, stray files
// in new/ and cur/, and tmp/ files older than DefaultTmpAge. It reads every
// message, so it is slow on big Maildirs; it changes nothing.
func (d *Dir) Check() ([]Problem, error) {
	var probs []Problem
	seen := map[string]string{}
	for _, sub := range []string{SubNew, SubCur} {
		dir := filepath.Join(d.path, sub)
		names, err := readNames(dir)
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			p := filepath.Join(dir, n)
			if len(n) > 0 && n[0] == '.' {
				continue
			}
			pn, ok := ParseName(n)
			fi, err := os.Lstat(p)
			if err != nil {
				continue // gone meanwhile
			}
			if !ok || !fi.Mode().IsRegular() {
				probs = append(probs, Problem{ProblemStray, p, "not a message file"})
				continue
			}
			if other, dup := seen[pn.Key]; dup {
				probs = append(probs, Problem{ProblemDuplicate, p, "same key as " + other})
			} else {
				seen[pn.Key] = p
			}
			if pn.Size >= 0 || pn.CRLFSize >= 0 {
				if detail := checkSizes(p, fi.Size(), pn); detail != "" {
					probs = append(probs, Problem{ProblemSize, p, detail})
				}
			}
		}
	}
	tmp := filepath.Join(d.path, SubTmp)
	names, err := readNames(tmp)
	if err != nil {
		return nil, err
	}
	cutoff := d.opts.Now().Add(-DefaultTmpAge)
	for _, n := range names {
		p := filepath.Join(tmp, n)
		if fi, err := os.Lstat(p); err == nil && fi.Mode().IsRegular() && fi.ModTime().Before(cutoff) {
			probs = append(probs, Problem{ProblemOldTmp, p, "left by a crashed delivery"})
		}
	}
	return probs, nil
}

// checkSizes compares the name's sizes with the file; "" when they agree.
func checkSizes(path string, size int64, n Name) string {
	if n.Size >= 0 && n.Size != size {
		return "S=" + strconv.FormatInt(n.Size, 10) + " but the file has " + strconv.FormatInt(size, 10) + " bytes"
	}
	if n.CRLFSize < 0 {
		return ""
	}
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	lines, err := countBareLF(f)
	if err != nil {
		return ""
	}
	if w := size + lines; w != n.CRLFSize {
		return "W=" + strconv.FormatInt(n.CRLFSize, 10) + " but the message has " + strconv.FormatInt(w, 10) + " bytes with CRLF line ends"
	}
	return ""
}

// countBareLF counts the LFs not already preceded by a CR: each adds one
// byte when the message is written with CRLF line ends.
func countBareLF(r io.Reader) (int64, error) {
	buf := make([]byte, 64<<10)
	var n int64
	prev := byte(0)
	for {
		k, err := r.Read(buf)
		for _, c := range buf[:k] {
			if c == '\n' && prev != '\r' {
				n++
			}
			prev = c
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}
