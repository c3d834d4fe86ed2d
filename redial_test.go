//go:build unix

package rpyc_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/gorpyc/rpyc"
	"github.com/gorpyc/rpyc/internal/interop"
)

// TestInteropRedialer: a Redialer keeps its connection while it is open; when the Python server
// (either version) is killed, Conn with the server gone returns ctx's error; once the server
// is started again on the same port, the next Conn connects anew.
func TestInteropRedialer(t *testing.T) {
	interop.ForEachPeer(t, func(t *testing.T, p interop.Peer) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		proc, addr := startServer(t, p, "--port", "0")
		r := rpyc.NewRedialer(addr, rpyc.WithDialTimeout(time.Second))
		r.MinBackoff, r.MaxBackoff = 20*time.Millisecond, 200*time.Millisecond
		defer r.Close()
		call := func(c *rpyc.Conn) {
			t.Helper()
			root, err := c.Root(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if n, err := rpyc.As[int](root.CallMethod(ctx, "add", 20, 22)); err != nil || n != 42 {
				t.Fatalf("add = %v, %v", n, err)
			}
		}
		c1, err := r.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		call(c1)
		if again, err := r.Conn(ctx); err != nil || again != c1 {
			t.Fatalf("Conn while the connection is open = %p, %v; want the same %p", again, err, c1)
		}

		// Kill the server: the connection ends; with the server gone, Conn gives up with ctx.
		_ = proc.Cmd.Process.Kill()
		<-proc.Done()
		select {
		case <-c1.Done():
		case <-time.After(10 * time.Second):
			t.Fatal("the connection did not end when the server was killed")
		}
		short, stop := context.WithTimeout(ctx, 300*time.Millisecond)
		_, err = r.Conn(short)
		stop()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Conn with the server gone: %v, want context.DeadlineExceeded", err)
		}
		t.Logf("with the server gone: %v", err)

		// Start it again on the same port: the next Conn connects.
		_, port, _ := net.SplitHostPort(addr)
		startServer(t, p, "--port", port)
		c2, err := r.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if c2 == c1 {
			t.Fatal("Conn returned the dead connection")
		}
		call(c2)
		if err := r.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if _, err := r.Conn(ctx); !errors.Is(err, rpyc.ErrClosed) {
			t.Errorf("Conn after Close: %v, want ErrClosed", err)
		}
	})
}

// TestRedialerCloseWhileWaiting: Close ends a Conn waiting between attempts at once, with
// ErrClosed, whatever its context and backoff.
func TestRedialerCloseWhileWaiting(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens: every attempt is refused
	r := rpyc.NewRedialer(addr, rpyc.WithDialTimeout(time.Second))
	r.MinBackoff = time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	got := make(chan error, 1)
	go func() {
		_, err := r.Conn(ctx)
		got <- err
	}()
	time.Sleep(100 * time.Millisecond) // let it fail once and wait
	r.Close()
	select {
	case err := <-got:
		if !errors.Is(err, rpyc.ErrClosed) {
			t.Fatalf("Conn after Close: %v, want ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not end the waiting Conn")
	}
}
