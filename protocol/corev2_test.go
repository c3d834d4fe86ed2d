package protocol_test

// Regression tests for the Core v2 connection engine at the protocol level (Go peers on both
// ends of a loopback TCP connection, no Python):
//
//   - Close called inside a handler (a service method, or a callback the peer runs) returns at
//     once, the caller's pending request fails, and a second Close returns too (bug 1);
//   - Close waits for a handler that ignores its context no longer than a short grace period
//     (bug 2);
//   - OnDisconnect runs exactly once, and only after OnConnect returned, also when the peer goes
//     away or Close is called while OnConnect runs (bug 4).
//
// Each failed (by a bounded timeout, never by hanging the test binary) on the engine before
// Core v2.

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorpyc/rpyc/channel"
	"github.com/gorpyc/rpyc/compat"
	"github.com/gorpyc/rpyc/netref"
	"github.com/gorpyc/rpyc/protocol"
	"github.com/gorpyc/rpyc/pyobj"
)

// closeBound is how long Close may take when a handler is running or when it is called from
// inside a handler: the engine's grace period for running handlers must be below it.
const closeBound = 2 * time.Second

// tcpPair returns both ends of a loopback TCP connection (client, server side).
func tcpPair(t *testing.T) (net.Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			accepted <- nil
			return
		}
		accepted <- nc
	}()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	srv := <-accepted
	if srv == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { client.Close(); srv.Close() })
	return client, srv
}

// within runs fn and reports an error if it has not returned after d (fn is then abandoned).
// It returns how long fn took and whether it returned in time.
func within(t *testing.T, d time.Duration, what string, fn func()) (time.Duration, bool) {
	t.Helper()
	start := time.Now()
	done := make(chan struct{})
	go func() { fn(); close(done) }()
	select {
	case <-done:
		return time.Since(start), true
	case <-time.After(d):
		t.Errorf("%s did not return within %v", what, d)
		return d, false
	}
}

// closeAtEnd closes c when the test ends, bounded.
func closeAtEnd(t *testing.T, c *protocol.Conn, what string) {
	t.Cleanup(func() { within(t, 5*time.Second, "cleanup: Close of the "+what, func() { _ = c.Close() }) })
}

// goPair connects a Go client (dialect v5, serving clientRoot) to a Go server connection
// (dialect detected, serving serverRoot) over loopback TCP.
func goPair(t *testing.T, clientRoot, serverRoot any) (client, server *protocol.Conn) {
	t.Helper()
	cnc, snc := tcpPair(t)
	scfg := protocol.DefaultConfig()
	server = protocol.New(channel.New(snc, scfg.Channel), serverRoot, scfg, protocol.WithObjects(pyobj.Handler{}))
	closeAtEnd(t, server, "server connection")
	ccfg := protocol.DefaultConfig()
	ccfg.Dialect = compat.V5
	client = protocol.New(channel.New(cnc, ccfg.Channel), clientRoot, ccfg, protocol.WithObjects(pyobj.Handler{}))
	closeAtEnd(t, client, "client connection")
	return client, server
}

func rootOf(t *testing.T, c *protocol.Conn) *netref.Ref {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := netref.Root(ctx, c)
	if err != nil {
		t.Fatalf("Root: %v", err)
	}
	return r
}

// closerService closes its own connection from inside a request, and runs callbacks.
type closerService struct {
	conn    atomic.Pointer[protocol.Conn]
	entered chan struct{}
	closed  chan time.Duration
}

func newCloserService() *closerService {
	return &closerService{entered: make(chan struct{}), closed: make(chan time.Duration, 1)}
}

func (s *closerService) OnConnect(c *protocol.Conn) { s.conn.Store(c) }

func (s *closerService) CloseMe() string {
	close(s.entered)
	start := time.Now()
	_ = s.conn.Load().Close()
	s.closed <- time.Since(start)
	return "closed"
}

func (s *closerService) CallBack(ctx context.Context, fn *netref.Ref) (any, error) {
	return fn.Call(ctx)
}

