//go:build unix

package server_test

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorpyc/rpyc/internal/interop"
	"github.com/gorpyc/rpyc/server"
)

// BenchmarkPythonClient runs Python rpyc's own client (tox-interop/bench_client.py: root.add(1, 2)
// in a loop) against a gorpyc server and against a Python rpyc ThreadedServer with the same
// method, for each Python version. Metrics: py-ns/call and calls/s as the Python client measures
// them, and server-cpu-us/call, the server process's CPU time per call, which the client reads
// from /proc/<pid>/task/*/schedstat around its timed loop (ns precision; the Python server's
// connection thread exists only while the client is connected, so it cannot be read from here).
// Run with a fixed count, e.g. -benchtime=20000x. Under `taskset -c 0` every process shares one
// core (the pinned figures of make bench-core come from tox-interop/bench_core.sh).
func BenchmarkPythonClient(b *testing.B) {
	for _, p := range interop.Peers(b) {
		b.Run(p.Name+"/go-server", func(b *testing.B) {
			_, addr := startServer(b, server.Threaded)
			runPyClient(b, p, addr, os.Getpid())
		})
		b.Run(p.Name+"/python-server", func(b *testing.B) {
			proc := p.Start(b, "test_service.py")
			addr, err := proc.WaitListening(20 * time.Second)
			if err != nil {
				b.Fatal(err)
			}
			runPyClient(b, p, addr, proc.Pid())
		})
	}
}

// runPyClient runs bench_client.py for b.N calls; serverPid is the process whose CPU time is the
// server's.
func runPyClient(b *testing.B, p interop.Peer, addr string, serverPid int) {
	out := strings.Fields(p.Run(b, "bench_client.py", addr, strconv.Itoa(max(b.N, 1)), "add",
		"--server-pid", strconv.Itoa(serverPid)))
	if len(out) != 4 {
		b.Fatalf("bench_client.py printed %q", out)
	}
	ns, _ := strconv.ParseFloat(out[0], 64)
	perSec, _ := strconv.ParseFloat(out[1], 64)
	serverNs, _ := strconv.ParseFloat(out[2], 64)
	b.ReportMetric(ns, "py-ns/call")
	b.ReportMetric(perSec, "calls/s")
	b.ReportMetric(serverNs/1e3, "server-cpu-us/call")
}
