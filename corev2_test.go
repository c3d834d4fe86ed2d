//go:build unix

package rpyc_test

// Regression tests for the Core v2 connection engine (the Go client side):
//
//   - Close called inside a Go callback that a Python server is running must return at once,
//     as Python's close() does, and the outer call must fail (bug 1);
//   - Close must not wait for a slow callback handler longer than a short grace period (bug 2);
//   - Connect, ConnectStream and classic.Connect must honour the request timeout while probing
//     the dialect of a peer that accepts and never answers (bug 3).
//
// Each failed (by a bounded timeout, never by hanging the test binary) on the engine before
// Core v2.

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorpyc/rpyc"
	"github.com/gorpyc/rpyc/classic"
	"github.com/gorpyc/rpyc/compat"
	"github.com/gorpyc/rpyc/internal/interop"
	"github.com/gorpyc/rpyc/protocol"
)

// closeBound is how long Close may take when a handler is running or when it is called from
// inside a handler: the engine's grace period for running handlers must be below it.
const closeBound = 2 * time.Second

// cv2StartService starts test_service.py under p and returns its address.
func cv2StartService(t *testing.T, p interop.Peer) string {
	t.Helper()
	proc := p.Start(t, "test_service.py")
	addr, err := proc.WaitListening(30 * time.Second)
	if err != nil {
		t.Fatalf("test_service.py: %v", err)
	}
	return addr
}

// cv2Connect connects to a Python server with its dialect named (no probe). The connection is
// closed when the test ends, without ever blocking the test binary: a Close that hangs is
// reported and abandoned.
func cv2Connect(t *testing.T, p interop.Peer, addr string, opts ...rpyc.Option) (*rpyc.Conn, *rpyc.Ref) {
	t.Helper()
	d := compat.V6
	if p.Version[0] == '5' {
		d = compat.V5
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := rpyc.Connect(ctx, addr, append([]rpyc.Option{rpyc.WithDialect(d)}, opts...)...)
	if err != nil {
		t.Fatalf("Connect(%s): %v", addr, err)
	}
	t.Cleanup(func() { cv2CloseWithin(t, c, 3*time.Second, "cleanup Close") })
	root, err := c.Root(ctx)
	if err != nil {
		t.Fatalf("Root: %v", err)
	}
	return c, root
}

// cv2CloseWithin calls c.Close and reports (without waiting further) if it takes longer than d.
func cv2CloseWithin(t *testing.T, c *rpyc.Conn, d time.Duration, what string) (time.Duration, bool) {
	t.Helper()
	start := time.Now()
	done := make(chan struct{})
	go func() { _ = c.Close(); close(done) }()
	select {
	case <-done:
		return time.Since(start), true
	case <-time.After(d):
		t.Errorf("%s: Close did not return within %v", what, d)
		return d, false
	}
}

// TestCoreV2CloseInsideCallback: a Go callback run by a Python server closes the connection. In
// Python, close() inside a callback returns at once and the outer call fails with EOFError; the
// engine before Core v2 deadlocked (Close waited for the reader and the handler it runs in), and
// every later Close with it.
func TestCoreV2CloseInsideCallback(t *testing.T) {
	interop.ForEachPeer(t, func(t *testing.T, p interop.Peer) {
		addr := cv2StartService(t, p)

		// check runs outer (the call that leads Python to run the callback), waits for the
		// callback's Close, then checks a second Close, the outer call's error and Done.
		check := func(t *testing.T, c *rpyc.Conn, entered <-chan struct{}, closed <-chan time.Duration, outer func(ctx context.Context) error) {
			t.Helper()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			outerErr := make(chan error, 1)
			go func() { outerErr <- outer(ctx) }()

			select {
			case <-entered:
			case err := <-outerErr:
				t.Fatalf("the outer call returned (%v) before the callback ran", err)
			case <-time.After(20 * time.Second):
				t.Fatalf("the callback never ran")
			}
			select {
			case d := <-closed:
				if d > closeBound {
					t.Errorf("Close inside the callback took %v, want < %v", d, closeBound)
				}
			case <-time.After(closeBound):
				t.Errorf("Close inside the callback did not return within %v (deadlock: Close waits for the handler it is called from)", closeBound)
			}
			cv2CloseWithin(t, c, closeBound, "second Close after Close inside a callback (blocked behind the first)")

			select {
			case err := <-outerErr:
				if err == nil {
					t.Errorf("the outer call succeeded after its connection was closed inside the callback")
				} else if !errors.Is(err, protocol.ErrClosed) {
					t.Errorf("outer call error = %v, want one matching protocol.ErrClosed (Python: EOFError)", err)
				}
			case <-time.After(5 * time.Second):
				t.Errorf("the outer call did not return within 5 s of Close inside the callback")
			}
			select {
			case <-c.Done():
			case <-time.After(closeBound):
				t.Errorf("Done not closed %v after Close inside a callback", closeBound)
			}
			if !c.Closed() {
				t.Errorf("Closed() = false after Close inside a callback")
			}
		}

		t.Run("Go func argument", func(t *testing.T) {
			c, root := cv2Connect(t, p, addr)
			entered := make(chan struct{})
			closed := make(chan time.Duration, 1)
			cb := func() string {
				close(entered)
				start := time.Now()
				_ = c.Close()
				closed <- time.Since(start)
				return "closed"
			}
			check(t, c, entered, closed, func(ctx context.Context) error {
				_, err := root.CallMethod(ctx, "call_back", cb)
				return err
			})
		})

		t.Run("WithService root", func(t *testing.T) {
			svc := &closingRoot{entered: make(chan struct{}), closed: make(chan time.Duration, 1)}
			c, root := cv2Connect(t, p, addr, rpyc.WithService(svc))
			svc.conn.Store(c)
			// ping_client runs self._conn.root.get_service_name() in Python: our root's method.
			check(t, c, svc.entered, svc.closed, func(ctx context.Context) error {
				_, err := root.CallMethod(ctx, "ping_client")
				return err
			})
		})
	})
}

// closingRoot is a client root whose get_service_name closes its own connection.
type closingRoot struct {
	conn    atomic.Pointer[rpyc.Conn]
	entered chan struct{}
	closed  chan time.Duration
}

func (r *closingRoot) GetServiceName() string {
	close(r.entered)
	start := time.Now()
	if c := r.conn.Load(); c != nil {
		_ = c.Close()
	}
	r.closed <- time.Since(start)
	return "CLOSING"
}

// TestCoreV2CloseDuringSlowCallback: Close while the client serves a callback that ignores its
// context and runs for 10 s must return within the engine's (short) grace period; the engine
// before Core v2 waited for the handler, however long.
func TestCoreV2CloseDuringSlowCallback(t *testing.T) {
	interop.ForEachPeer(t, func(t *testing.T, p interop.Peer) {
		addr := cv2StartService(t, p)
		c, root := cv2Connect(t, p, addr)
		started := make(chan struct{})
		release := make(chan struct{})
		var releaseOnce sync.Once
		t.Cleanup(func() { releaseOnce.Do(func() { close(release) }) })
		slow := func() string {
			close(started)
			select { // ignores the connection's context on purpose
			case <-release:
			case <-time.After(10 * time.Second):
			}
			return "slow"
		}
		res := root.CallMethodAsync("call_back", slow)
		select {
		case <-started:
		case <-time.After(20 * time.Second):
			t.Fatal("the slow callback never started")
		}
		d, ok := cv2CloseWithin(t, c, closeBound, "Close while a 10 s callback runs (waits for the handler beyond any grace period)")
		if ok {
			t.Logf("Close took %v with a 10 s callback running", d)
		}
		// Let the handler go (the engine may have abandoned it already) and make sure Close
		// and Done finish, so nothing outlives the test.
		releaseOnce.Do(func() { close(release) })
		select {
		case <-c.Done():
		case <-time.After(10 * time.Second):
			t.Errorf("Done not closed 10 s after Close and the handler's end")
		}
		select {
		case <-res.Done():
			if res.Err() == nil {
				t.Errorf("call_back(slow) succeeded (%v) although the connection was closed", res.Value())
			}
		case <-time.After(5 * time.Second):
			t.Errorf("call_back(slow) unresolved 5 s after Close")
		}
	})
}

// silentListener accepts TCP connections and never writes (it reads and discards). Everything
// is closed when the test ends.
func silentListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, nc)
			mu.Unlock()
			wg.Add(1)
			go func() { defer wg.Done(); _, _ = io.Copy(io.Discard, nc) }()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, nc := range conns {
			nc.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// returnsWithin runs fn and fails the test if it has not returned after d; a stuck fn is
// abandoned (the test's cleanup closes what it waits on).
func returnsWithin(t *testing.T, d time.Duration, what string, fn func() error) error {
	t.Helper()
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		t.Logf("%s returned after %v: %v", what, time.Since(start).Round(time.Millisecond), err)
		return err
	case <-time.After(d):
		t.Fatalf("%s did not return within %v: the dialect probe ignores the request timeout", what, d)
	}
	return nil
}