// checkCloseInside waits for a Close called inside a handler (entered, then closed), then
// checks a second Close, the outer request's error and Done.
func checkCloseInside(t *testing.T, c *protocol.Conn, entered <-chan struct{}, closed <-chan time.Duration, outerErr <-chan error) {
	t.Helper()
	select {
	case <-entered:
	case err := <-outerErr:
		t.Fatalf("the outer request returned (%v) before the handler ran", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the handler never ran")
	}
	select {
	case d := <-closed:
		if d > closeBound {
			t.Errorf("Close inside the handler took %v, want < %v", d, closeBound)
		}
	case <-time.After(closeBound):
		t.Errorf("Close inside the handler did not return within %v (deadlock: Close waits for the handler it is called from)", closeBound)
	}
	within(t, closeBound, "a second Close after Close inside a handler (blocked behind the first)", func() { _ = c.Close() })
	select {
	case err := <-outerErr:
		if err == nil {
			t.Errorf("the outer request succeeded although its connection closed")
		} else if !errors.Is(err, protocol.ErrClosed) {
			t.Errorf("outer request error = %v, want one matching ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Errorf("the outer request did not return within 5 s of Close inside the handler")
	}
	select {
	case <-c.Done():
	case <-time.After(closeBound):
		t.Errorf("Done not closed %v after Close inside a handler", closeBound)
	}
}

// TestCoreV2CloseInsideHandler: Close called from inside a handler must not deadlock, on the
// serving side (a service method closes its connection) and on the calling side (a callback the
// peer runs closes the connection). The engine before Core v2 waited in Close for the reader and
// the handlers, among them the one calling Close.
func TestCoreV2CloseInsideHandler(t *testing.T) {

	t.Run("service method closes its connection", func(t *testing.T) {
		svc := newCloserService()
		client, server := goPair(t, nil, svc)
		root := rootOf(t, client)
		outerErr := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			_, err := root.CallMethod(ctx, "close_me")
			outerErr <- err
		}()
		checkCloseInside(t, server, svc.entered, svc.closed, outerErr)
		select {
		case <-client.Done():
		case <-time.After(closeBound):
			t.Errorf("the client connection did not end within %v of the server's Close", closeBound)
		}
	})

	t.Run("callback closes the calling connection", func(t *testing.T) {
		svc := newCloserService()
		client, _ := goPair(t, nil, svc)
		root := rootOf(t, client)
		entered := make(chan struct{})
		closed := make(chan time.Duration, 1)
		cb := func() string {
			close(entered)
			start := time.Now()
			_ = client.Close()
			closed <- time.Since(start)
			return "closed"
		}
		outerErr := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			_, err := root.CallMethod(ctx, "call_back", cb)
			outerErr <- err
		}()
		checkCloseInside(t, client, entered, closed, outerErr)
	})
}

// blockerService has a method that blocks for 10 s (or until released), ignoring its context.
type blockerService struct {
	started chan struct{}
	release <-chan struct{}
}

func (s *blockerService) Block() string {
	close(s.started)
	select { // the connection's context is ignored on purpose
	case <-s.release:
	case <-time.After(10 * time.Second):
	}
	return "done"
}

// TestCoreV2CloseDuringSlowHandler: Close while a handler runs 10 s ignoring its context must
// return within the engine's (short) grace period, on the serving side and on the side running
// a callback. The engine before Core v2 waited for the handler, however long.
func TestCoreV2CloseDuringSlowHandler(t *testing.T) {
	for _, side := range []string{"serving side", "callback side"} {
		t.Run(side, func(t *testing.T) {
			release := make(chan struct{})
			var once sync.Once
			unblock := func() { once.Do(func() { close(release) }) }
			t.Cleanup(unblock)
			blocker := &blockerService{started: make(chan struct{}), release: release}
			var client, server, closing *protocol.Conn
			var res *netref.AsyncResult
			if side == "serving side" {
				client, server = goPair(t, nil, blocker)
				res = rootOf(t, client).CallMethodAsync("block")
				closing = server
			} else {
				client, server = goPair(t, nil, newCloserService())
				res = rootOf(t, client).CallMethodAsync("call_back", blocker.Block)
				closing = client
			}
			select {
			case <-blocker.started:
			case <-time.After(10 * time.Second):
				t.Fatal("the slow handler never started")
			}
			d, ok := within(t, closeBound, "Close while a handler runs 10 s ignoring its context (waits for it beyond any grace period)",
				func() { _ = closing.Close() })
			if ok {
				t.Logf("Close took %v with a 10 s handler running", d)
			}
			// Let the handler go (the engine may have abandoned it already) and make sure the
			// connections end, so nothing outlives the test.
			unblock()
			for _, c := range []*protocol.Conn{client, server} {
				select {
				case <-c.Done():
				case <-time.After(10 * time.Second):
					t.Errorf("%s: Done not closed 10 s after Close and the handler's end", c.ID())
				}
			}
			select {
			case <-res.Done():
				if res.Err() == nil {
					t.Errorf("the slow call succeeded (%v) although the connection was closed", res.Value())
				}
			case <-time.After(5 * time.Second):
				t.Errorf("the slow call unresolved 5 s after Close")
			}
		})
	}
}

// hookOrder records OnConnect and OnDisconnect of one connection. OnConnect runs action, then
// lingers, so that whatever action set off (the peer leaving, a Close) happens while it runs.
type hookOrder struct {
	action func(c *protocol.Conn)
	linger time.Duration

	mu          sync.Mutex
	connects    int
	inConnect   bool
	returned    bool
	disconnects int
	early       []string
}

func (h *hookOrder) OnConnect(c *protocol.Conn) {
	h.mu.Lock()
	h.connects++
	if h.disconnects > 0 {
		h.early = append(h.early, "OnDisconnect ran before OnConnect was called")
	}
	h.inConnect = true
	h.mu.Unlock()
	if h.action != nil {
		h.action(c)
	}
	time.Sleep(h.linger)
	h.mu.Lock()
	h.inConnect, h.returned = false, true
	h.mu.Unlock()
}

func (h *hookOrder) OnDisconnect(*protocol.Conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.disconnects++
	switch {
	case h.inConnect:
		h.early = append(h.early, "OnDisconnect ran while OnConnect ran")
	case !h.returned && h.connects == 0:
		h.early = append(h.early, "OnDisconnect ran before OnConnect was called")
	case !h.returned:
		h.early = append(h.early, "OnDisconnect ran before OnConnect returned")
	}
}

func (h *hookOrder) snapshot() (connects, disconnects int, early []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.connects, h.disconnects, append([]string(nil), h.early...)
}

// TestCoreV2OnDisconnectAfterOnConnect: while the server's OnConnect runs, the peer drops the
// stream, or sends CLOSE, or the application closes the connection from another goroutine. In
// every case OnDisconnect must run exactly once and only after OnConnect returned. The engine
// before Core v2 started the reader before calling OnConnect and ran OnDisconnect from the
// reader's Close without waiting for OnConnect.
func TestCoreV2OnDisconnectAfterOnConnect(t *testing.T) {
	const rounds = 10
	cases := []struct {
		name string
		// setup returns the OnConnect action for one round over (cnc, snc).
		setup func(t *testing.T, cnc net.Conn) func(c *protocol.Conn)
	}{
		{"peer drops the stream", func(t *testing.T, cnc net.Conn) func(*protocol.Conn) {
			return func(*protocol.Conn) { cnc.Close() }
		}},
		{"peer sends CLOSE", func(t *testing.T, cnc net.Conn) func(*protocol.Conn) {
			cfg := protocol.DefaultConfig()
			cfg.Dialect = compat.V5
			peer := protocol.New(channel.New(cnc, cfg.Channel), nil, cfg, protocol.WithObjects(pyobj.Handler{}))
			closeAtEnd(t, peer, "peer")
			return func(*protocol.Conn) { go peer.Close() }
		}},
		{"Close from another goroutine", func(t *testing.T, cnc net.Conn) func(*protocol.Conn) {
			return func(c *protocol.Conn) { go c.Close() }
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for round := range rounds {
				cnc, snc := tcpPair(t)
				h := &hookOrder{action: tc.setup(t, cnc), linger: 30 * time.Millisecond}
				cfg := protocol.DefaultConfig()
				made := make(chan *protocol.Conn, 1)
				go func() {
					made <- protocol.New(channel.New(snc, cfg.Channel), h, cfg, protocol.WithObjects(pyobj.Handler{}))
				}()
				var c *protocol.Conn
				select {
				case c = <-made:
				case <-time.After(5 * time.Second):
					t.Fatalf("round %d: New did not return within 5 s", round)
				}
				closeAtEnd(t, c, "server connection")
				select {
				case <-c.Done():
				case <-time.After(closeBound):
					t.Errorf("round %d: the connection did not end within %v", round, closeBound)
				}
				within(t, closeBound, "Close after the connection ended", func() { _ = c.Close() })
				// OnDisconnect has run (Close returns after it); give a duplicate time to show.
				time.Sleep(20 * time.Millisecond)
				connects, disconnects, early := h.snapshot()
				if connects != 1 || disconnects != 1 {
					t.Errorf("round %d: OnConnect ran %d times, OnDisconnect %d times; want 1 and 1", round, connects, disconnects)
				}
				for _, e := range early {
					t.Errorf("round %d: %s", round, e)
				}
				if t.Failed() {
					return
				}
			}
		})
	}
}
