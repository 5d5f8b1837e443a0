// Package exitcode holds the sysexits(3) numbers every program of the
// toolkit exits with, and the one function that turns an error into one.
//
// Exit codes are part of each program's interface: sendmail's callers
// (cron, mutt, PHP) and the queue runner retry on 75 and give up on the
// others, exactly as qmail-command(8) and chasquid's mda-lmtp expect.
package exitcode

import (
	"errors"
	"fmt"
)

// The sysexits(3) values used by the toolkit.
const (
	OK          = 0  // success
	Usage       = 64 // EX_USAGE: bad command line
	DataErr     = 65 // EX_DATAERR: malformed input data
	NoInput     = 66 // EX_NOINPUT: an input file does not exist or is unreadable
	NoUser      = 67 // EX_NOUSER: addressee unknown
	NoHost      = 68 // EX_NOHOST: host name unknown
	Unavailable = 69 // EX_UNAVAILABLE: service unavailable (e.g. no mail service for a domain)
	Software    = 70 // EX_SOFTWARE: internal error
	OSErr       = 71 // EX_OSERR: system error (fork, pipe, ...)
	CantCreat   = 73 // EX_CANTCREAT: cannot create an output file
	IOErr       = 74 // EX_IOERR: input/output error
	TempFail    = 75 // EX_TEMPFAIL: temporary failure, the caller should retry
	NoPerm      = 77 // EX_NOPERM: permission denied
	Config      = 78 // EX_CONFIG: configuration error
)

// Error is an error that carries the exit status a program should end with.
type Error struct {
	Code int
	Err  error
}

func (e *Error) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// New wraps err so that Of reports code for it. A nil err stays nil.
func New(code int, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Code: code, Err: err}
}

// Errorf formats an error that exits with code.
func Errorf(code int, format string, args ...any) error {
	return &Error{Code: code, Err: fmt.Errorf(format, args...)}
}

// Of returns the exit status for err: 0 for nil, the code of the outermost
// *Error in the chain, else Software (an error nobody classified is a bug
// in the program, not in its input).
func Of(err error) int {
	if err == nil {
		return OK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Software
}
