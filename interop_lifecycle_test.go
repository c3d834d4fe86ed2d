//go:build unix

package rpyc_test

// Timeouts and cancellation, large payloads, concurrency, connection lifecycle, reference counting
// and goroutine leaks, against live Python servers.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorpyc/rpyc"
	"github.com/gorpyc/rpyc/brine"
	"github.com/gorpyc/rpyc/internal/interop"
	"github.com/gorpyc/rpyc/protocol"
)

// waitFor polls cond until it holds or 20 s pass (the last detail is reported on failure).
func waitFor(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var detail string
	for {
		var ok bool
		if ok, detail = cond(); ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s: %s", what, detail)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// within fails the test if fn does not return within d, and returns fn's error.
func within(t *testing.T, d time.Duration, what string, fn func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		t.Fatalf("%s did not return within %v", what, d)
	}
	return nil
}

func TestInteropTimeouts(t *testing.T) {
	interop.ForEachPeer(t, func(t *testing.T, p interop.Peer) {
		s := startService(t, p)

		t.Run("context deadline", func(t *testing.T) {
			c, root := s.root(t)
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			err := within(t, 5*time.Second, "sleep(2) with a 200ms context", func() error {
				_, err := root.CallMethod(ctx, "sleep", 2)
				return err
			})
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("err = %v, want context.DeadlineExceeded", err)
			}
			if errors.Is(err, protocol.ErrClosed) || c.Closed() {
				t.Fatalf("the connection closed: %v", err)
			}
			// The server finishes the sleep, then answers the next request; the late reply of
			// the abandoned one is discarded.
			wantEqual(t, "add after the abandoned call", call(t, root, "add", 1, 2), int64(3))
			wantEqual(t, "echo after the abandoned call", call(t, root, "echo", "x"), "x")
		})

		t.Run("sync request timeout", func(t *testing.T) {
			c, root := s.root(t, rpyc.WithRequestTimeout(300*time.Millisecond))
			err := within(t, 5*time.Second, "sleep(1.5) with a 300ms request timeout", func() error {
				_, err := root.CallMethod(context.Background(), "sleep", 1.5)
				return err
			})
			if !errors.Is(err, protocol.TimeoutError) {
				t.Fatalf("err = %v, want TimeoutError", err)
			}
			if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, protocol.ErrClosed) {
				t.Errorf("err = %v matches DeadlineExceeded or ErrClosed", err)
			}
			if !strings.Contains(err.Error(), "result expired") {
				t.Errorf("err = %q, want Python's 'result expired'", err)
			}
			if c.Closed() {
				t.Fatal("the connection closed")
			}
			// A context with a deadline overrides the request timeout: this waits for the sleep
			// to end on the server, then gets its answer.
			wantEqual(t, "add after the timeout", call(t, root, "add", 20, 22), int64(42))
			// And short requests with the background context still work.
			v, err := root.CallMethod(context.Background(), "add", 1, 1)
			if err != nil {
				t.Fatal(err)
			}
			wantEqual(t, "add with the request timeout", v, int64(2))
		})

		t.Run("cancel mid-call", func(t *testing.T) {
			c, root := s.root(t)
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(200*time.Millisecond, cancel)
			err := within(t, 5*time.Second, "sleep(2) canceled after 200ms", func() error {
				_, err := root.CallMethod(ctx, "sleep", 2)
				return err
			})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v, want context.Canceled", err)
			}
			if c.Closed() {
				t.Fatal("the connection closed")
			}
			wantEqual(t, "add after the canceled call", call(t, root, "add", 2, 2), int64(4))
			// An already canceled context fails at once.
			_, err = root.CallMethod(ctx, "add", 1, 2)
			if !errors.Is(err, context.Canceled) {
				t.Errorf("call with a canceled context: %v", err)
			}
		})

		t.Run("async call", func(t *testing.T) {
			_, root := s.root(t)
			res := root.CallMethodAsync("sleep", 0.3)
			if res.Ready() {
				t.Error("sleep(0.3) ready at once")
			}
			if res.Value() != nil || res.Err() != nil {
				t.Errorf("unready result has value %v err %v", res.Value(), res.Err())
			}
			v, err := res.Wait(ctxFor(t, callTimeout))
			if err != nil {
				t.Fatal(err)
			}
			wantEqual(t, "sleep(0.3)", v, 0.3)
			if !res.Ready() {
				t.Error("not Ready after Wait")
			}
			select {
			case <-res.Done():
			default:
				t.Error("Done not closed after Wait")
			}
			wantEqual(t, "Value", res.Value(), 0.3)
			// Several async calls in flight on one connection, answered in order by Python.
			results := make([]any, 10)
			pending := make([]interface {
				Wait(context.Context) (any, error)
			}, 10)
			for i := range pending {
				pending[i] = root.CallMethodAsync("add", i, i)
			}
			for i, r := range pending {
				v, err := r.Wait(ctxFor(t, callTimeout))
				if err != nil {
					t.Fatal(err)
				}
				results[i] = v
			}
			for i, v := range results {
				wantEqual(t, fmt.Sprintf("async add(%d, %d)", i, i), v, int64(2*i))
			}
			// An async call that raises.
			_, err = root.CallMethodAsync("raise", "zero").Wait(ctxFor(t, callTimeout))
			remoteError(t, err, "builtins", "ZeroDivisionError")
			// CallAsync on a callable reference (a bound method).
			add := refOf(t, mustGetAttr(t, root, "add"))
			v, err = add.CallAsync(5, 6).Wait(ctxFor(t, callTimeout))
			if err != nil {
				t.Fatal(err)
			}
			wantEqual(t, "add.CallAsync(5, 6)", v, int64(11))
			// Giving up on Wait does not break the result or the connection.
			slow := root.CallMethodAsync("sleep", 0.5)
			short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			if _, err := slow.Wait(short); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Wait(50ms) = %v, want DeadlineExceeded", err)
			}
			v, err = slow.Wait(ctxFor(t, callTimeout))
			if err != nil {
				t.Fatal(err)
			}
			wantEqual(t, "sleep(0.5) after a short Wait", v, 0.5)
		})
	})
}

