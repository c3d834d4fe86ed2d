// Command benchdata is the Go side of tox-interop/bench_data.sh (make bench-data), the "Speed of
// data" figures: a gorpyc server and the clients that time it, each a separate process so that Go
// is measured the way Python is (tox-interop/bench_data.py has the Python twins).
//
//	benchdata server [-raw]                         serve on a free loopback port
//	benchdata echo -addr A [-raw] [-size B] [-n N]   time N echoes of B random bytes
//	benchdata connect -addr A [-n N]                 time N connect + root + get_service_name + close
//	benchdata idle -addr A [-n N]                    hold N idle connections until stdin closes
//
// server announces "LISTENING host:port" and serves until stdin (a pipe) closes or SIGTERM/SIGINT.
// Its root has echo(b) (returns b) and goroutines() (runtime.NumGoroutine, read by the idle
// figure). -raw turns compression off, on either side.
//
// echo prints "<seconds per echo> <MB/s>" (MB = 10^6 bytes, the payload counted once per echo,
// after one untimed warm-up echo); connect prints "<cycles per second>" (after 20 untimed cycles);
// idle prints "OPEN <N>" once every connection has made one call (root and get_service_name), then
// closes them all when its stdin closes and prints "CLOSED". Every echo is checked byte for byte
// and every service name for being non-empty: a wrong answer exits 1.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"github.com/gorpyc/rpyc"
	"github.com/gorpyc/rpyc/server"
)

// Bench is the benchmark service (service name "BENCH", as Python's BenchService).
type Bench struct{}

// Echo returns b.
func (Bench) Echo(b []byte) []byte { return b }

// Goroutines returns the number of goroutines in the server process.
func (Bench) Goroutines() int { return runtime.NumGoroutine() }

// config is the protocol configuration of both sides: the default, or compression off.
func config(raw bool) rpyc.Config {
	cfg := rpyc.DefaultConfig()
	cfg.Channel.DisableCompression = raw
	return cfg
}

// newServer returns a quiet server of svc with config(raw).
func newServer(svc any, raw bool) *server.Server {
	cfg := config(raw)
	return &server.Server{Service: svc, Config: &cfg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

// payload returns n random (incompressible) bytes, the same ones every run.
func payload(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.NewChaCha8([32]byte{12}).Read(b)
	return b
}

// errWrongEcho reports an echo that differs from what was sent.
var errWrongEcho = errors.New("benchdata: echo returned different bytes")

// echoBench makes one connection to addr and times n echoes of size random bytes after one
// warm-up echo; it returns the time per echo.
func echoBench(ctx context.Context, addr string, raw bool, size, n int) (time.Duration, error) {
	conn, err := rpyc.Connect(ctx, addr, rpyc.WithConfig(config(raw)))
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	root, err := conn.Root(ctx)
	if err != nil {
		return 0, err
	}
	data := payload(size)
	echo := func() error {
		got, err := rpyc.As[[]byte](root.CallMethod(ctx, "echo", data))
		if err != nil {
			return fmt.Errorf("benchdata: echo: %w", err)
		}
		if !bytes.Equal(got, data) {
			return fmt.Errorf("%w (%d bytes for %d)", errWrongEcho, len(got), len(data))
		}
		return nil
	}
	if err := echo(); err != nil {
		return 0, err
	}
	start := time.Now()
	for range n {
		if err := echo(); err != nil {
			return 0, err
		}
	}
	return time.Since(start) / time.Duration(max(n, 1)), nil
}

// cycle connects to addr, gets the root, asks its service name and closes.
func cycle(ctx context.Context, addr string) error {
	conn, err := rpyc.Connect(ctx, addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	root, err := conn.Root(ctx)
	if err != nil {
		return err
	}
	name, err := rpyc.As[string](root.CallMethod(ctx, "get_service_name"))
	if err != nil {
		return fmt.Errorf("benchdata: get_service_name: %w", err)
	}
	if name == "" {
		return errors.New("benchdata: empty service name")
	}
	return conn.Close()
}

// connectBench times n connection cycles (after 20 untimed ones) and returns cycles per second.
func connectBench(ctx context.Context, addr string, n int) (float64, error) {
	for range 20 {
		if err := cycle(ctx, addr); err != nil {
			return 0, err
		}
	}
	start := time.Now()
	for range n {
		if err := cycle(ctx, addr); err != nil {
			return 0, err
		}
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// idle opens n connections to addr, each making one call, reports "OPEN n" on out, waits for in
// to close, then closes them all and reports "CLOSED".
func idle(ctx context.Context, addr string, n int, in io.Reader, out io.Writer) error {
	conns := make([]*rpyc.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	for range n {
		c, err := rpyc.Connect(ctx, addr)
		if err != nil {
			return err
		}
		conns = append(conns, c)
		root, err := c.Root(ctx)
		if err != nil {
			return err
		}
		if _, err := root.CallMethod(ctx, "get_service_name"); err != nil {
			return err
		}
	}
	fmt.Fprintln(out, "OPEN", len(conns))
	_, _ = io.Copy(io.Discard, in)
	for _, c := range conns {
		_ = c.Close()
	}
	conns = nil
	fmt.Fprintln(out, "CLOSED")
	return nil
}

// serve serves Bench on ln until ctx ends.
func serve(ctx context.Context, ln net.Listener, raw bool) error {
	srv := newServer(Bench{}, raw)
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	err := srv.Serve(ctx, ln)
	if errors.Is(err, server.ErrServerClosed) {
		return nil
	}
	return err
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: benchdata server|echo|connect|idle [flags]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	addr := fs.String("addr", "", "server address host:port")
	raw := fs.Bool("raw", false, "compression off")
	size := fs.Int("size", 16<<20, "echo payload size in bytes")
	n := fs.Int("n", 3, "timed echoes, connection cycles or idle connections")
	_ = fs.Parse(os.Args[2:])
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	var err error
	switch os.Args[1] {
	case "server":
		var ln net.Listener
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err == nil {
			fmt.Println("LISTENING", ln.Addr())
			go func() { // a parent holding our stdin: its closing ends the server
				_, _ = io.Copy(io.Discard, os.Stdin)
				stop()
			}()
			err = serve(ctx, ln, *raw)
		}
	case "echo":
		var d time.Duration
		if d, err = echoBench(ctx, *addr, *raw, *size, *n); err == nil {
			fmt.Printf("%.6f %.1f\n", d.Seconds(), float64(*size)/d.Seconds()/1e6)
		}
	case "connect":
		var rate float64
		if rate, err = connectBench(ctx, *addr, *n); err == nil {
			fmt.Printf("%.1f\n", rate)
		}
	case "idle":
		err = idle(ctx, *addr, *n, os.Stdin, os.Stdout)
	default:
		err = fmt.Errorf("benchdata: unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
