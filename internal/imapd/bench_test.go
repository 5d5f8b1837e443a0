package imapd

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"mailtk/internal/testutil"
	"mailtk/maildir"
)

// Benchmarks on a 10,000-message Maildir made by bench/imapd/imapbench
// (the same messages bench/imapd/run.sh times against Dovecot).

var (
	benchOnce sync.Once
	benchDir  string
)

// benchMessages is 10,000, or 100,000 with IMAPD_BENCH_100K=1.
func benchMessages() string {
	if os.Getenv("IMAPD_BENCH_100K") != "" {
		return "100000"
	}
	return "10000"
}

func benchMaildir(b *testing.B) string {
	benchOnce.Do(func() {
		dir, err := os.MkdirTemp("", "imapd-bench-")
		if err != nil {
			b.Fatal(err)
		}
		benchDir = filepath.Join(dir, "Maildir")
		cmd := exec.Command("go", "run", "./bench/imapd/imapbench", "gen", benchDir, benchMessages())
		cmd.Dir = testutil.ModuleRoot(b)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("imapbench gen: %v\n%s", err, out)
		}
		// Number the messages, and age the directories and the UID list
		// as a mailbox that has been quiet for a minute.
		d, err := maildir.Open(benchDir)
		if err != nil {
			b.Fatal(err)
		}
		msgs, _ := d.Scan()
		if _, err := d.SyncUIDs(msgs); err != nil {
			b.Fatal(err)
		}
		old := time.Now().Add(-time.Minute)
		for _, p := range []string{"new", "cur", maildir.UIDListName} {
			os.Chtimes(filepath.Join(benchDir, p), old, old)
		}
	})
	if benchDir == "" {
		b.Skip("no benchmark Maildir")
	}
	return benchDir
}

func benchCommand(b *testing.B, cmd string) {
	dir := benchMaildir(b)
	c := startSession(b, testConfig(b, dir))
	c.ok("LOGIN u p")
	c.ok("SELECT INBOX")
	c.ok("%s", cmd) // warm the cache
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.ok("%s", cmd)
	}
}

func BenchmarkSelect10k(b *testing.B)     { benchCommand(b, "SELECT INBOX") }
func BenchmarkFetchFlags10k(b *testing.B) { benchCommand(b, "UID FETCH 1:* (UID FLAGS RFC822.SIZE)") }
func BenchmarkFetchEnvelope10k(b *testing.B) {
	benchCommand(b, "FETCH 1:* ENVELOPE")
}
func BenchmarkSearchHeader10k(b *testing.B) { benchCommand(b, "SEARCH FROM sender42") }
func BenchmarkSearchBody10k(b *testing.B)   { benchCommand(b, fmt.Sprintf("SEARCH BODY %s", "zanzibar")) }

// TestMain removes the benchmark Maildir when the benchmarks are done.
func TestMain(m *testing.M) {
	code := m.Run()
	if benchDir != "" {
		os.RemoveAll(filepath.Dir(benchDir))
	}
	os.Exit(code)
}