// TestCoreV2ProbeHonoursRequestTimeout: against a peer that accepts TCP and never answers,
// connecting with context.Background() and no WithDialect must give up after the request
// timeout (here 500 ms; 30 s by default), instead of waiting forever for the probe's answer.
func TestCoreV2ProbeHonoursRequestTimeout(t *testing.T) {
	const timeout = 500 * time.Millisecond
	const bound = 5 * time.Second // two probes of 500 ms and their dials, with room to spare

	t.Run("rpyc.Connect", func(t *testing.T) {
		addr := silentListener(t)
		err := returnsWithin(t, bound, "rpyc.Connect(Background, silent peer, WithRequestTimeout(500ms))", func() error {
			c, err := rpyc.Connect(context.Background(), addr, rpyc.WithRequestTimeout(timeout))
			if err == nil {
				c.Close()
			}
			return err
		})
		if err == nil {
			t.Fatal("Connect to a silent peer succeeded")
		}
	})

	t.Run("rpyc.ConnectStream", func(t *testing.T) {
		addr := silentListener(t)
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { nc.Close() })
		err = returnsWithin(t, bound, "rpyc.ConnectStream(Background, silent peer, WithRequestTimeout(500ms))", func() error {
			c, err := rpyc.ConnectStream(context.Background(), nc, rpyc.WithRequestTimeout(timeout))
			if err == nil {
				c.Close()
			}
			return err
		})
		if err == nil {
			t.Fatal("ConnectStream to a silent peer succeeded")
		}
	})

	t.Run("classic.Connect", func(t *testing.T) {
		addr := silentListener(t)
		err := returnsWithin(t, bound, "classic.Connect(Background, silent peer, WithRequestTimeout(500ms))", func() error {
			c, err := classic.Connect(context.Background(), addr, classic.WithRequestTimeout(timeout))
			if err == nil {
				c.Close()
			}
			return err
		})
		if err == nil {
			t.Fatal("classic.Connect to a silent peer succeeded")
		}
	})
}
