// Command maildir-bench measures the maildir package side by side with
// the floor it cannot beat, in one run, and prints the ratios:
//
//   - durable deliveries per second of 5 KiB messages (maildir.Deliver)
//     against a raw loop of write + fsync + rename + fsync(dir), with 1
//     and 8 concurrent writers;
//   - Scan of a 100,000-message Maildir against a bare readdir of new/
//     and cur/.
//
// The two sides run in alternating batches (A B A B ...) and the ratio
// reported is the median of the per-pair ratios, so that noise from other
// work on the machine hits both sides alike.
//
//	go run ./bench/maildir -dir /var/tmp            # everything
//	go run ./bench/maildir -only scan -scan-only    # one Scan, for strace -c
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"mailtk/maildir"
)

func main() {
	dir := flag.String("dir", os.TempDir(), "directory for the test Maildirs (the disk under test)")
	only := flag.String("only", "", `"deliver" or "scan" (default both)`)
	batch := flag.Int("batch", 100, "deliveries per batch")
	rounds := flag.Int("rounds", 7, "A/B rounds")
	scanOnly := flag.Bool("scan-only", false, "build the 100k Maildir, then run one Scan and exit (for strace -c)")
	readdirOnly := flag.Bool("readdir-only", false, "build the 100k Maildir, then run one bare readdir and exit")
	flag.Parse()

	base, err := os.MkdirTemp(*dir, "maildir-bench-")
	check(err)
	defer os.RemoveAll(base)

	if *only == "" || *only == "deliver" {
		for _, writers := range []int{1, 8} {
			benchDeliver(base, writers, *batch, *rounds)
		}
	}
	if *only == "" || *only == "scan" {
		benchScan(base, *rounds, *scanOnly, *readdirOnly)
	}
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "maildir-bench:", err)
		os.Exit(1)
	}
}

var message = func() []byte {
	var b bytes.Buffer
	b.WriteString("From: a@example.org\r\nTo: b@example.org\r\nSubject: benchmark\r\n\r\n")
	for b.Len() < 5*1024-80 {
		b.WriteString("The quick brown fox jumps over the lazy dog, again and again.\r\n")
	}
	return b.Bytes()
}()

// run does n deliveries with the given number of writers and returns
// deliveries per second.
func run(writers, n int, one func() error) float64 {
	var left atomic.Int64
	left.Store(int64(n))
	var wg sync.WaitGroup
	start := time.Now()
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for left.Add(-1) >= 0 {
				check(one())
			}
		}()
	}
	wg.Wait()
	return float64(n) / time.Since(start).Seconds()
}

func benchDeliver(base string, writers, batch, rounds int) {
	ours, err := maildir.Create(filepath.Join(base, fmt.Sprintf("ours-%d", writers)))
	check(err)
	raw, err := maildir.Create(filepath.Join(base, fmt.Sprintf("raw-%d", writers)))
	check(err)
	var seq atomic.Int64
	rawOne := func() error {
		name := strconv.FormatInt(seq.Add(1), 10)
		return rawDeliver(raw.Path(), name, message)
	}
	ourOne := func() error {
		_, err := ours.Deliver(bytes.NewReader(message))
		return err
	}
	// Warm up both.
	run(writers, batch/4+1, rawOne)
	run(writers, batch/4+1, ourOne)
	var a, b, ratios []float64
	for i := range rounds {
		var ra, rb float64
		if i%2 == 0 {
			rb = run(writers, batch, rawOne)
			ra = run(writers, batch, ourOne)
		} else {
			ra = run(writers, batch, ourOne)
			rb = run(writers, batch, rawOne)
		}
		a, b, ratios = append(a, ra), append(b, rb), append(ratios, ra/rb)
	}
	fmt.Printf("deliver 5 KiB, %d writer(s): maildir.Deliver %.0f msg/s, raw write+fsync+rename+fsync(dir) %.0f msg/s, ratio %.2f (median of %d pairs; target >= 0.90)\n",
		writers, median(a), median(b), median(ratios), rounds)
}

// rawDeliver is the ceiling: the durable minimum, nothing else.
func rawDeliver(root, name string, msg []byte) error {
	tmp := filepath.Join(root, "tmp", name)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(msg); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(root, "new", name)); err != nil {
		return err
	}
	d, err := os.Open(filepath.Join(root, "new"))
	if err != nil {
		return err
	}
	err = d.Sync()
	d.Close()
	return err
}

func benchScan(base string, rounds int, scanOnly, readdirOnly bool) {
	d, err := maildir.Create(filepath.Join(base, "big"))
	check(err)
	const total = 100000
	for i := range total {
		key := strconv.Itoa(1700000000+i/10) + ".M" + strconv.Itoa(i%10*1000) + "P1Q" + strconv.Itoa(i) + ".host,S=5120,W=5200"
		p := filepath.Join(d.Path(), "new", key)
		if i%10 != 0 {
			p = filepath.Join(d.Path(), "cur", key+":2,S")
		}
		check(os.WriteFile(p, nil, 0o600))
	}
	bare := func() int {
		n := 0
		for _, sub := range []string{"new", "cur"} {
			f, err := os.Open(filepath.Join(d.Path(), sub))
			check(err)
			names, err := f.Readdirnames(-1)
			check(err)
			f.Close()
			n += len(names)
		}
		return n
	}
	scan := func() int {
		msgs, err := d.Scan()
		check(err)
		return len(msgs)
	}
	if scanOnly || readdirOnly {
		// Mark the start for strace: everything before is the fixture.
		os.Stat("/maildir-bench-start")
		if scanOnly {
			fmt.Println("scanned", scan())
		} else {
			fmt.Println("read", bare())
		}
		os.Stat("/maildir-bench-end")
		return
	}
	bare()
	scan()
	var a, b, ratios []float64
	for range rounds {
		t0 := time.Now()
		if n := scan(); n != total {
			check(fmt.Errorf("scan found %d", n))
		}
		ta := time.Since(t0).Seconds()
		t0 = time.Now()
		if n := bare(); n != total {
			check(fmt.Errorf("readdir found %d", n))
		}
		tb := time.Since(t0).Seconds()
		a, b, ratios = append(a, ta*1000), append(b, tb*1000), append(ratios, ta/tb)
	}
	fmt.Printf("scan 100,000 messages: maildir.Scan %.1f ms, bare readdir %.1f ms, ratio %.2f (median of %d pairs; target <= 2.00)\n",
		median(a), median(b), median(ratios), rounds)
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}
