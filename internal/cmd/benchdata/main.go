// Command benchdata is the Go side of tox-interop/bench_data.sh (make bench-data), the "Speed of
// data" figures: a gorpyc server and the clients that time it, each a separate process so that Go
// is measured the way Python is (tox-interop/bench_data.py has the Python twins).
//
//	benchdata server [-raw]                         serve on a free loopback port
//	benchdata echo -addr A [-raw] [-size B] [-n N] [-mintime D] [-server-pid P]
//	                                                time echoes of B random bytes
//	benchdata connect -addr A [-n N] [-mintime D] [-server-pid P]
//	                                                time connect + root + get_service_name + close
//	benchdata idle -addr A [-n N]                    hold N idle connections until stdin closes
//	benchdata tcpserver | tcpconnect | tcpecho      the same socket work without RPyC (floor.go)
//
// server announces "LISTENING host:port" and serves until stdin (a pipe) closes or SIGTERM/SIGINT.
// Its root has echo(b) (returns b) and goroutines() (runtime.NumGoroutine, read by the idle
// figure). -raw turns compression off, on either side.
//
// echo (after one untimed warm-up echo) and connect (after 20 untimed cycles) run at least N
// operations and for at least D (1 s), and print "<ops> <wall s> <server CPU s> <client CPU s>":
// the CPU times are user + system of the server process P (0: none) and of this client, read from
// /proc/PID/stat (10 ms ticks, exited threads included), so that a figure can also be had that
// other load on the machine does not change;
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
	"math/rand/v2"
	"net"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
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
	return &server.Server{Service: svc, Config: &cfg} // no Logger: nothing logged or formatted
}

// payload returns n random (incompressible) bytes, the same ones every run.
func payload(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.NewChaCha8([32]byte{12}).Read(b)
	return b
}

// errWrongEcho reports an echo that differs from what was sent.
var errWrongEcho = errors.New("benchdata: echo returned different bytes")

// result is one timed loop: ops operations in wall time, using serverCPU in the server process
// and clientCPU in this one.
type result struct {
	ops                        int
	wall, serverCPU, clientCPU time.Duration
}

// String is the line a client mode prints: "<ops> <wall s> <server CPU s> <client CPU s>".
func (r result) String() string {
	return fmt.Sprintf("%d %.6f %.6f %.6f", r.ops, r.wall.Seconds(), r.serverCPU.Seconds(), r.clientCPU.Seconds())
}

// clockTick is the unit of utime and stime in /proc/PID/stat (USER_HZ, 100 on Linux).
const clockTick = 10 * time.Millisecond

// processCPU returns the user + system CPU time of process pid, its exited threads included
// (/proc/PID/stat); 0 where there is no /proc.
func processCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	i := bytes.LastIndexByte(b, ')')
	if err != nil || i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:])) // state ppid pgrp ... utime (12th) stime (13th)
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * clockTick
}

// timed runs op at least minOps times and for at least minTime, and measures it.
func timed(serverPID, minOps int, minTime time.Duration, op func() error) (result, error) {
	s0, c0 := processCPU(serverPID), processCPU(os.Getpid())
	start := time.Now()
	var r result
	for r.ops < minOps || time.Since(start) < minTime {
		if err := op(); err != nil {
			return r, err
		}
		r.ops++
	}
	r.wall = time.Since(start)
	r.serverCPU, r.clientCPU = processCPU(serverPID)-s0, processCPU(os.Getpid())-c0
	return r, nil
}

// echoBench makes one connection to addr and, after one warm-up echo, times echoes of size random
// bytes (at least n, for at least minTime), each checked.
func echoBench(ctx context.Context, addr string, raw bool, size, n int, minTime time.Duration, serverPID int) (result, error) {
	conn, err := rpyc.Connect(ctx, addr, rpyc.WithConfig(config(raw)))
	if err != nil {
		return result{}, err
	}
	defer conn.Close()
	root, err := conn.Root(ctx)
	if err != nil {
		return result{}, err
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
		return result{}, err
	}
	return timed(serverPID, n, minTime, echo)
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

// connectBench times connection cycles (at least n, for at least minTime) after 20 untimed ones.
func connectBench(ctx context.Context, addr string, n int, minTime time.Duration, serverPID int) (result, error) {
	for range 20 {
		if err := cycle(ctx, addr); err != nil {
			return result{}, err
		}
	}
	return timed(serverPID, n, minTime, func() error { return cycle(ctx, addr) })
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
		fmt.Fprintln(os.Stderr, "usage: benchdata server|echo|connect|idle|tcpserver|tcpconnect|tcpecho [flags]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	addr := fs.String("addr", "", "server address host:port")
	raw := fs.Bool("raw", false, "compression off")
	size := fs.Int("size", 16<<20, "echo payload size in bytes")
	n := fs.Int("n", 3, "timed echoes or connection cycles (at least), or idle connections")
	minTime := fs.Duration("mintime", time.Second, "time echoes or connection cycles for at least this long")
	serverPID := fs.Int("server-pid", 0, "process whose CPU time to report (the server's)")
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
		var r result
		if r, err = echoBench(ctx, *addr, *raw, *size, *n, *minTime, *serverPID); err == nil {
			fmt.Println(r)
		}
	case "connect":
		var r result
		if r, err = connectBench(ctx, *addr, *n, *minTime, *serverPID); err == nil {
			fmt.Println(r)
		}
	case "idle":
		err = idle(ctx, *addr, *n, os.Stdin, os.Stdout)
	case "tcpserver":
		var ln net.Listener
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err == nil {
			fmt.Println("LISTENING", ln.Addr())
			go func() {
				_, _ = io.Copy(io.Discard, os.Stdin)
				stop()
			}()
			err = floorServe(ctx, ln)
		}
	case "tcpconnect":
		var r result
		if r, err = floorConnectBench(ctx, *addr, *n, *minTime, *serverPID); err == nil {
			fmt.Println(r)
		}
	case "tcpecho":
		var r result
		if r, err = floorEchoBench(ctx, *addr, *size, *n, *minTime, *serverPID); err == nil {
			fmt.Println(r)
		}
	default:
		err = fmt.Errorf("benchdata: unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