func TestInteropLargePayloads(t *testing.T) {
	interop.ForEachPeer(t, func(t *testing.T, p interop.Peer) {
		s := startService(t, p)
		_, root := s.root(t)

		str, err := rpyc.As[string](root.CallMethod(ctxFor(t, callTimeout), "big", 1_000_000))
		if err != nil {
			t.Fatal(err)
		}
		if len(str) != 1_000_000 || strings.Trim(str, "x") != "" {
			t.Errorf("big(1000000): %d chars, not all 'x'", len(str))
		}
		b, err := rpyc.As[[]byte](root.CallMethod(ctxFor(t, callTimeout), "big_bytes", 2_000_000))
		if err != nil {
			t.Fatal(err)
		}
		if len(b) != 2_000_000/256*256 {
			t.Fatalf("big_bytes(2000000): %d bytes, want %d", len(b), 2_000_000/256*256)
		}
		for i, c := range b {
			if c != byte(i) {
				t.Fatalf("big_bytes byte %d = %d", i, c)
			}
		}

		rnd := rand.New(rand.NewPCG(1, 2))
		payload := make([]byte, 500_000) // incompressible: travels in a large uncompressed frame
		for i := range payload {
			payload[i] = byte(rnd.Uint32())
		}
		got, err := rpyc.As[[]byte](root.CallMethod(ctxFor(t, callTimeout), "echo", payload))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, payload) {
			t.Errorf("echo of 500 KB of bytes differs (len %d)", len(got))
		}
		var sb strings.Builder // non-ASCII text with some variety
		for sb.Len() < 500_000 {
			sb.WriteString("gorpyc ✓ héllo 日本 ")
			fmt.Fprintf(&sb, "%d ", rnd.IntN(1000))
		}
		text := sb.String()
		gs, err := rpyc.As[string](root.CallMethod(ctxFor(t, callTimeout), "echo", text))
		if err != nil {
			t.Fatal(err)
		}
		if gs != text {
			t.Errorf("echo of a %d-byte str differs (got %d bytes)", len(text), len(gs))
		}
		n, err := rpyc.As[int](root.CallMethod(ctxFor(t, callTimeout), "length", text))
		if err != nil || n != len([]rune(text)) {
			t.Errorf("len(str) in Python = %d, %v; want %d code points", n, err, len([]rune(text)))
		}
		// A big tuple of many small items, both ways.
		tup := make(brine.Tuple, 100_000)
		for i := range tup {
			tup[i] = i
		}
		got2, err := rpyc.As[[]int](root.CallMethod(ctxFor(t, callTimeout), "echo", tup))
		if err != nil || len(got2) != len(tup) || got2[99_999] != 99_999 {
			t.Errorf("echo of a 100000-tuple: %d items, %v", len(got2), err)
		}
		// A large Python list, iterated in BUFFITER batches.
		l := refOf(t, call(t, root, "get_list", 20_000))
		items := collect(t, l)
		if len(items) != 20_000 || items[19_999] != int64(19_999) {
			t.Errorf("list(range(20000)) via Iter: %d items", len(items))
		}
	})
}

