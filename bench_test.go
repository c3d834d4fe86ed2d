package rpyc_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorpyc/rpyc"
	"github.com/gorpyc/rpyc/internal/interop"
)

// BenchmarkRoundTrip times a trivial call, root.add(1, 2), against a real Python rpyc server of
// each version: "go" is gorpyc's client, "python" is Python rpyc's own client against the same
// server (its ns/op is measured by the Python process itself, over b.N calls).
func BenchmarkRoundTrip(b *testing.B) {
	for _, p := range interop.Peers(b) {
		b.Run(p.Name, func(b *testing.B) {
			proc := p.Start(b, "test_service.py")
			addr, err := proc.WaitListening(20 * time.Second)
			if err != nil {
				b.Fatal(err)
			}
			b.Run("go", func(b *testing.B) {
				ctx := context.Background()
				conn, err := rpyc.Connect(ctx, addr)
				if err != nil {
					b.Fatal(err)
				}
				defer conn.Close()
				root, err := conn.Root(ctx)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					if n, err := rpyc.As[int](root.CallMethod(ctx, "add", 1, 2)); err != nil || n != 3 {
						b.Fatalf("add = %v, %v", n, err)
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
			})
			b.Run("python", func(b *testing.B) {
				n := max(b.N, 1)
				out := strings.Fields(p.Run(b, "bench_client.py", addr, strconv.Itoa(n)))
				if len(out) != 2 {
					b.Fatalf("bench_client.py printed %q", out)
				}
				ns, _ := strconv.ParseFloat(out[0], 64)
				perSec, _ := strconv.ParseFloat(out[1], 64)
				b.ReportMetric(ns, "py-ns/call")
				b.ReportMetric(perSec, "calls/s")
			})
		})
	}
}
