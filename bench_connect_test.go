//go:build unix

package rpyc_test

import (
	"context"
	"errors"
	"net"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorpyc/rpyc"
	"github.com/gorpyc/rpyc/compat"
	"github.com/gorpyc/rpyc/internal/interop"
	"github.com/gorpyc/rpyc/server"
)

// BenchmarkConnectCycle measures connection setup: one op is a whole client session against an
// in-process Go server (a Threaded server.Server of a trivial service) over loopback TCP, exactly
//
//	conn, _ := rpyc.Connect(ctx, addr)    // dial, and the dialect probe unless given
//	root, _ := conn.Root(ctx)             // GETROOT
//	root.CallMethod(ctx, "get_service_name")
//	conn.Close()                          // CLOSE, then the socket
//
// the same cycle as tox-interop/bench_connect.py, which measures it for Python's client and
// ThreadedServer (the "python/<version>" sub-benchmarks run it, for each Python peer; their ns/op
// is meaningless, read cycles/s and cpu-ns/cycle). "auto" is Connect without options (what users write: the dialect is found by
// the probe); "v5" and "v6" give WithDialect. "tcp" is the floor under them: the same socket
// work with no RPyC (dial, two small request/answer round trips, a last message, close, with a
// goroutine per accepted connection), what the kernel and Go's netpoller cost. cycles/s is 1/ns-op; cpu-ns/cycle is the process's
// CPU (both sides). Pin it to one core to compare with Python (tox-interop/bench_connect.sh
// does both):
//
//	taskset -c 0 go test -run='^$' -bench='^BenchmarkConnectCycle$' -benchtime=3s .
func BenchmarkConnectCycle(b *testing.B) {
	b.Run("auto", func(b *testing.B) { connectCycle(b) })
	b.Run("v5", func(b *testing.B) { connectCycle(b, rpyc.WithDialect(compat.V5)) })
	b.Run("v6", func(b *testing.B) { connectCycle(b, rpyc.WithDialect(compat.V6)) })
	b.Run("tcp", tcpCycle)
	for _, p := range interop.Peers(b) {
		b.Run("python/"+p.Name, func(b *testing.B) { pythonCycle(b, p) })
	}
}

// pythonCycle runs tox-interop/bench_connect.py: Python's client and ThreadedServer (in two
// processes) doing the same cycle, at least b.N times.
func pythonCycle(b *testing.B, p interop.Peer) {
	out := strings.Fields(p.Run(b, "bench_connect.py", "--n", strconv.Itoa(max(b.N, 1)), "--mintime", "1"))
	if len(out) != 4 {
		b.Fatalf("bench_connect.py printed %q", out)
	}
	var f [4]float64
	for i, s := range out {
		f[i], _ = strconv.ParseFloat(s, 64)
	}
	b.ReportMetric(f[0]/f[1], "cycles/s")
	b.ReportMetric((f[2]+f[3])*1e9/f[0], "cpu-ns/cycle")
}

// cycleService is the trivial service of BenchmarkConnectCycle (get_service_name is built in).
type cycleService struct{}

// Add returns a + b.
func (cycleService) Add(a, b int) int { return a + b }

func connectCycle(b *testing.B, opts ...rpyc.Option) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &server.Server{Service: cycleService{}, Name: "CYCLE"}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(context.Background(), ln) }()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		if err := <-served; err != nil && !errors.Is(err, server.ErrServerClosed) {
			b.Errorf("Serve returned %v", err)
		}
	}()
	addr := ln.Addr().String()
	ctx := context.Background()
	cycle := func() {
		conn, err := rpyc.Connect(ctx, addr, opts...)
		if err != nil {
			b.Fatal(err)
		}
		root, err := conn.Root(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if name, err := rpyc.As[string](root.CallMethod(ctx, "get_service_name")); err != nil || name != "CYCLE" {
			b.Fatalf("get_service_name = %q, %v", name, err)
		}
		if err := conn.Close(); err != nil {
			b.Fatal(err)
		}
	}
	cycleRun(b, cycle)
}

// cycleRun times cycle b.N times after a warm-up, and reports cycles/s, cpu-ns/cycle and
// gomaxprocs.
func cycleRun(b *testing.B, cycle func()) {
	for range 100 { // warm-up
		cycle()
	}
	b.ReportAllocs()
	cpu0 := coreProcessCPU()
	b.ResetTimer()
	for b.Loop() {
		cycle()
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "cycles/s")
	b.ReportMetric(float64((coreProcessCPU()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/cycle")
	b.ReportMetric(float64(runtime.GOMAXPROCS(0)), "gomaxprocs")
}

// tcpCycle is the socket work of a cycle without RPyC: the floor of BenchmarkConnectCycle.
func tcpCycle(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 64)
				for {
					if _, err := c.Read(buf); err != nil {
						return
					}
					if buf[0] == 'q' { // the last message: no answer
						continue
					}
					if _, err := c.Write(buf[:16]); err != nil {
						return
					}
				}
			}()
		}
	}()
	defer func() { _ = ln.Close(); <-served }()
	addr := ln.Addr().String()
	req := make([]byte, 40)
	buf := make([]byte, 64)
	cycleRun(b, func() {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		for range 2 {
			if _, err := c.Write(req); err != nil {
				b.Fatal(err)
			}
			if _, err := c.Read(buf); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := c.Write([]byte("q")); err != nil {
			b.Fatal(err)
		}
		if err := c.Close(); err != nil {
			b.Fatal(err)
		}
	})
}
