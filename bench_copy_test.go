//go:build unix

package rpyc_test

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorpyc/rpyc"
	"github.com/gorpyc/rpyc/internal/interop"
)

// flatRow is one item of goclient_service.py's flat_rows(n).
type flatRow struct {
	ID    int
	Name  string
	Score float64
}

// BenchmarkCopyRows copies a list of 100,000 small dicts from a Python service with Python's
// default configuration (goclient_service.py flat_rows): gorpyc's rpyc.As (netref.Copy: the
// list's repr in a few requests), the same list with a datetime in every 1000th dict (the
// slices holding one are copied item by item), and Ref.Iter over the proxies; then Python's
// own client on the same list (goclient_bench.py: its for loop, buffiter, and obtain through
// pickle from a server that allows it). Every figure is items per second.
func BenchmarkCopyRows(b *testing.B) {
	const n = 100000
	for _, p := range interop.Peers(b) {
		b.Run(p.Name, func(b *testing.B) {
			// Each measure gets its own service: the harness stops a Python process after
			// interop.DefaultTimeout (2 minutes).
			goBench := func(name string, dateEvery int, fn func(b *testing.B, rows any)) {
				b.Run(name, func(b *testing.B) {
					ctx := context.Background()
					conn, err := rpyc.Connect(ctx, startBenchService(b, p))
					if err != nil {
						b.Fatal(err)
					}
					defer conn.Close()
					root, err := conn.Root(ctx)
					if err != nil {
						b.Fatal(err)
					}
					rows, err := root.CallMethod(ctx, "flat_rows", n, dateEvery)
					if err != nil {
						b.Fatal(err)
					}
					b.ResetTimer()
					for b.Loop() {
						fn(b, rows)
					}
					b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "items/s")
				})
			}
			goBench("go As[[]struct]", 0, func(b *testing.B, rows any) {
				if got, err := rpyc.As[[]flatRow](rows, nil); err != nil || len(got) != n || got[n-1].Name != "item99999" {
					b.Fatalf("%d rows, %v", len(got), err)
				}
			})
			goBench("go As[[]map[string]any]", 0, func(b *testing.B, rows any) {
				if got, err := rpyc.As[[]map[string]any](rows, nil); err != nil || len(got) != n {
					b.Fatalf("%d rows, %v", len(got), err)
				}
			})
			goBench("go As, a datetime every 1000 rows", 1000, func(b *testing.B, rows any) {
				if got, err := rpyc.As[[]map[string]any](rows, nil); err != nil || len(got) != n {
					b.Fatalf("%d rows, %v", len(got), err)
				}
			})
			goBench("go Ref.Iter (proxies)", 0, func(b *testing.B, rows any) {
				k := 0
				for _, err := range rows.(*rpyc.Ref).Iter(context.Background()) {
					if err != nil {
						b.Fatal(err)
					}
					k++
				}
				if k != n {
					b.Fatalf("%d items", k)
				}
			})
			var pyOut string // Python measures itself, once (best of 3 runs for each figure)
			b.Run("python", func(b *testing.B) {
				if pyOut == "" {
					pyOut = p.Run(b, "goclient_bench.py", startBenchService(b, p), startBenchService(b, p, "--allow-pickle"), strconv.Itoa(n))
					for _, line := range strings.Split(strings.TrimSpace(pyOut), "\n") {
						var m struct {
							Name      string
							ItemsPerS float64 `json:"items_per_s"`
						}
						if err := json.Unmarshal([]byte(line), &m); err != nil {
							b.Fatalf("%v: %q", err, line)
						}
						b.Logf("%-40s %12.0f items/s", m.Name, m.ItemsPerS)
					}
				}
			})
		})
	}
}

func startBenchService(b *testing.B, p interop.Peer, args ...string) string {
	b.Helper()
	proc := p.Start(b, "goclient_service.py", args...)
	addr, err := proc.WaitListening(20 * time.Second)
	if err != nil {
		b.Fatal(err)
	}
	return addr
}
