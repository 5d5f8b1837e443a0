package netio

import (
	"bufio"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"
)

// BenchmarkListenSession: one session through a --listen server per
// iteration (connect, greeting, QUIT, EOF), as bench/netio/run.sh's
// "listen" mode measures from outside.
func BenchmarkListenSession(b *testing.B) {
	addrs, stop := startListenB(b)
	defer stop()
	b.ResetTimer()
	for b.Loop() {
		nc, err := net.Dial("tcp", addrs[0].String())
		if err != nil {
			b.Fatal(err)
		}
		br := bufio.NewReader(nc)
		if _, err := br.ReadString('\n'); err != nil {
			b.Fatal(err)
		}
		io.WriteString(nc, "QUIT\r\n")
		io.Copy(io.Discard, br)
		nc.Close()
	}
}

func startListenB(b *testing.B) ([]net.Addr, func()) {
	o := Options{Listen: []string{"127.0.0.1:0"}, MaxPerIP: -1, MaxConns: -1, NoSignals: true, Grace: -1,
		Logger: quietLogger(b), LookupEnv: envMap(nil)}
	ready := make(chan []net.Addr, 1)
	o.Ready = func(a []net.Addr) { ready <- a }
	ctx, cancel := contextWithCancel()
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, o, echo) }()
	select {
	case a := <-ready:
		return a, func() { cancel(); <-done }
	case err := <-done:
		b.Fatal(err)
	case <-time.After(10 * time.Second):
		b.Fatal("not ready")
	}
	return nil, nil
}

// BenchmarkPenaltyFail: the cost of recording a failure with the table
// full (every call evicts).
func BenchmarkPenaltyFail(b *testing.B) {
	p := NewPenalty(PenaltyOptions{Size: 1024})
	i := uint32(0)
	for b.Loop() {
		i++
		p.Fail(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}))
	}
}
