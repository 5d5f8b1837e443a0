// Package maildir is the on-disk store every program of the toolkit
// shares: Maildir (cr.yp.to/proto/maildir.html) with Courier's Maildir++
// folders and Dovecot's extensions, so that Dovecot, mblaze, mutt and this
// toolkit can all use the same mailbox, in turn or at once.
//
// What it does, and the contract each part keeps:
//
//   - Deliver writes a message durably (tmp/ with O_EXCL, fsync, rename into
//     new/, fsync new/) under a unique name that carries Dovecot's ,S= and
//     ,W= sizes, so readers never stat or read a file to learn its size.
//     Messages are stored with LF line ends.
//   - Scan lists new/ and cur/ with one readdir each and no stat, in
//     delivery order.
//   - SetFlags, AddFlags and Remove change a message by rename or unlink
//     and follow it by its key when another process moved it; a deleted
//     message gives ErrGone, never a crash.
//   - Folders, Folder, CreateFolder, DeleteFolder and RenameFolder manage
//     Maildir++ folders; ValidateFolder is the only way from a name to a
//     path.
//   - UIDs and SyncUIDs keep IMAP UIDs in Dovecot's dovecot-uidlist (v3),
//     under Dovecot's dovecot-uidlist.lock; Keywords and KeywordLetters map
//     keyword flag letters a–z through dovecot-keywords.
//   - CleanTmp and Check are the postmaster's maintenance.
//
// The package touches only the directory it is given, reads nothing global
// but what Options provides, and never refuses to run as root: refusing
// uid 0 is the job of the programs that use it. docs/maildir.md describes
// the on-disk format, the lock and NFS.
package maildir
