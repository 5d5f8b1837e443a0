package mxlookup

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mailtk/internal/mx"
)

// recorder is a sink that keeps the domains in the order printed.
type recorder struct {
	got     []string
	printed atomic.Int64
	fail    int // print fails from this result on (0: never)
}

func (r *recorder) print(res mx.Result) error {
	if r.fail > 0 && len(r.got)+1 >= r.fail {
		return errors.New("broken pipe")
	}
	r.got = append(r.got, res.Input)
	r.printed.Add(1)
	return nil
}

func (r *recorder) flush() error { return nil }

func TestBulkKeepsInputOrderAndBoundsMemory(t *testing.T) {
	const n, jobs, window = 20000, 50, 200
	var in strings.Builder
	for i := range n {
		fmt.Fprintf(&in, "d%d.example\n", i)
		if i%1000 == 0 {
			in.WriteString("\n# comment\n   \n")
		}
	}
	out := &recorder{}
	var started, maxAhead atomic.Int64
	lookup := func(ctx context.Context, d string) mx.Result {
		ahead := started.Add(1) - out.printed.Load()
		for {
			m := maxAhead.Load()
			if ahead <= m || maxAhead.CompareAndSwap(m, ahead) {
				break
			}
		}
		if rand.IntN(10) == 0 {
			time.Sleep(time.Duration(rand.IntN(2000)) * time.Microsecond)
		}
		return mx.Result{Input: d}
	}
	if err := runBulk(context.Background(), strings.NewReader(in.String()), jobs, window, lookup, out); err != nil {
		t.Fatal(err)
	}
	if len(out.got) != n {
		t.Fatalf("%d results, want %d", len(out.got), n)
	}
	for i, d := range out.got {
		if want := fmt.Sprintf("d%d.example", i); d != want {
			t.Fatalf("result %d is %s, want %s", i, d, want)
		}
	}
	// Lookups never run more than the window ahead of the output.
	if maxAhead.Load() > window {
		t.Errorf("%d lookups ahead of the output, window %d", maxAhead.Load(), window)
	}
}

func TestBulkLongLineAndNoFinalNewline(t *testing.T) {
	in := "a.example\n" + strings.Repeat("x", 5000) + "\nb.example"
	out := &recorder{}
	lookup := func(ctx context.Context, d string) mx.Result { return mx.Result{Input: d} }
	if err := runBulk(context.Background(), strings.NewReader(in), 4, 8, lookup, out); err != nil {
		t.Fatal(err)
	}
	if strings.Join(out.got, ",") != "a.example,-,b.example" {
		t.Fatalf("got %q", out.got)
	}
}

func TestBulkStopsWhenOutputFails(t *testing.T) {
	var in strings.Builder
	for i := range 100000 {
		fmt.Fprintf(&in, "d%d.example\n", i)
	}
	out := &recorder{fail: 10}
	var calls atomic.Int64
	lookup := func(ctx context.Context, d string) mx.Result { calls.Add(1); return mx.Result{Input: d} }
	err := runBulk(context.Background(), strings.NewReader(in.String()), 8, 64, lookup, out)
	if err == nil || !strings.Contains(err.Error(), "broken pipe") {
		t.Fatalf("err %v", err)
	}
	if calls.Load() > 10+64+8 {
		t.Errorf("%d lookups after the output failed", calls.Load())
	}
}

type errReader struct{ once sync.Once }

func (r *errReader) Read(p []byte) (int, error) {
	n := 0
	r.once.Do(func() { n = copy(p, "a.example\n") })
	if n > 0 {
		return n, nil
	}
	return 0, errors.New("disk on fire")
}

func TestBulkReadError(t *testing.T) {
	out := &recorder{}
	lookup := func(ctx context.Context, d string) mx.Result { return mx.Result{Input: d} }
	err := runBulk(context.Background(), &errReader{}, 4, 8, lookup, out)
	if err == nil || !strings.Contains(err.Error(), "disk on fire") || len(out.got) != 1 {
		t.Fatalf("err %v, got %v", err, out.got)
	}
}

func TestField(t *testing.T) {
	for in, want := range map[string]string{"": "-", "a b": "a?b", "a\tb\x00": "a?b?", "\xff": "?", "ü": "ü"} {
		if got := field(in); got != want {
			t.Errorf("field(%q) = %q, want %q", in, got, want)
		}
	}
}
