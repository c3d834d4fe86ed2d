//go:build unix

package rpyc_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/rpc"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorpyc/rpyc"
	"github.com/gorpyc/rpyc/compat"
	"github.com/gorpyc/rpyc/server"
)

// BenchmarkCore is the Go-to-Go figure of the "Core v2" speed goals: a trivial call, add(1, 2)
// returning 3, from a Go client to a Go server in the same process over loopback TCP, for
// gorpyc (both envelopes) and, as the yardstick, Go's standard net/rpc (gob codec) with a
// trivial Arith.Add method.
//
// Run it pinned to one core so that client and server share it and a figure is their summed CPU
// (cross-core wake-ups cost tens of µs on some VMs and would dominate):
//
//	taskset -c 0 go test -run='^$' -bench='^BenchmarkCore$' -benchtime=3s .
//
// Go derives GOMAXPROCS from the affinity mask, so under taskset -c 0 it is 1; the gomaxprocs and
// cpus metrics report what the run had. cpu-ns/call is the process's user+system CPU per call
// (both sides; equal to ns/op when pinned and nothing else runs on that core).
// tox-interop/bench_core.sh (make bench-core) runs this beside the Python figures.
func BenchmarkCore(b *testing.B) {
	b.Run("gorpyc-v5", func(b *testing.B) { coreGorpyc(b, compat.V5) })
	b.Run("gorpyc-v6", func(b *testing.B) { coreGorpyc(b, compat.V6) })
	b.Run("netrpc", coreNetRPC)
}

// coreService is the Go service of the Go-to-Go benchmark (root.add).
type coreService struct{}

// Add returns a + b.
func (coreService) Add(a, b int) int { return a + b }

func coreGorpyc(b *testing.B, d compat.Dialect) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &server.Server{Service: coreService{}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.Background(), ln) }()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		if err := <-done; err != nil && !errors.Is(err, server.ErrServerClosed) {
			b.Errorf("Serve returned %v", err)
		}
	}()

	ctx := context.Background()
	conn, err := rpyc.Connect(ctx, ln.Addr().String(), rpyc.WithDialect(d),
		rpyc.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	root, err := conn.Root(ctx)
	if err != nil {
		b.Fatal(err)
	}
	call := func() {
		if n, err := rpyc.As[int](root.CallMethod(ctx, "add", 1, 2)); err != nil || n != 3 {
			b.Fatalf("add = %v, %v", n, err)
		}
	}
	for range 200 { // warm-up: connection set up, buffers grown
		call()
	}
	coreRun(b, call)
}

// NetRPCArith is net/rpc's service: the same trivial add.
type NetRPCArith struct{}

// NetRPCAddArgs are NetRPCArith.Add's arguments.
type NetRPCAddArgs struct{ A, B int }

// Add sets *reply to a + b.
func (NetRPCArith) Add(args *NetRPCAddArgs, reply *int) error {
	*reply = args.A + args.B
	return nil
}

func coreNetRPC(b *testing.B) {
	srv := rpc.NewServer()
	if err := srv.RegisterName("Arith", NetRPCArith{}); err != nil {
		b.Fatal(err)
	}
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
			go srv.ServeConn(c) // gob codec; returns when the client closes
		}
	}()
	defer func() { _ = ln.Close(); <-served }()

	client, err := rpc.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer client.Close()
	args := &NetRPCAddArgs{1, 2}
	call := func() {
		var n int
		if err := client.Call("Arith.Add", args, &n); err != nil || n != 3 {
			b.Fatalf("Arith.Add = %v, %v", n, err)
		}
	}
	for range 200 {
		call()
	}
	coreRun(b, call)
}

// coreRun times call b.N times and reports calls/s, cpu-ns/call, gomaxprocs and cpus (the size
// of the affinity mask).
func coreRun(b *testing.B, call func()) {
	b.ReportAllocs()
	cpu0 := coreProcessCPU()
	b.ResetTimer()
	for b.Loop() {
		call()
	}
	b.StopTimer()
	cpu := coreProcessCPU() - cpu0
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/call")
	b.ReportMetric(float64(runtime.GOMAXPROCS(0)), "gomaxprocs")
	b.ReportMetric(float64(coreAllowedCPUs()), "cpus")
}

// coreProcessCPU is this process's user+system CPU time so far.
func coreProcessCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// coreAllowedCPUs counts the CPUs in this process's affinity mask (Cpus_allowed_list of
// /proc/self/status, e.g. "0" or "0-1"); 0 if unknown.
func coreAllowedCPUs() int {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(raw)) {
		list, ok := strings.CutPrefix(line, "Cpus_allowed_list:")
		if !ok {
			continue
		}
		n := 0
		for part := range strings.SplitSeq(strings.TrimSpace(list), ",") {
			lo, hi, found := strings.Cut(part, "-")
			if !found {
				n++
				continue
			}
			var l, h int
			for _, c := range lo {
				l = l*10 + int(c-'0')
			}
			for _, c := range hi {
				h = h*10 + int(c-'0')
			}
			n += h - l + 1
		}
		return n
	}
	return 0
}