func TestInteropConcurrency(t *testing.T) {
	interop.ForEachPeer(t, func(t *testing.T, p interop.Peer) {
		s := startService(t, p)

		t.Run("one connection", func(t *testing.T) {
			_, root := s.root(t)
			const goroutines, calls = 64, 20
			var wg sync.WaitGroup
			errs := make(chan error, goroutines*calls)
			ctx := ctxFor(t, 2*testTimeout)
			for g := range goroutines {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range calls {
						a, b := g*1000+i, g*7+1
						v, err := rpyc.As[int](root.CallMethod(ctx, "add", a, b))
						if err != nil {
							errs <- fmt.Errorf("add(%d, %d): %w", a, b, err)
							return
						}
						if v != a+b {
							errs <- fmt.Errorf("add(%d, %d) = %d", a, b, v)
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
		})

		t.Run("many connections", func(t *testing.T) {
			const conns, goroutines, calls = 8, 16, 10
			roots := make([]*rpyc.Ref, conns)
			for i := range roots {
				_, roots[i] = s.root(t)
			}
			var wg sync.WaitGroup
			errs := make(chan error, conns*goroutines*calls)
			ctx := ctxFor(t, 2*testTimeout)
			for ci, root := range roots {
				for g := range goroutines {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := range calls {
							word := fmt.Sprintf("c%d-g%d-i%d", ci, g, i)
							v, err := rpyc.As[string](root.CallMethod(ctx, "add", word, "!"))
							if err != nil {
								errs <- fmt.Errorf("%s: %w", word, err)
								return
							}
							if v != word+"!" {
								errs <- fmt.Errorf("add(%q, '!') = %q", word, v)
							}
							// And a netref round trip now and then.
							if i%5 == 0 {
								l, err := root.CallMethod(ctx, "get_list", g)
								if err != nil {
									errs <- err
									return
								}
								lr := l.(*rpyc.Ref)
								n, err := lr.Len(ctx)
								lr.Release()
								if err != nil || n != g {
									errs <- fmt.Errorf("len(get_list(%d)) = %d, %v", g, n, err)
								}
							}
						}
					}()
				}
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
		})

		t.Run("callbacks from many goroutines", func(t *testing.T) {
			_, root := s.root(t)
			var wg sync.WaitGroup
			errs := make(chan error, 16*5)
			ctx := ctxFor(t, 2*testTimeout)
			for g := range 16 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					f := func(x int) int { return x + g }
					for i := range 5 {
						v, err := rpyc.As[int](root.CallMethod(ctx, "call_back_twice", f, i))
						if err != nil {
							errs <- err
							return
						}
						if v != i+2*g {
							errs <- fmt.Errorf("goroutine %d: call_back_twice(f, %d) = %d", g, i, v)
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
		})
	})
}

func TestInteropLifecycle(t *testing.T) {
	interop.ForEachPeer(t, func(t *testing.T, p interop.Peer) {
		s := startService(t, p)

		t.Run("dialect and ping", func(t *testing.T) {
			c, _ := s.root(t)
			if d := c.Dialect(); d != wantDialect(p) {
				t.Errorf("Dialect() = %v, want %v", d, wantDialect(p))
			}
			ctx := ctxFor(t, callTimeout)
			for _, data := range []any{nil, "x", brine.Tuple{1, "é", []byte{0}}, 123456789012} {
				if err := c.Ping(ctx, data); err != nil {
					t.Errorf("Ping(%v): %v", data, err)
				}
			}
			// WithDialect with the right dialect skips the probe.
			c2, root2 := s.root(t, rpyc.WithDialect(wantDialect(p)))
			if c2.Dialect() != wantDialect(p) {
				t.Errorf("Dialect() = %v", c2.Dialect())
			}
			wantEqual(t, "add over the explicit dialect", call(t, root2, "add", 1, 2), int64(3))
		})

		t.Run("close then request", func(t *testing.T) {
			c, root := s.root(t)
			l := refOf(t, call(t, root, "get_list", 3))
			if err := within(t, 10*time.Second, "Close", c.Close); err != nil {
				t.Errorf("Close: %v", err)
			}
			if !c.Closed() || !errors.Is(c.Err(), protocol.ErrClosed) {
				t.Errorf("Closed() = %v, Err() = %v", c.Closed(), c.Err())
			}
			select {
			case <-c.Done():
			default:
				t.Error("Done not closed after Close")
			}
			ctx := ctxFor(t, callTimeout)
			if _, err := root.CallMethod(ctx, "add", 1, 2); !errors.Is(err, protocol.ErrClosed) {
				t.Errorf("call after Close: %v, want ErrClosed", err)
			}
			if _, err := l.Len(ctx); !errors.Is(err, protocol.ErrClosed) {
				t.Errorf("Len after Close: %v, want ErrClosed", err)
			}
			if err := c.Ping(ctx, nil); !errors.Is(err, protocol.ErrClosed) {
				t.Errorf("Ping after Close: %v, want ErrClosed", err)
			}
			if _, err := root.CallMethodAsync("add", 1, 2).Wait(ctx); !errors.Is(err, protocol.ErrClosed) {
				t.Errorf("async call after Close: %v, want ErrClosed", err)
			}
			if err := c.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
			l.Release() // no-op on a closed connection; must not panic or block
		})

		t.Run("close with a pending request", func(t *testing.T) {
			c, root := s.root(t)
			done := make(chan error, 1)
			go func() {
				_, err := root.CallMethod(ctxFor(t, callTimeout), "sleep", 5)
				done <- err
			}()
			time.Sleep(300 * time.Millisecond) // let the request go out
			start := time.Now()
			if err := within(t, 10*time.Second, "Close", c.Close); err != nil {
				t.Errorf("Close: %v", err)
			}
			select {
			case err := <-done:
				if !errors.Is(err, protocol.ErrClosed) {
					t.Errorf("pending request: %v, want ErrClosed", err)
				}
			case <-time.After(3 * time.Second):
				t.Fatal("the pending request did not fail within 3s of Close")
			}
			if d := time.Since(start); d > 4*time.Second {
				t.Errorf("Close + failing the pending request took %v", d)
			}
		})

		t.Run("server killed mid-call", func(t *testing.T) {
			victim := startService(t, p)
			c, root := victim.root(t)
			done := make(chan error, 1)
			go func() {
				_, err := root.CallMethod(ctxFor(t, callTimeout), "sleep", 10)
				done <- err
			}()
			time.Sleep(300 * time.Millisecond)
			if err := syscall.Kill(victim.proc.Pid(), syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-done:
				if !errors.Is(err, protocol.ErrClosed) {
					t.Errorf("pending request: %v, want ErrClosed", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the pending request did not fail within 5s of the kill")
			}
			select {
			case <-c.Done():
			case <-time.After(5 * time.Second):
				t.Fatal("Done not closed after the peer died")
			}
			if !errors.Is(c.Err(), protocol.ErrClosed) {
				t.Errorf("Err() = %v, want ErrClosed", c.Err())
			}
			if _, err := root.CallMethod(ctxFor(t, callTimeout), "add", 1, 2); !errors.Is(err, protocol.ErrClosed) {
				t.Errorf("call after the peer died: %v, want ErrClosed", err)
			}
			if err := within(t, 5*time.Second, "Close", c.Close); err != nil {
				t.Logf("Close after the peer died: %v", err)
			}
		})

		t.Run("wrong dialect", func(t *testing.T) {
			ctx := ctxFor(t, callTimeout)
			var c *rpyc.Conn
			err := within(t, 10*time.Second, "Connect with the wrong dialect", func() error {
				var err error
				c, err = rpyc.Connect(ctx, s.addr, rpyc.WithDialect(otherDialect(p)))
				return err
			})
			// WithDialect skips the probe: Connect itself sends nothing and succeeds.
			if err != nil {
				t.Fatalf("Connect with WithDialect(%v): %v", otherDialect(p), err)
			}
			defer c.Close()
			if c.Dialect() != otherDialect(p) {
				t.Errorf("Dialect() = %v", c.Dialect())
			}
			// The server cannot parse the first request: it sends CLOSE in its own envelope and
			// hangs up. The Go side cannot parse that either; the request fails at once with a
			// protocol error, and the connection is closed.
			err = within(t, 10*time.Second, "first request with the wrong dialect", func() error {
				_, err := c.Root(ctx)
				return err
			})
			if !errors.Is(err, protocol.ErrClosed) || !errors.Is(err, protocol.ErrProtocol) {
				t.Fatalf("GETROOT in the wrong dialect: %v, want ErrClosed and ErrProtocol", err)
			}
			select {
			case <-c.Done():
			case <-time.After(5 * time.Second):
				t.Fatal("Done not closed after the protocol error")
			}
			if !errors.Is(c.Err(), protocol.ErrProtocol) {
				t.Errorf("Err() = %v, want ErrProtocol", c.Err())
			}
			if err := c.Ping(ctx, nil); !errors.Is(err, protocol.ErrClosed) {
				t.Errorf("Ping after the protocol error: %v, want ErrClosed", err)
			}
			// The probe of a plain Connect finds the right dialect on the same server.
			c2, root := s.root(t)
			if c2.Dialect() != wantDialect(p) {
				t.Errorf("probed Dialect() = %v, want %v", c2.Dialect(), wantDialect(p))
			}
			wantEqual(t, "add after the probe", call(t, root, "add", 1, 2), int64(3))
		})

		t.Run("closed port", func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			ln.Close()
			err = within(t, 5*time.Second, "Connect to a closed port", func() error {
				c, err := rpyc.Connect(ctxFor(t, callTimeout), addr)
				if err == nil {
					c.Close()
				}
				return err
			})
			if !errors.Is(err, syscall.ECONNREFUSED) {
				t.Errorf("Connect(%s) = %v, want ECONNREFUSED", addr, err)
			}
		})

		t.Run("ipv6", func(t *testing.T) {
			ln, err := net.Listen("tcp", "[::1]:0")
			if err != nil {
				t.Skipf("IPv6 loopback unavailable: %v", err)
			}
			ln.Close()
			s6 := startService(t, p, "--host", "::1")
			if !strings.HasPrefix(s6.addr, "[::1]:") {
				t.Fatalf("address %q", s6.addr)
			}
			c, root := s6.root(t)
			if c.Dialect() != wantDialect(p) {
				t.Errorf("Dialect() = %v", c.Dialect())
			}
			wantEqual(t, "add over IPv6", call(t, root, "add", 6, 6), int64(12))
			f := func(x int) int { return -x }
			wantEqual(t, "callback over IPv6", call(t, root, "call_back", f, 6), int64(-6))
		})
	})
}

// localObjects is how many objects the Python side of the connection exports.
func localObjects(t *testing.T, root *rpyc.Ref) int {
	t.Helper()
	return callAs[int](t, root, "local_objects")
}

func TestInteropRefCounting(t *testing.T) {
	interop.ForEachPeer(t, func(t *testing.T, p interop.Peer) {
		s := startService(t, p)
		c, root := s.root(t)
		base := localObjects(t, root)
		if base < 1 {
			t.Fatalf("baseline %d objects: the root should be there", base)
		}

		t.Run("released", func(t *testing.T) {
			ctx := ctxFor(t, testTimeout)
			for i := range 200 {
				v, err := root.CallMethod(ctx, "get_list", i%7)
				if err != nil {
					t.Fatal(err)
				}
				l := v.(*rpyc.Ref)
				if i%10 == 0 { // use some of them
					if n, err := l.Len(ctx); err != nil || n != i%7 {
						t.Fatalf("Len = %d, %v", n, err)
					}
				}
				l.Release()
				if !l.Released() {
					t.Fatal("Released() false after Release")
				}
			}
			waitFor(t, "the Python object table to return to its baseline", func() (bool, string) {
				n := localObjects(t, root)
				return n == base, fmt.Sprintf("%d objects, baseline %d", n, base)
			})
			// A released Ref refuses further use.
			v, err := root.CallMethod(ctx, "get_list", 1)
			if err != nil {
				t.Fatal(err)
			}
			l := v.(*rpyc.Ref)
			l.Release()
			l.Release() // idempotent
			if _, err := l.Len(ctx); err == nil {
				t.Error("Len on a released Ref succeeded")
			}
		})

		t.Run("same object twice", func(t *testing.T) {
			// The same Python object returned twice comes back as one Ref holding two
			// references; one Release gives both back.
			l := refOf(t, call(t, root, "get_list", 2))
			again := call(t, root, "echo", l).(*rpyc.Ref)
			if again != l {
				t.Errorf("the same object came back as a different Ref")
			}
			res := call(t, root, "resource").(*rpyc.Ref)
			if _, err := res.Enter(ctxFor(t, callTimeout)); err != nil { // returns self
				t.Fatal(err)
			}
			if _, err := res.Exit(ctxFor(t, callTimeout), nil); err != nil {
				t.Fatal(err)
			}
			if n := localObjects(t, root); n != base+2 {
				t.Errorf("%d objects with a list and a resource held, want %d", n, base+2)
			}
			l.Release()
			res.Release()
			waitFor(t, "the Python object table to return to its baseline", func() (bool, string) {
				n := localObjects(t, root)
				return n == base, fmt.Sprintf("%d objects, baseline %d", n, base)
			})
		})

		t.Run("iteration releases its iterator", func(t *testing.T) {
			l := call(t, root, "get_list", 30).(*rpyc.Ref)
			g := call(t, root, "gen", 30).(*rpyc.Ref)
			if n := len(collect(t, l)) + len(collect(t, g)); n != 60 {
				t.Errorf("%d items", n)
			}
			l.Release()
			g.Release()
			waitFor(t, "the Python object table to return to its baseline", func() (bool, string) {
				n := localObjects(t, root)
				return n == base, fmt.Sprintf("%d objects, baseline %d", n, base)
			})
		})

		t.Run("dropped without Release", func(t *testing.T) {
			func() {
				for range 20 {
					_ = call(t, root, "get_list", 3).(*rpyc.Ref).ID() // dropped at once
				}
			}()
			waitFor(t, "unreachable Refs to be released by their cleanup", func() (bool, string) {
				runtime.GC()
				n := localObjects(t, root)
				return n == base, fmt.Sprintf("%d objects, baseline %d", n, base)
			})
		})

		t.Run("Go objects exported to Python", func(t *testing.T) {
			goBase := c.LocalObjects()
			for i := range 50 {
				f := func(x int) int { return x + i }
				wantEqual(t, "call_back", call(t, root, "call_back", f, 1), int64(1+i))
			}
			waitFor(t, "the Go object table to return to its baseline", func() (bool, string) {
				n := c.LocalObjects()
				return n == goBase, fmt.Sprintf("%d objects, baseline %d", n, goBase)
			})
		})
	})
}

func TestInteropGoroutineLeaks(t *testing.T) {
	interop.ForEachPeer(t, func(t *testing.T, p interop.Peer) {
		s := startService(t, p)
		runtime.GC()
		base := runtime.NumGoroutine()

		func() {
			ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
			defer cancel()
			c, err := rpyc.Connect(ctx, s.addr, rpyc.WithService(&clientRoot{}))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			root, err := c.Root(ctx)
			if err != nil {
				t.Fatal(err)
			}
			// Callbacks, nested ones and the client's root.
			f := func(x int) int { return x + 1 }
			if v, err := rpyc.As[int](root.CallMethod(ctx, "call_back_twice", f, 1)); err != nil || v != 3 {
				t.Errorf("call_back_twice = %v, %v", v, err)
			}
			if v, err := rpyc.As[string](root.CallMethod(ctx, "ping_client")); err != nil || v != "GO-CLIENT" {
				t.Errorf("ping_client = %v, %v", v, err)
			}
			// Async calls, one abandoned.
			a1 := root.CallMethodAsync("add", 1, 2)
			_ = root.CallMethodAsync("sleep", 0.2)
			if v, err := a1.Wait(ctx); err != nil || v != int64(3) {
				t.Errorf("async add = %v, %v", v, err)
			}
			// Iteration, one broken off early.
			l, err := root.CallMethod(ctx, "get_list", 50)
			if err != nil {
				t.Fatal(err)
			}
			lr := l.(*rpyc.Ref)
			n := 0
			for _, err := range lr.Iter(ctx) {
				if err != nil {
					t.Fatal(err)
				}
				n++
			}
			for range lr.Iter(ctx) {
				break
			}
			if n != 50 {
				t.Errorf("%d items", n)
			}
			lr.Release()
			// A timed-out request and a callback panic.
			short, cancelShort := context.WithTimeout(ctx, 50*time.Millisecond)
			_, _ = root.CallMethod(short, "sleep", 0.3)
			cancelShort()
			_, _ = root.CallMethod(ctx, "call_back", func() { panic("leak test") })
			if err := c.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		}()

		waitFor(t, "goroutines to return to the baseline", func() (bool, string) {
			runtime.GC()
			n := runtime.NumGoroutine()
			if n <= base {
				return true, ""
			}
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			return false, fmt.Sprintf("%d goroutines, baseline %d:\n%s", n, base, buf)
		})
	})
}
