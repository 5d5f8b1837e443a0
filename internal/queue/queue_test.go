package queue

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func testQueue(t *testing.T) *Queue {
	t.Helper()
	q, err := Open(filepath.Join(t.TempDir(), "queue"), Options{Hostname: "mx/evil:host"})
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func TestEnqueueListLock(t *testing.T) {
	q := testQueue(t)
	env := Envelope{From: "a@example.org", Recipients: []Recipient{{Addr: "b@example.net"}, {Addr: "c@example.net", Notify: "NEVER"}}, RET: "HDRS"}
	id, err := q.Enqueue(env, strings.NewReader("Subject: x\n\nhello\n"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(id, "/:") {
		t.Errorf("id %q holds a path or colon character", id)
	}
	list, err := q.List()
	if err != nil || len(list) != 1 {
		t.Fatalf("List = %v, %v", list, err)
	}
	got := list[0]
	if got.ID != id || got.From != "a@example.org" || got.Size != 18 || len(got.Pending()) != 2 || got.RET != "HDRS" {
		t.Errorf("listed %+v", got)
	}
	if tmp, _ := os.ReadDir(filepath.Join(q.Dir(), "tmp")); len(tmp) != 0 {
		t.Errorf("tmp/ not empty after Enqueue: %v", tmp)
	}

	e, err := q.Lock(id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.Lock(id); !errors.Is(err, ErrLocked) {
		t.Errorf("second Lock: %v, want ErrLocked", err)
	}
	r, _ := e.Message()
	body, _ := io.ReadAll(r)
	if string(body) != "Subject: x\n\nhello\n" {
		t.Errorf("message %q", body)
	}
	e.Env.Recipients[0].State = Delivered
	e.Env.Recipients[1].Attempts = 1
	e.Env.Recipients[1].LastError = "451 4.3.0 try later"
	if err := e.Save(); err != nil {
		t.Fatal(err)
	}
	e.Close()

	e, err = q.Lock(id)
	if err != nil {
		t.Fatal(err)
	}
	if p := e.Env.Pending(); len(p) != 1 || p[0].LastError != "451 4.3.0 try later" {
		t.Errorf("state not saved: %+v", e.Env)
	}
	if err := e.Remove(); err != nil {
		t.Fatal(err)
	}
	e.Close()
	if _, err := q.Lock(id); !errors.Is(err, ErrGone) {
		t.Errorf("Lock after Remove: %v", err)
	}
	if list, _ := q.List(); len(list) != 0 {
		t.Errorf("List after Remove: %v", list)
	}
}

func TestEnqueueFailureLeavesNothing(t *testing.T) {
	q := testQueue(t)
	_, err := q.Enqueue(Envelope{From: "a@b", Recipients: []Recipient{{Addr: "c@d"}}}, io.MultiReader(strings.NewReader("part"), errReader{}))
	if err == nil {
		t.Fatal("want error")
	}
	for _, sub := range []string{"tmp", "msg", "env"} {
		if ents, _ := os.ReadDir(filepath.Join(q.Dir(), sub)); len(ents) != 0 {
			t.Errorf("%s/ holds %v after a failed Enqueue", sub, ents)
		}
	}
	if _, err := q.Enqueue(Envelope{From: "a@b"}, strings.NewReader("x")); err == nil {
		t.Error("Enqueue with no recipients succeeded")
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

// Many goroutines race for the same entries: each entry is handled by
// exactly one of them.
func TestLockIsExclusive(t *testing.T) {
	q := testQueue(t)
	const n = 50
	for i := 0; i < n; i++ {
		if _, err := q.Enqueue(Envelope{From: "a@b", Recipients: []Recipient{{Addr: "c@d"}}}, strings.NewReader("x\n")); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	handled := map[string]int{}
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			list, _ := q.List()
			for _, env := range list {
				e, err := q.Lock(env.ID)
				if errors.Is(err, ErrLocked) || errors.Is(err, ErrGone) {
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				handled[env.ID]++
				mu.Unlock()
				e.Remove()
				e.Close()
			}
		}()
	}
	wg.Wait()
	if len(handled) != n {
		t.Errorf("%d of %d entries handled", len(handled), n)
	}
	for id, c := range handled {
		if c != 1 {
			t.Errorf("%s handled %d times", id, c)
		}
	}
}

func TestCleanTmp(t *testing.T) {
	now := time.Now()
	q, _ := Open(t.TempDir(), Options{Now: func() time.Time { return now }})
	os.WriteFile(filepath.Join(q.Dir(), "tmp", "old"), nil, 0o600)
	os.WriteFile(filepath.Join(q.Dir(), "msg", "orphan"), nil, 0o600)
	old := now.Add(-48 * time.Hour)
	os.Chtimes(filepath.Join(q.Dir(), "tmp", "old"), old, old)
	os.Chtimes(filepath.Join(q.Dir(), "msg", "orphan"), old, old)
	id, _ := q.Enqueue(Envelope{From: "a@b", Recipients: []Recipient{{Addr: "c@d"}}}, strings.NewReader("x"))
	n, err := q.CleanTmp(36 * time.Hour)
	if err != nil || n != 2 {
		t.Errorf("CleanTmp = %d, %v", n, err)
	}
	if _, err := q.Lock(id); err != nil {
		t.Errorf("CleanTmp removed a live entry: %v", err)
	}
}

func TestOpenRefusesUnsafe(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "q"), 0o777)
	os.Chmod(filepath.Join(dir, "q"), 0o777)
	if _, err := Open(filepath.Join(dir, "q"), Options{}); err == nil {
		t.Error("world-writable queue accepted")
	}
	os.MkdirAll(filepath.Join(dir, "q2"), 0o700)
	os.Symlink("/tmp", filepath.Join(dir, "q2", "msg"))
	if _, err := Open(filepath.Join(dir, "q2"), Options{}); err == nil {
		t.Error("symlinked msg/ accepted")
	}
}

func TestWaitWakesOnEnqueue(t *testing.T) {
	q := testQueue(t)
	done := make(chan struct{})
	go func() {
		q.Wait(context.Background(), time.Minute)
		close(done)
	}()
	// Wait may not be watching yet when the first message arrives, so
	// keep enqueueing until it returns: it must return well before its
	// one-minute period, and the bound below only stops a broken test.
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	bound := time.After(30 * time.Second)
	for {
		if _, err := q.Enqueue(Envelope{From: "a@b", Recipients: []Recipient{{Addr: "c@d"}}}, strings.NewReader("x")); err != nil {
			t.Fatal(err)
		}
		select {
		case <-done:
			return
		case <-bound:
			t.Fatal("Wait did not return after enqueues")
		case <-tick.C:
		}
	}
}
