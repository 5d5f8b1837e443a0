package mx_test

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	"mailtk/internal/mx"
	"mailtk/internal/mx/mxtest"
)

// BenchmarkLookup resolves distinct domains in parallel against a
// loopback server: the in-process one, or the server at MX_BENCH_SERVER
// (e.g. the nsd of bench/mxlookup/run.sh) for names d0.bench.test, ...
func BenchmarkLookup(b *testing.B) {
	addr, names := os.Getenv("MX_BENCH_SERVER"), "d%d.bench.test"
	if addr == "" {
		addr, names = mxtest.Start(b).Addr, "example.test"
	}
	for _, noAddrs := range []bool{true, false} {
		b.Run(fmt.Sprintf("no-addrs=%v", noAddrs), func(b *testing.B) {
			r, err := mx.NewResolver(mx.Options{Servers: []string{addr}, Timeout: 5e9, Attempts: 2, NoAddrs: noAddrs, CacheSize: 100000})
			if err != nil {
				b.Fatal(err)
			}
			var n atomic.Int64
			b.SetParallelism(50)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					d := names
					if d != "example.test" {
						d = fmt.Sprintf(names, n.Add(1)%100000)
					}
					if res := r.Lookup(context.Background(), d); res.Status != mx.OK {
						b.Fatalf("%s: %v %v", d, res.Status, res.Err)
					}
				}
			})
		})
	}
}
