package imapd

import (
	"path/filepath"
	"sync"

	"github.com/fsnotify/fsnotify"
)

// Notifier wakes IDLE sessions when files appear in or leave a Maildir
// folder's new/ and cur/. One Notifier holds one inotify instance for the
// whole process, whatever the number of sessions: the kernel allows few
// per user (fs.inotify.max_user_instances, 128 by default), and a server
// with --listen would otherwise use one per IDLE. Directories are watched
// while at least one session needs them.
type Notifier struct {
	mu   sync.Mutex
	w    *fsnotify.Watcher
	err  error                      // why w could not be made
	dirs map[string]map[*watch]bool // watched directory → its watches
}

// watch is one session's interest in some directories.
type watch struct {
	dirs []string
	// wake gets a value when something changed in one of dirs.
	wake chan struct{}
	// lost gets a value when events may have been missed (queue
	// overflow, watcher failure): the session must not rely on wake.
	lost chan struct{}
}

// NewNotifier returns a Notifier; its inotify instance is made on first
// use.
func NewNotifier() *Notifier {
	return &Notifier{dirs: make(map[string]map[*watch]bool)}
}

// Close stops the Notifier. Watches still open see lost.
func (n *Notifier) Close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.w == nil {
		return nil
	}
	err := n.w.Close()
	n.w = nil
	n.err = fsnotify.ErrClosed
	return err
}

// watch starts watching dirs. It fails when inotify is not available or a
// directory cannot be watched (e.g. NFS); the caller then polls.
func (n *Notifier) watch(dirs ...string) (*watch, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.w == nil && n.err == nil {
		w, err := fsnotify.NewWatcher()
		if err != nil {
			n.err = err
		} else {
			n.w = w
			go n.run(w)
		}
	}
	if n.err != nil {
		return nil, n.err
	}
	wt := &watch{wake: make(chan struct{}, 1), lost: make(chan struct{}, 1)}
	for _, d := range dirs {
		d = filepath.Clean(d)
		if n.dirs[d] == nil {
			if err := n.w.Add(d); err != nil {
				n.releaseLocked(wt)
				return nil, err
			}
			n.dirs[d] = make(map[*watch]bool)
		}
		n.dirs[d][wt] = true
		wt.dirs = append(wt.dirs, d)
	}
	return wt, nil
}

// release ends wt.
func (n *Notifier) release(wt *watch) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.releaseLocked(wt)
}

func (n *Notifier) releaseLocked(wt *watch) {
	for _, d := range wt.dirs {
		delete(n.dirs[d], wt)
		if len(n.dirs[d]) == 0 {
			delete(n.dirs, d)
			if n.w != nil {
				n.w.Remove(d)
			}
		}
	}
	wt.dirs = nil
}

// run delivers the watcher's events and errors until it is closed.
func (n *Notifier) run(w *fsnotify.Watcher) {
	for {
		select {
		case ev, ok := <-w.Events:
			if !ok {
				n.lose()
				return
			}
			n.mu.Lock()
			for wt := range n.dirs[filepath.Dir(ev.Name)] {
				signal(wt.wake)
			}
			n.mu.Unlock()
		case _, ok := <-w.Errors:
			// Overflow (fsnotify.ErrEventOverflow) or a read error:
			// events were dropped, so every session rescans and keeps
			// polling often.
			n.lose()
			if !ok {
				return
			}
		}
	}
}

// lose tells every watch that events may have been missed.
func (n *Notifier) lose() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, ws := range n.dirs {
		for wt := range ws {
			signal(wt.lost)
		}
	}
}

// signal sends on a channel with room for one value, unless it is full.
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}
