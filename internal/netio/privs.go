package netio

import (
	"fmt"
	"os"
	"syscall"
)

// DropPrivileges makes the process run as uid and gid for good: it sets
// the supplementary groups to gid alone, then the gid, then the uid (in
// that order: after setuid we could no longer change groups). It is for a
// server started as root that must switch to the owner of the users
// file's Maildir before touching it (qmail's rule: never touch a mailbox
// as root). uid 0 and gid 0 are refused. When the process already runs as
// uid/gid and is not root, it does nothing; when it runs as another
// unprivileged user it fails, since it cannot switch.
//
// Since Go 1.16 these calls apply to every thread of the process on Linux.
// It checks afterwards that root cannot be regained.
func DropPrivileges(uid, gid int) error {
	if uid <= 0 || gid <= 0 {
		return fmt.Errorf("refusing to run as uid %d gid %d: mail is never handled as root", uid, gid)
	}
	if os.Geteuid() != 0 {
		if os.Getuid() == uid && os.Geteuid() == uid && os.Getgid() == gid && os.Getegid() == gid {
			return nil
		}
		return fmt.Errorf("cannot switch to uid %d gid %d: running as uid %d, not root", uid, gid, os.Geteuid())
	}
	if err := syscall.Setgroups([]int{gid}); err != nil {
		return fmt.Errorf("setgroups(%d): %w", gid, err)
	}
	if err := syscall.Setgid(gid); err != nil {
		return fmt.Errorf("setgid(%d): %w", gid, err)
	}
	if err := syscall.Setuid(uid); err != nil {
		return fmt.Errorf("setuid(%d): %w", uid, err)
	}
	if os.Geteuid() != uid || os.Getuid() != uid || os.Getegid() != gid {
		return fmt.Errorf("still running as uid %d/%d gid %d after switching to %d/%d", os.Getuid(), os.Geteuid(), os.Getegid(), uid, gid)
	}
	if err := syscall.Setuid(0); err == nil {
		return fmt.Errorf("could switch back to root after dropping to uid %d", uid)
	}
	return nil
}
