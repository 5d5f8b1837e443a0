package maildir

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
)

// Run with: go test -run '^$' -bench . -benchtime 2s ./maildir/
// bench/maildir/run.sh runs the same comparisons side by side and prints
// the ratios.

// benchMessage is 5 KiB of mail with CRLF line ends, as smtpd hands it over.
var benchMessage = func() []byte {
	var b bytes.Buffer
	b.WriteString("From: a@example.org\r\nTo: b@example.org\r\nSubject: benchmark\r\n\r\n")
	for b.Len() < 5*1024-80 {
		b.WriteString("The quick brown fox jumps over the lazy dog, again and again.\r\n")
	}
	return b.Bytes()
}()

func BenchmarkDeliver5K(b *testing.B) {
	d := newDir(b)
	b.SetBytes(int64(len(benchMessage)))
	for b.Loop() {
		if _, err := d.Deliver(bytes.NewReader(benchMessage)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDeliver5KParallel8(b *testing.B) {
	d := newDir(b)
	b.SetBytes(int64(len(benchMessage)))
	b.SetParallelism(8) // 8 × GOMAXPROCS writers; the point is concurrency
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := d.Deliver(bytes.NewReader(benchMessage)); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkRawDurable is the ceiling: write + fsync + rename +
// fsync(dir), nothing else.
func BenchmarkRawDurable(b *testing.B) {
	d := newDir(b)
	b.SetBytes(int64(len(benchMessage)))
	i := 0
	for b.Loop() {
		i++
		if err := rawDeliver(d.Path(), strconv.Itoa(i), benchMessage); err != nil {
			b.Fatal(err)
		}
	}
}

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
	return syncDir(filepath.Join(root, "new"))
}

var (
	bigOnce sync.Once
	bigDir  string
)

// bigMaildir makes (once per process) a Maildir of 100,000 empty messages,
// 10% in new/ and the rest in cur/ with flags. Not fsynced: it is a
// fixture.
func bigMaildir(b *testing.B) string {
	bigOnce.Do(func() {
		dir, err := os.MkdirTemp("", "maildir-bench-")
		if err != nil {
			b.Fatal(err)
		}
		d, err := Create(filepath.Join(dir, "Maildir"))
		if err != nil {
			b.Fatal(err)
		}
		for i := range 100000 {
			key := strconv.Itoa(1700000000+i/10) + ".M" + strconv.Itoa(i%10*1000) + "P1Q" + strconv.Itoa(i) + ".host,S=5120,W=5200"
			p := filepath.Join(d.Path(), "new", key)
			if i%10 != 0 {
				p = filepath.Join(d.Path(), "cur", key+":2,S")
			}
			if err := os.WriteFile(p, nil, 0o600); err != nil {
				b.Fatal(err)
			}
		}
		bigDir = d.Path()
	})
	if bigDir == "" {
		b.Fatal("no fixture")
	}
	return bigDir
}

func BenchmarkScan100k(b *testing.B) {
	d, err := Open(bigMaildir(b))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		msgs, err := d.Scan()
		if err != nil || len(msgs) != 100000 {
			b.Fatal(len(msgs), err)
		}
	}
}

// BenchmarkReaddir100k is the floor: a bare readdir of new/ and cur/
// with the standard library (os.File.Readdirnames).
func BenchmarkReaddir100k(b *testing.B) {
	root := bigMaildir(b)
	for b.Loop() {
		n := 0
		for _, sub := range []string{"new", "cur"} {
			f, err := os.Open(filepath.Join(root, sub))
			if err != nil {
				b.Fatal(err)
			}
			names, err := f.Readdirnames(-1)
			f.Close()
			if err != nil {
				b.Fatal(err)
			}
			n += len(names)
		}
		if n != 100000 {
			b.Fatal(n)
		}
	}
}
