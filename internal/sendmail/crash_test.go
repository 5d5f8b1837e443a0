package sendmail_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"mailtk/internal/testutil"
)

// The queue runner is killed with SIGKILL at random moments while it
// delivers to a slow sink, again and again: every message still reaches
// the sink at least once (SMTP is at-least-once), and the queue ends
// empty and intact.
func TestRunnerKilledAtRandom(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	const n = 20
	q := filepath.Join(t.TempDir(), "q")
	for i := 0; i < n; i++ {
		msg := fmt.Sprintf("Subject: msg-%03d\n\nbody %d\n", i, i)
		if r := sendmail(t, msg, "-C", "/dev/null", "--queue", q, "-f", "a@example.org", "b@example.net"); r.code != 0 {
			t.Fatalf("%+v", r)
		}
	}
	addr, dump := testutil.StartSMTPSink(t, "-w", "1")
	bin := testutil.Binary(t, "sendmail")
	kills := 0
	for round := 0; round < 60; round++ {
		if len(queued(t, q)) == 0 {
			break
		}
		cmd := exec.Command(bin, "-C", "/dev/null", "--queue", q, "-q", "--relay", addr, "--relay-insecure")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rand.IntN(1500)) * time.Millisecond)
		cmd.Process.Kill()
		cmd.Wait()
		kills++
	}
	// A last, uninterrupted run delivers whatever is left.
	cmd := exec.Command(bin, "-C", "/dev/null", "--queue", q, "-q", "--relay", addr, "--relay-insecure")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("final run: %v\n%s", err, out)
	}
	if list := queued(t, q); len(list) != 0 {
		t.Fatalf("queue not empty after %d kills: %+v", kills, list)
	}
	for _, sub := range []string{"env", "msg"} {
		if es, _ := os.ReadDir(filepath.Join(q, sub)); len(es) != 0 {
			t.Errorf("%s/ holds %d files", sub, len(es))
		}
	}
	// Every message was accepted before the last run exited, but the sink
	// may still be writing its files: wait for all n subjects, bounded.
	var files []string
	var seen map[string]int
	re := regexp.MustCompile(`Subject: (msg-\d+)`)
	for deadline := time.Now().Add(10 * time.Second); ; {
		files = testutil.WaitFiles(t, dump, n, 10*time.Second)
		seen = map[string]int{}
		for _, f := range files {
			b, _ := os.ReadFile(f)
			if m := re.FindSubmatch(b); m != nil {
				seen[string(m[1])]++
			}
		}
		if len(seen) == n || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for i := 0; i < n; i++ {
		if s := fmt.Sprintf("msg-%03d", i); seen[s] == 0 {
			t.Errorf("%s never reached the sink", s)
		}
	}
	dups := 0
	for _, c := range seen {
		dups += c - 1
	}
	t.Logf("%d kills, %d messages delivered, %d duplicates (allowed: at least once)", kills, len(files), dups)
}
