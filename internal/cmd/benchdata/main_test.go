package main

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// startServer serves svc (with compression off when raw) on a loopback port until the test ends.
func startServer(t *testing.T, svc any, raw bool) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := newServer(svc, raw)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.Background(), ln) }()
	t.Cleanup(func() {
		_ = srv.Close()
		<-done
	})
	return ln.Addr().String()
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestEchoAndConnect runs what make bench-data runs, briefly: echoes (compressed and not) and
// connection cycles against the benchmark server.
func TestEchoAndConnect(t *testing.T) {
	ctx := testContext(t)
	for _, raw := range []bool{false, true} {
		addr := startServer(t, Bench{}, raw)
		if r, err := echoBench(ctx, addr, raw, 1<<20, 2, 0, os.Getpid()); err != nil || r.ops != 2 || r.wall <= 0 {
			t.Fatalf("echoBench(raw=%v) = %v, %v", raw, r, err)
		}
		if r, err := connectBench(ctx, addr, 5, 0, os.Getpid()); err != nil || r.ops != 5 || r.wall <= 0 {
			t.Fatalf("connectBench = %v, %v", r, err)
		}
	}
}

// corrupt is a service whose echo flips one byte.
type corrupt struct{}

func (corrupt) Echo(b []byte) []byte {
	out := append([]byte(nil), b...)
	out[len(out)/2] ^= 1
	return out
}

// TestEchoDetectsCorruption: a server answering with different bytes makes the echo benchmark fail.
func TestEchoDetectsCorruption(t *testing.T) {
	addr := startServer(t, corrupt{}, false)
	if _, err := echoBench(testContext(t), addr, false, 64<<10, 1, 0, 0); !errors.Is(err, errWrongEcho) {
		t.Fatalf("echoBench against a corrupting server: %v, want errWrongEcho", err)
	}
}

// TestIdle opens idle connections, each making a call, and closes them when its input ends.
func TestIdle(t *testing.T) {
	addr := startServer(t, Bench{}, false)
	var out strings.Builder
	if err := idle(testContext(t), addr, 3, strings.NewReader(""), &out); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "OPEN 3\nCLOSED\n" {
		t.Fatalf("idle printed %q", got)
	}
}

// TestProcessCPU: a busy loop shows in this process's CPU time (within 10 s, however loaded the
// machine), and a missing process has none.
func TestProcessCPU(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	c0 := processCPU(os.Getpid())
	start := time.Now()
	for processCPU(os.Getpid())-c0 < 30*time.Millisecond {
		if time.Since(start) > 10*time.Second {
			t.Fatalf("a 10 s busy loop counted %v of CPU", processCPU(os.Getpid())-c0)
		}
	}
	if d := processCPU(1 << 30); d != 0 {
		t.Errorf("CPU of a missing process: %v", d)
	}
}

// TestFloor runs the floor modes briefly against floorServe, and checks that a server answering
// with other bytes makes them fail.
func TestFloor(t *testing.T) {
	ctx := testContext(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- floorServe(sctx, ln) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("floorServe: %v", err)
		}
	})
	addr := ln.Addr().String()
	if r, err := floorConnectBench(ctx, addr, 5, 0, os.Getpid()); err != nil || r.ops != 5 {
		t.Fatalf("floorConnectBench = %v, %v", r, err)
	}
	if r, err := floorEchoBench(ctx, addr, 1<<20, 2, 0, os.Getpid()); err != nil || r.ops != 2 {
		t.Fatalf("floorEchoBench = %v, %v", r, err)
	}

	// A server that flips a byte of every message.
	bad, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	go func() {
		for {
			c, err := bad.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				var buf []byte
				for {
					var rerr error
					if buf, rerr = readMsg(c, buf); rerr != nil {
						return
					}
					buf[len(buf)/2] ^= 1
					if writeMsg(c, buf) != nil {
						return
					}
				}
			}()
		}
	}()
	if err := floorCycle(ctx, bad.Addr().String()); !errors.Is(err, errFloorEcho) {
		t.Fatalf("floorCycle against a corrupting server = %v, want errFloorEcho", err)
	}
	if _, err := floorEchoBench(ctx, bad.Addr().String(), 4096, 1, 0, 0); !errors.Is(err, errFloorEcho) {
		t.Fatalf("floorEchoBench against a corrupting server = %v, want errFloorEcho", err)
	}
}
