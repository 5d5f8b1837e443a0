package queue

import (
	"context"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// Wait blocks until an entry may have arrived in the queue, ctx ends, or
// max passes, whichever is first. It watches env/ with inotify, so mail
// queued by smtpd is picked up within moments by a runner in the
// foreground ("sendmail -q30m"); where inotify is unavailable (NFS, or
// the watch limit is reached) it simply sleeps until max, and the caller
// polls.
func (q *Queue) Wait(ctx context.Context, max time.Duration) {
	timer := time.NewTimer(max)
	defer timer.Stop()
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		q.sleep(ctx, timer)
		return
	}
	defer unix.Close(fd)
	if _, err := unix.InotifyAddWatch(fd, filepath.Join(q.dir, "env"), unix.IN_MOVED_TO|unix.IN_CREATE); err != nil {
		q.sleep(ctx, timer)
		return
	}
	// Poll the inotify descriptor in short slices so ctx and max are
	// honoured without a second goroutine.
	buf := make([]byte, 4096)
	for {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, _ := unix.Poll(fds, 200)
		if n > 0 {
			unix.Read(fd, buf)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
			return
		default:
		}
	}
}

func (q *Queue) sleep(ctx context.Context, timer *time.Timer) {
	select {
	case <-ctx.Done():
	case <-timer.C:
	}
}
