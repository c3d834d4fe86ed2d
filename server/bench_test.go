//go:build unix

package server_test

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorpyc/rpyc/internal/interop"
	"github.com/gorpyc/rpyc/server"
)

// BenchmarkPythonClient runs Python rpyc's own client (tox-interop/bench_client.py: root.add(1, 2)
// in a loop) against a gorpyc server and against a Python rpyc ThreadedServer with the same
// method, for each Python version. Metrics: py-ns/call and calls/s as the Python client measures
// them, and server-cpu-us/call, the server process's CPU time (user+system) per call.
// Run with a fixed count, e.g. -benchtime=20000x.
func BenchmarkPythonClient(b *testing.B) {
	for _, p := range interop.Peers(b) {
		b.Run(p.Name+"/go-server", func(b *testing.B) {
			_, addr := startServer(b, server.Threaded)
			before := selfCPU()
			runPyClient(b, p, addr)
			b.ReportMetric(float64((selfCPU()-before).Microseconds())/float64(b.N), "server-cpu-us/call")
		})
		b.Run(p.Name+"/python-server", func(b *testing.B) {
			proc := p.Start(b, "test_service.py")
			addr, err := proc.WaitListening(20 * time.Second)
			if err != nil {
				b.Fatal(err)
			}
			before := procCPU(b, proc.Pid())
			runPyClient(b, p, addr)
			b.ReportMetric(float64((procCPU(b, proc.Pid())-before).Microseconds())/float64(b.N), "server-cpu-us/call")
		})
	}
}

func runPyClient(b *testing.B, p interop.Peer, addr string) {
	out := strings.Fields(p.Run(b, "bench_client.py", addr, strconv.Itoa(max(b.N, 1))))
	if len(out) != 2 {
		b.Fatalf("bench_client.py printed %q", out)
	}
	ns, _ := strconv.ParseFloat(out[0], 64)
	perSec, _ := strconv.ParseFloat(out[1], 64)
	b.ReportMetric(ns, "py-ns/call")
	b.ReportMetric(perSec, "calls/s")
}

// selfCPU is this process's CPU time so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procCPU reads another process's CPU time from /proc (clock ticks of 10 ms).
func procCPU(b *testing.B, pid int) time.Duration {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		b.Fatal(err)
	}
	// Fields after the ")" that ends the command name: state is field 3, utime 14, stime 15.
	f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+1:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}
