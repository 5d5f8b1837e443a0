package smtp

import (
	"context"
	"io"
	"strings"
	"testing"
)

type discardBackend struct{ fakeBackend }

func (*discardBackend) Data(ctx context.Context, st *State, env *Envelope, msg io.Reader) []error {
	_, err := io.Copy(io.Discard, msg)
	return []error{err}
}

// BenchmarkSession measures the protocol core alone: one session of 100
// pipelined 5 KiB messages, read from memory into a discarding backend.
func BenchmarkSession(b *testing.B) {
	line := strings.Repeat("x", 78) + "\r\n"
	body := "Subject: bench\r\n\r\n" + strings.Repeat(line, 5120/len(line))
	var sb strings.Builder
	sb.WriteString("EHLO bench.example\r\n")
	for range 100 {
		sb.WriteString("MAIL FROM:<a@bench.example>\r\nRCPT TO:<jones@foo.com>\r\nDATA\r\n")
		sb.WriteString(body)
		sb.WriteString(".\r\n")
	}
	sb.WriteString("QUIT\r\n")
	in := sb.String()
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		Serve(context.Background(), Config{Hostname: "foo.com"}, &discardBackend{}, Peer{Local: true},
			Conn{R: strings.NewReader(in), W: io.Discard})
	}
	b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "msgs/s")
}
