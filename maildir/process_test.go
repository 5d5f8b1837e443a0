package maildir

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The crash and concurrency tests run this test binary again as child
// processes; the environment tells the child what to do.
const (
	helperEnv = "MAILDIR_TEST_HELPER"
	pathEnv   = "MAILDIR_TEST_PATH"
)

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "":
		code := m.Run()
		if bigDir != "" { // the benchmarks' shared fixture
			os.RemoveAll(filepath.Dir(bigDir))
		}
		os.Exit(code)
	case "deliver":
		os.Exit(helperDeliver(os.Getenv(pathEnv)))
	case "mix":
		os.Exit(helperMix(os.Getenv(pathEnv)))
	default:
		fmt.Fprintln(os.Stderr, "unknown helper", os.Getenv(helperEnv))
		os.Exit(2)
	}
}

// testMessage is a message that can tell whether it is complete: it
// states its id and body length, and ends with a marker.
func testMessage(id string, n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "X-Id: %s\r\nX-Len: %d\r\n\r\n", id, n)
	line := strings.Repeat("0123456789abcdef", 4) + "\r\n" // 66 bytes
	for b.Len() < n {
		b.WriteString(line)
	}
	fmt.Fprintf(&b, "END %s\r\n", id)
	return b.String()
}

// checkMessage verifies a stored message (LF line ends) and returns its id.
func checkMessage(content string) (string, error) {
	head, body, ok := strings.Cut(content, "\n\n")
	if !ok {
		return "", errors.New("no header end")
	}
	var id string
	var n int
	if _, err := fmt.Sscanf(head, "X-Id: %s\nX-Len: %d", &id, &n); err != nil {
		return "", fmt.Errorf("header %q: %v", head, err)
	}
	want := testMessage(id, n)
	want = strings.ReplaceAll(want, "\r\n", "\n")
	if content != want {
		return id, fmt.Errorf("message %s is %d bytes, want %d (truncated or damaged)", id, len(content), len(want))
	}
	_ = body
	return id, nil
}

func helperCmd(t *testing.T, mode, path string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, pathEnv+"="+path)
	cmd.Stderr = os.Stderr
	return cmd
}

// helperDeliver delivers messages until killed, printing each key once
// Deliver has returned (the message is then durable).
func helperDeliver(path string) int {
	d, err := Open(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	out := bufio.NewWriter(os.Stdout)
	for i := 0; ; i++ {
		id := strconv.Itoa(os.Getpid()) + "-" + strconv.Itoa(i)
		m, err := d.Deliver(strings.NewReader(testMessage(id, 100+(i*7919)%40000)))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		// One write per line: the pipe keeps it whole (< PIPE_BUF).
		out.WriteString(m.Key + "\n")
		out.Flush()
	}
}

// TestCrashDelivery kills a delivering process at random moments, hundreds
// of times: every delivery the child reported done is complete in new/,
// and nothing partial is ever in new/.
func TestCrashDelivery(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	d := newDir(t)
	const maxRuns = 400
	budget := 20 * time.Second // bounds the test's duration; not a pass criterion
	start := time.Now()
	reported := map[string]bool{}
	runs := 0
	for runs < maxRuns && time.Since(start) < budget {
		cmd := helperCmd(t, "deliver", d.Path())
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan []string)
		go func() {
			var keys []string
			br := bufio.NewReader(stdout)
			for {
				line, err := br.ReadString('\n')
				if err != nil {
					break // a line cut short by the kill was not reported
				}
				keys = append(keys, strings.TrimSuffix(line, "\n"))
			}
			done <- keys
		}()
		time.Sleep(time.Duration(rand.IntN(25000)) * time.Microsecond)
		cmd.Process.Signal(syscall.SIGKILL)
		for _, k := range <-done {
			reported[k] = true
		}
		cmd.Wait()
		runs++
	}
	msgs, err := d.Scan()
	if err != nil {
		t.Fatal(err)
	}
	onDisk := map[string]bool{}
	for _, m := range msgs {
		if m.Subdir != SubNew {
			t.Errorf("%s in %s/", m.Name, m.Subdir)
		}
		onDisk[m.Key] = true
		b, err := os.ReadFile(d.MessagePath(m))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := checkMessage(string(b)); err != nil {
			t.Errorf("partial message in new/: %s: %v", m.Name, err)
		}
		if int64(len(b)) != m.Size {
			t.Errorf("%s: S=%d but %d bytes", m.Name, m.Size, len(b))
		}
	}
	for k := range reported {
		if !onDisk[k] {
			t.Errorf("reported delivery %s is not in new/", k)
		}
	}
	tmp := listDir(t, filepath.Join(d.Path(), SubTmp))
	t.Logf("%d kills, %d deliveries reported, %d messages in new/, %d leftovers in tmp/", runs, len(reported), len(msgs), len(tmp))
	if runs < 100 {
		t.Errorf("only %d kills", runs)
	}
	// The leftovers are what CleanTmp is for.
	if len(tmp) > 0 {
		later := time.Now().Add(DefaultTmpAge + time.Hour)
		d2, _ := OpenWith(d.Path(), Options{Now: func() time.Time { return later }})
		if n, err := d2.CleanTmp(0); err != nil || n != len(tmp) {
			t.Errorf("CleanTmp removed %d of %d: %v", n, len(tmp), err)
		}
	}
}

