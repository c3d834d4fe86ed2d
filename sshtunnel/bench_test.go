//go:build unix

package sshtunnel_test

import (
	"context"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorpyc/rpyc"
	"github.com/gorpyc/rpyc/internal/interop"
	"github.com/gorpyc/rpyc/internal/sshtest"
	"github.com/gorpyc/rpyc/sshtunnel"
)

// BenchmarkSSHConnect: connect + root + one call + close through a real sshd, Go beside Python's
// rpyc.ssh_connect (plumbum's SshMachine, the ssh binary), per peer: "reuse" keeps one login (Go:
// one Client; Python: one SshMachine, though ssh_connect starts a new ssh login per tunnel),
// "oneshot" logs in for each connection. Each reports the median in ms. Run pinned to one core:
//
//	taskset -c 0 go test -run '^$' -bench SSHConnect -benchtime=20x ./sshtunnel
func BenchmarkSSHConnect(b *testing.B) {
	sshd := sshtest.Start(b)
	for _, p := range interop.Peers(b) {
		addr, err := p.Start(b, "test_service.py").WaitListening(30 * time.Second)
		if err != nil {
			b.Fatal(err)
		}
		_, ps, _ := net.SplitHostPort(addr)
		port, _ := strconv.Atoi(ps)
		ctx := context.Background()
		cfg := config(sshd)
		tunnel, err := sshtunnel.Dial(ctx, cfg)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { tunnel.Close() })
		goConnect := map[string]func() (*rpyc.Conn, error){
			"reuse":   func() (*rpyc.Conn, error) { return tunnel.Connect(ctx, port) },
			"oneshot": func() (*rpyc.Conn, error) { return sshtunnel.Connect(ctx, cfg, port) },
		}
		for _, mode := range []string{"reuse", "oneshot"} {
			b.Run(p.Name+"/go-"+mode, func(b *testing.B) {
				times := make([]time.Duration, 0, b.N)
				for range b.N {
					start := time.Now()
					conn, err := goConnect[mode]()
					if err != nil {
						b.Fatal(err)
					}
					root, err := conn.Root(ctx)
					if err != nil {
						b.Fatal(err)
					}
					if n, err := rpyc.As[int](root.CallMethod(ctx, "add", 1, 2)); err != nil || n != 3 {
						b.Fatal(n, err)
					}
					conn.Close()
					times = append(times, time.Since(start))
				}
				slices.Sort(times)
				b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "median-ms")
			})
			b.Run(p.Name+"/python-"+mode, func(b *testing.B) {
				_, sshPort, _ := net.SplitHostPort(sshd.Addr)
				out := p.Run(b, "ssh_connect_bench.py", mode, "127.0.0.1", sshPort, sshd.User, sshd.KeyFile,
					sshd.KnownHosts, ps, strconv.Itoa(b.N))
				ms, ok := strings.CutPrefix(strings.TrimSpace(out), "MEDIAN_MS ")
				v, err := strconv.ParseFloat(ms, 64)
				if !ok || err != nil {
					b.Fatalf("ssh_connect_bench.py printed %q", out)
				}
				b.ReportMetric(v, "median-ms")
			})
		}
	}
}
