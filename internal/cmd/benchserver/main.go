// Command benchserver is the Go side of tox-interop/bench_server.sh: a gorpyc server with the
// two methods that tox-interop/bench_client.py calls (add and echo), on a free loopback port,
// announced as "LISTENING host:port". It runs until killed.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"

	"github.com/gorpyc/rpyc/server"
)

// Bench is the benchmark service.
type Bench struct{}

// Add returns a + b.
func (Bench) Add(a, b int) int { return a + b }

// Echo returns its argument.
func (Bench) Echo(v any) any { return v }

func main() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("LISTENING", ln.Addr())
	srv := &server.Server{Service: Bench{}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	_ = srv.Serve(context.Background(), ln)
}
