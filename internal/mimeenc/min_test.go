package mimeenc

import (
	"bytes"
	"io"
	"mime/quotedprintable"
	"os"
	"testing"
	"time"
)

// TestMinTimes prints the best of many short runs of each codec and its
// stdlib equivalent; best-of is robust on a shared machine. Run with
// MAILTK_MINTIMES=1 go test -run TestMinTimes -v ./internal/mimeenc/
func TestMinTimes(t *testing.T) {
	if os.Getenv("MAILTK_MINTIMES") == "" {
		t.Skip("a measurement, not a test: set MAILTK_MINTIMES=1")
	}
	text, bin := benchText()[:2<<20], benchRandom()[:2<<20]
	qpText := encodeQP(t, text, QPOptions{})
	qpBin := encodeQP(t, bin, QPOptions{Binary: true})
	best := func(f func()) time.Duration {
		m := time.Hour
		for range 25 {
			s := time.Now()
			f()
			m = min(m, time.Since(s))
		}
		return m
	}
	report := func(name string, ours, std func()) {
		a, b := best(ours), best(std)
		t.Logf("%-16s ours %6.1f MB/s  stdlib %6.1f MB/s  ratio %.2f", name,
			2.097152/a.Seconds(), 2.097152/b.Seconds(), b.Seconds()/a.Seconds())
	}
	report("qp encode text", func() { w := NewQPWriter(sink{}, QPOptions{}); w.Write(text); w.Close() },
		func() { w := quotedprintable.NewWriter(sink{}); w.Write(text); w.Close() })
	report("qp encode binary", func() { w := NewQPWriter(sink{}, QPOptions{Binary: true}); w.Write(bin); w.Close() },
		func() { w := quotedprintable.NewWriter(sink{}); w.Binary = true; w.Write(bin); w.Close() })
	report("qp decode text", func() { NewQPReader(bytes.NewReader(qpText), QPOptions{}).WriteTo(sink{}) },
		func() { io.Copy(sink{}, quotedprintable.NewReader(bytes.NewReader(qpText))) })
	report("qp decode binary", func() { NewQPReader(bytes.NewReader(qpBin), QPOptions{}).WriteTo(sink{}) },
		func() { io.Copy(sink{}, quotedprintable.NewReader(bytes.NewReader(qpBin))) })
}
