//go:build unix

package rpyc_test

import (
	"context"
	"crypto/tls"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorpyc/rpyc"
	"github.com/gorpyc/rpyc/internal/interop"
)

// BenchmarkTransportConnect measures what a connection costs over each transport, Go's client
// beside Python's own, both against the same Python server of each version: one cycle is
// connect, root, root.add(1, 2), close (for subproc: start the Python child serving over its
// stdio, ..., close and reap it). It reports the median of the cycles in ms (median-ms) and logs
// Python's median for the same cycle (tox-interop/bench_transports.py). Go connects without
// WithDialect (the dialect is remembered after the first connect, so each connect probes once,
// in the right dialect). Pin it to one core, as the README's figures were:
//
//	taskset -c 0 go test -run '^$' -bench BenchmarkTransportConnect -benchtime 30x -v .
func BenchmarkTransportConnect(b *testing.B) {
	dir := b.TempDir()
	certFile, keyFile, pool := interop.SelfSignedCert(b, dir)
	for _, p := range interop.Peers(b) {
		b.Run(p.Name, func(b *testing.B) {
			_, tcpAddr := startServer(b, p, "--port", "0")
			sock := filepath.Join(dir, strings.ReplaceAll(p.Name, ".", "")+".sock")
			unixProc := p.Start(b, "transport_server.py", "--unix", sock)
			if line, err := unixProc.ReadLine(20 * time.Second); err != nil || !strings.HasPrefix(line, "LISTENING") {
				b.Fatalf("unix server: %q, %v", line, err)
			}
			_, tlsAddr := startServer(b, p, "--port", "0", "--tls", certFile, keyFile)
			script := interop.Script("transport_server.py")
			cases := []struct {
				name, target string
				connect      func(ctx context.Context) (*rpyc.Conn, error)
			}{
				{"tcp", tcpAddr, func(ctx context.Context) (*rpyc.Conn, error) { return rpyc.Connect(ctx, tcpAddr) }},
				{"unix", sock, func(ctx context.Context) (*rpyc.Conn, error) { return rpyc.Connect(ctx, "unix://"+sock) }},
				{"tls", tlsAddr, func(ctx context.Context) (*rpyc.Conn, error) {
					return rpyc.Connect(ctx, tlsAddr, rpyc.WithTLS(&tls.Config{RootCAs: pool}))
				}},
				{"subproc", script, func(ctx context.Context) (*rpyc.Conn, error) {
					return rpyc.ConnectSubproc(ctx, p.Command(context.Background(), script))
				}},
			}
			for _, c := range cases {
				b.Run(c.name, func(b *testing.B) {
					median := connectCycles(b, c.connect)
					b.ReportMetric(median, "median-ms")
					args := []string{c.name, c.target, strconv.Itoa(max(b.N, 5))}
					if c.name == "tls" {
						args = append(args, certFile)
					}
					py := strings.TrimSpace(p.Run(b, "bench_transports.py", args...))
					b.Logf("%s %s connect+root+call+close: Go median %.3f ms, Python %s (%d cycles)", p.Name, c.name, median, py, b.N)
				})
			}
		})
	}
}

// connectCycles runs b.N connect cycles (after one to warm up) and returns their median in ms.
func connectCycles(b *testing.B, connect func(ctx context.Context) (*rpyc.Conn, error)) float64 {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cycle := func() time.Duration {
		start := time.Now()
		conn, err := connect(ctx)
		if err != nil {
			b.Fatal(err)
		}
		root, err := conn.Root(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if n, err := rpyc.As[int](root.CallMethod(ctx, "add", 1, 2)); err != nil || n != 3 {
			b.Fatalf("add = %v, %v", n, err)
		}
		if err := conn.Close(); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	cycle()
	b.ResetTimer()
	times := make([]time.Duration, 0, b.N)
	for range b.N {
		times = append(times, cycle())
	}
	b.StopTimer()
	slices.Sort(times)
	return float64(times[len(times)/2]) / 1e6
}