// helperMix delivers, re-flags, reads, removes and syncs UIDs at random in
// a shared Maildir, logging "D key" for a delivery and "R key" for a
// successful removal. Any error other than ErrGone is printed as "E ...".
func helperMix(path string) int {
	d, err := Open(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	fail := func(what string, err error) {
		fmt.Fprintf(out, "E %s: %v\n", what, err)
	}
	flagSets := []string{"", "S", "RS", "F", "DFS", "Sa", "T"}
	for i := range 300 {
		r := rand.IntN(100)
		if r < 25 || i < 10 {
			id := strconv.Itoa(os.Getpid()) + "-" + strconv.Itoa(i)
			m, err := d.Deliver(strings.NewReader(testMessage(id, 50+rand.IntN(3000))))
			if err != nil {
				fail("deliver", err)
				continue
			}
			fmt.Fprintf(out, "D %s\n", m.Key)
			continue
		}
		msgs, err := d.Scan()
		if err != nil {
			fail("scan", err)
			continue
		}
		if len(msgs) == 0 {
			continue
		}
		m := msgs[rand.IntN(len(msgs))]
		switch {
		case r < 50:
			_, err = d.SetFlags(m, flagSets[rand.IntN(len(flagSets))])
		case r < 65:
			_, err = d.AddFlags(m, "S", "T")
		case r < 75:
			err = d.Remove(m)
			if err == nil {
				fmt.Fprintf(out, "R %s\n", m.Key)
			}
		case r < 95:
			var f *os.File
			if f, err = d.Open(m); err == nil {
				b, rerr := io.ReadAll(f)
				f.Close()
				if rerr != nil {
					err = rerr
				} else if _, cerr := checkMessage(string(b)); cerr != nil {
					fail("content", cerr)
				}
			}
		default:
			_, err = d.SyncUIDs(msgs)
		}
		if err != nil && !errors.Is(err, ErrGone) {
			fail("op", err)
		}
	}
	return 0
}

// TestConcurrentProcesses runs several processes that deliver, change
// flags, read and delete in one Maildir at once: nothing is lost, nothing
// duplicated, and the only errors are ErrGone.
func TestConcurrentProcesses(t *testing.T) {
	d := newDir(t)
	const procs = 4
	type result struct {
		lines []string
		err   error
	}
	results := make(chan result, procs)
	for range procs {
		cmd := helperCmd(t, "mix", d.Path())
		go func() {
			out, err := cmd.Output()
			results <- result{strings.Split(strings.TrimSpace(string(out)), "\n"), err}
		}()
	}
	delivered := map[string]bool{}
	removed := map[string]bool{}
	for range procs {
		r := <-results
		if r.err != nil {
			t.Fatalf("helper: %v", r.err)
		}
		for _, line := range r.lines {
			kind, key, _ := strings.Cut(line, " ")
			switch kind {
			case "D":
				if delivered[key] {
					t.Errorf("key %s delivered twice", key)
				}
				delivered[key] = true
			case "R":
				if removed[key] {
					t.Errorf("key %s removed twice", key)
				}
				removed[key] = true
			case "E":
				t.Errorf("helper error: %s", key)
			}
		}
	}
	msgs, err := d.Scan()
	if err != nil {
		t.Fatal(err)
	}
	// Scan dedupes; look at the directories themselves for duplicates.
	seen := map[string]bool{}
	for _, sub := range []string{SubNew, SubCur} {
		for _, n := range listDir(t, filepath.Join(d.Path(), sub)) {
			pn, ok := ParseName(n)
			if !ok {
				t.Errorf("stray %s/%s", sub, n)
				continue
			}
			if seen[pn.Key] {
				t.Errorf("key %s is on disk twice", pn.Key)
			}
			seen[pn.Key] = true
		}
	}
	for k := range delivered {
		if !removed[k] && !seen[k] {
			t.Errorf("message %s lost", k)
		}
		if removed[k] && seen[k] {
			t.Errorf("removed message %s still there", k)
		}
	}
	for k := range seen {
		if !delivered[k] {
			t.Errorf("message %s appeared from nowhere", k)
		}
	}
	for _, m := range msgs {
		b, err := os.ReadFile(d.MessagePath(m))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := checkMessage(string(b)); err != nil {
			t.Error(err)
		}
	}
	if names := listDir(t, filepath.Join(d.Path(), SubTmp)); len(names) != 0 {
		t.Errorf("tmp/ has %d files", len(names))
	}
	// The UID list is consistent after all that.
	u, err := d.SyncUIDs(msgs)
	if err != nil {
		t.Fatal(err)
	}
	uids := map[uint32]bool{}
	for _, m := range msgs {
		uid, ok := u.UID(m.Key)
		if !ok || uids[uid] {
			t.Errorf("%s: UID %d ok %v", m.Key, uid, ok)
		}
		uids[uid] = true
	}
	t.Logf("%d delivered, %d removed, %d left", len(delivered), len(removed), len(msgs))
}
