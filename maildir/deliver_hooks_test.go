package maildir

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDeliverManyWithoutHardLinks: on a file system where link(2) fails
// with EPERM or EOPNOTSUPP, DeliverMany copies the message into every
// Maildir instead of failing after the first one.
func TestDeliverManyWithoutHardLinks(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.EPERM, syscall.EOPNOTSUPP} {
		t.Run(errno.Error(), func(t *testing.T) {
			a, b, c := newDir(t), newDir(t), newDir(t)
			noLinks := func(oldname, newname string) error {
				return &os.LinkError{Op: "link", Old: oldname, New: newname, Err: errno}
			}
			msgs, err := DeliverManyWith(strings.NewReader("To: all\r\n\r\nhi\r\n"), []*Dir{a, b, c}, DeliverOptions{link: noLinks})
			if err != nil {
				t.Fatal(err)
			}
			for i, d := range []*Dir{a, b, c} {
				if got := readMsg(t, d, msgs[i]); got != "To: all\n\nhi\n" {
					t.Errorf("dir %d: %q", i, got)
				}
				if tmp := listDir(t, filepath.Join(d.Path(), "tmp")); len(tmp) != 0 {
					t.Errorf("dir %d tmp/: %v", i, tmp)
				}
			}
		})
	}
}

// TestDeliverManyOtherLinkErrorRollsBack: a link error a copy cannot
// avoid still fails the whole delivery.
func TestDeliverManyOtherLinkErrorRollsBack(t *testing.T) {
	a, b := newDir(t), newDir(t)
	n := 0
	failSecond := func(oldname, newname string) error {
		if n++; n == 2 {
			return &os.LinkError{Op: "link", Old: oldname, New: newname, Err: syscall.EIO}
		}
		return os.Link(oldname, newname)
	}
	if _, err := DeliverManyWith(strings.NewReader("x"), []*Dir{a, b}, DeliverOptions{link: failSecond}); err == nil {
		t.Fatal("delivery succeeded")
	}
	for i, d := range []*Dir{a, b} {
		if msgs, _ := d.Scan(); len(msgs) != 0 {
			t.Errorf("dir %d: %d messages after a failed delivery", i, len(msgs))
		}
	}
}

// TestDeliverOldTimeSurvivesCleanTmp: a message delivered with a past
// Time (IMAP APPEND with a date) does not carry that time while in tmp/,
// so a CleanTmp running meanwhile (pop3d at login) leaves it alone; the
// stored message has the time.
func TestDeliverOldTimeSurvivesCleanTmp(t *testing.T) {
	when := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	check := func(t *testing.T, d *Dir, m Message) {
		t.Helper()
		fi, err := os.Stat(d.MessagePath(m))
		if err != nil {
			t.Fatal(err)
		}
		if !fi.ModTime().Equal(when) {
			t.Errorf("mtime %v, want %v", fi.ModTime(), when)
		}
	}
	clean := func(t *testing.T, d *Dir) func(string) {
		return func(tmp string) {
			if n, err := d.CleanTmp(0); n != 0 || err != nil {
				t.Errorf("CleanTmp during delivery removed %d files (%v)", n, err)
			}
		}
	}
	t.Run("Deliver", func(t *testing.T) {
		d := newDir(t)
		m, err := d.DeliverWith(strings.NewReader("x"), DeliverOptions{Time: when, Cur: true, Flags: "S", beforePublish: clean(t, d)})
		if err != nil {
			t.Fatal(err)
		}
		check(t, d, m)
	})
	t.Run("DeliverMany", func(t *testing.T) {
		a, b := newDir(t), newDir(t)
		msgs, err := DeliverManyWith(strings.NewReader("x"), []*Dir{a, b}, DeliverOptions{Time: when, beforePublish: clean(t, a)})
		if err != nil {
			t.Fatal(err)
		}
		check(t, a, msgs[0])
		check(t, b, msgs[1])
	})
	t.Run("DeliverManyCopies", func(t *testing.T) {
		a, b := newDir(t), newDir(t)
		noLinks := func(oldname, newname string) error {
			return &os.LinkError{Op: "link", Old: oldname, New: newname, Err: syscall.EXDEV}
		}
		msgs, err := DeliverManyWith(strings.NewReader("x"), []*Dir{a, b}, DeliverOptions{Time: when, link: noLinks, beforePublish: clean(t, a)})
		if err != nil {
			t.Fatal(err)
		}
		check(t, a, msgs[0])
		check(t, b, msgs[1])
	})
}
