package imapd

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestConcurrentSubscribe runs SUBSCRIBE from several imapd processes on
// one Maildir at once (one process per connection, as under inetd): the
// subscriptions file is rewritten under a lock, so no update is lost.
func TestConcurrentSubscribe(t *testing.T) {
	u := newUserEnv(t)
	const procs, each = 4, 8
	for p := 0; p < procs; p++ {
		for i := 0; i < each; i++ {
			if err := os.MkdirAll(filepath.Join(u.maildir, fmt.Sprintf(".f%d-%d", p, i), "cur"), 0o700); err != nil {
				t.Fatal(err)
			}
			for _, sub := range []string{"new", "tmp"} {
				os.MkdirAll(filepath.Join(u.maildir, fmt.Sprintf(".f%d-%d", p, i), sub), 0o700)
			}
		}
	}
	u.chown(t)
	clients := make([]*client, procs)
	for p := range clients {
		clients[p] = binClient(t, u)
	}
	var wg sync.WaitGroup
	errs := make(chan string, procs*each)
	for p, c := range clients {
		wg.Add(1)
		go func(p int, c *client) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				if _, st := c.cmd("SUBSCRIBE f%d-%d", p, i); !strings.HasPrefix(st, "OK") {
					errs <- fmt.Sprintf("SUBSCRIBE f%d-%d: %s", p, i, st)
				}
			}
		}(p, c)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	lines := clients[0].ok(`LSUB "" "*"`)
	got := joined(lines)
	for p := 0; p < procs; p++ {
		for i := 0; i < each; i++ {
			if name := fmt.Sprintf("f%d-%d", p, i); !strings.Contains(got+"\n", " "+name+"\n") && !strings.Contains(got, `"`+name+`"`) {
				t.Errorf("%s lost from the subscriptions; LSUB:\n%s", name, got)
			}
		}
	}
	if n := strings.Count(readFile(t, filepath.Join(u.maildir, subscriptionsFile)), "\n"); n != procs*each {
		t.Errorf("subscriptions file has %d lines, want %d", n, procs*each)
	}
	leftovers, _ := filepath.Glob(filepath.Join(u.maildir, ".subscriptions.tmp*"))
	if len(leftovers) > 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}
