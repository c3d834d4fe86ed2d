// Command benchserver is the Go side of tox-interop/bench_server.sh and bench_core.sh: a gorpyc
// server with the two methods that tox-interop/bench_client.py calls (add and echo), on a free
// loopback port, announced as "LISTENING host:port". It runs until killed (SIGTERM or SIGINT end
// it cleanly) or, when its stdin is a pipe, until stdin closes.
//
//	benchserver [-cpuprofile FILE]
//
// -cpuprofile writes a Go CPU profile of the whole run to FILE when the server is stopped, for
// `go tool pprof -top benchserver FILE`.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/gorpyc/rpyc/server"
)

// Bench is the benchmark service.
type Bench struct{}

// Add returns a + b.
func (Bench) Add(a, b int) int { return a + b }

// Echo returns its argument.
func (Bench) Echo(v any) any { return v }

func main() {
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile to this file on exit")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer f.Close()
		defer pprof.StopCPUProfile()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("LISTENING", ln.Addr())
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if st, err := os.Stdin.Stat(); err == nil && st.Mode()&os.ModeNamedPipe != 0 {
		go func() { // a parent holding our stdin: its closing ends the server
			_, _ = io.Copy(io.Discard, os.Stdin)
			stop()
		}()
	}
	srv := &server.Server{Service: Bench{}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	_ = srv.Serve(ctx, ln)
}
