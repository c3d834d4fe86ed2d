//go:build unix

package server_test

// Regression tests for the Core v2 connection engine (the serving side):
//
//   - a Go service method that closes its own connection must not deadlock; the Python client
//     sees EOFError at once, as with a Python server (bug 1);
//   - closing a connection (or the server) must not wait for a handler that ignores its context
//     longer than a short grace period (bug 2);
//   - OnDisconnect runs exactly once per connection and only after OnConnect returned, so that
//     a service registering connections in OnConnect and removing them in OnDisconnect (the
//     examples/kvserver pattern) does not leak under connect/close churn (bug 4).
//
// Each failed (by a bounded timeout, never by hanging the test binary) on the engine before
// Core v2.

import (
	"context"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorpyc/rpyc"
	"github.com/gorpyc/rpyc/compat"
	"github.com/gorpyc/rpyc/internal/interop"
	"github.com/gorpyc/rpyc/protocol"
	"github.com/gorpyc/rpyc/server"
)

// closeBound is how long Close may take when a handler is running or when it is called from
// inside a handler: the engine's grace period for running handlers must be below it.
const closeBound = 2 * time.Second

// cv2Serve serves srv on a free loopback port until the test ends; the final Shutdown is
// bounded, and a Shutdown that hangs is reported and abandoned.
func cv2Serve(t *testing.T, srv *server.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(context.Background(), ln) }()
	t.Cleanup(func() {
		cv2Within(t, 10*time.Second, "cleanup: Server.Shutdown", func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(ctx)
			<-served
		})
	})
	return ln.Addr().String()
}

// cv2Within runs fn and reports an error if it has not returned after d (fn is then abandoned).
// It returns how long fn took and whether it returned in time.
func cv2Within(t *testing.T, d time.Duration, what string, fn func()) (time.Duration, bool) {
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

// cv2Connect connects a Go client and closes it (bounded) when the test ends.
func cv2Connect(t *testing.T, addr string) (*rpyc.Conn, *rpyc.Ref) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := rpyc.Connect(ctx, addr)
	if err != nil {
		t.Fatalf("Connect(%s): %v", addr, err)
	}
	t.Cleanup(func() { cv2Within(t, 5*time.Second, "cleanup: client Close", func() { _ = c.Close() }) })
	root, err := c.Root(ctx)
	if err != nil {
		t.Fatalf("Root: %v", err)
	}
	return c, root
}

// selfClosingService closes its own connection from inside a request (root.close_me()).
type selfClosingService struct {
	conn    atomic.Pointer[protocol.Conn]
	entered chan struct{}
	closed  chan time.Duration
}

func newSelfClosingService() *selfClosingService {
	return &selfClosingService{entered: make(chan struct{}), closed: make(chan time.Duration, 1)}
}

func (s *selfClosingService) OnConnect(c *protocol.Conn) { s.conn.Store(c) }

func (s *selfClosingService) CloseMe() string {
	close(s.entered)
	start := time.Now()
	_ = s.conn.Load().Close()
	s.closed <- time.Since(start)
	return "closed"
}

// TestCoreV2InteropServiceClosesOwnConn: a Python client calls a Go service method that closes
// its own connection. As with a Python server (whose close() returns at once), Close must return
// promptly, the Python client's call must fail with EOFError at once, and the server's
// connection must end. The engine before Core v2 deadlocked in Close (it waited for the handler
// it was called from), and the connection never ended.
func TestCoreV2InteropServiceClosesOwnConn(t *testing.T) {
	interop.ForEachPeer(t, func(t *testing.T, p interop.Peer) {
		made := make(chan *selfClosingService, 1)
		srv := &server.Server{NewService: func() any {
			s := newSelfClosingService()
			select {
			case made <- s:
			default:
			}
			return s
		}, Name: "SelfClosing"}
		addr := cv2Serve(t, srv)
		proc := p.Start(t, "pyclient_closeme.py", addr, "close_me")
		if line, err := proc.ReadLine(30 * time.Second); err != nil || line != "CONNECTED" {
			t.Fatalf("Python client said %q, %v", line, err)
		}
		var svc *selfClosingService
		select {
		case svc = <-made:
		case <-time.After(10 * time.Second):
			t.Fatal("no service made for the Python client's connection")
		}
		select {
		case <-svc.entered:
		case <-time.After(20 * time.Second):
			t.Fatal("close_me never ran")
		}
		select {
		case d := <-svc.closed:
			if d > closeBound {
				t.Errorf("Close inside close_me took %v, want < %v", d, closeBound)
			}
		case <-time.After(closeBound):
			t.Errorf("Close inside close_me did not return within %v (deadlock: Close waits for the handler it is called from)", closeBound)
		}
		conn := svc.conn.Load()
		select {
		case <-conn.Done():
		case <-time.After(closeBound):
			t.Errorf("the server's connection did not end (Done) within %v of Close inside close_me", closeBound)
		}
		cv2Within(t, closeBound, "a second Close of the connection closed inside close_me", func() { _ = conn.Close() })

		// Python: the call fails with EOFError, promptly.
		line, err := proc.ReadLine(10 * time.Second)
		if err != nil {
			t.Fatalf("Python client printed nothing after close_me: %v", err)
		}
		fields := strings.Fields(line)
		if len(fields) < 3 || fields[0] != "RAISED" {
			t.Fatalf("Python client: %q, want RAISED EOFError", line)
		}
		if fields[1] != "EOFError" {
			t.Errorf("Python client's call raised %s, want EOFError (%q)", fields[1], line)
		}
		if el, err := strconv.ParseFloat(fields[2], 64); err != nil || el > closeBound.Seconds() {
			t.Errorf("Python client's call failed after %s s, want < %v (%q)", fields[2], closeBound, line)
		}
		if err := proc.Wait(); err != nil {
			t.Errorf("Python client: %v", err)
		}

		// The server's goroutines for the connection end.
		deadline := time.Now().Add(5 * time.Second)
		for srv.Connections() != 0 {
			if time.Now().After(deadline) {
				t.Fatalf("server still counts %d connections 5 s after the connection closed itself", srv.Connections())
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// slowService has a method that blocks for 10 s (or until released), ignoring its context.
type slowService struct {
	conn    atomic.Pointer[protocol.Conn]
	started chan struct{}
	release <-chan struct{}
}

func (s *slowService) OnConnect(c *protocol.Conn) { s.conn.Store(c) }

func (s *slowService) Block() string {
	close(s.started)
	select { // the connection's context is ignored on purpose
	case <-s.release:
	case <-time.After(10 * time.Second):
	}
	return "done"
}

// TestCoreV2CloseDoesNotWaitForSlowHandler: a Go client calls (asynchronously) a Go service
// method that runs 10 s ignoring its context; the server side then closes the connection, or
// the whole server (Server.Close promises not to wait for calls). Close must return within the
// engine's grace period (below 2 s), and the client's call must fail. The engine before Core v2
// waited for the handler, however long.
func TestCoreV2CloseDoesNotWaitForSlowHandler(t *testing.T) {
	for _, kind := range []server.Kind{server.Threaded, server.ThreadPool} {
		for _, how := range []string{"conn.Close", "Server.Close"} {
			t.Run(kind.String()+"/"+how, func(t *testing.T) {
				release := make(chan struct{})
				var releaseOnce sync.Once
				unblock := func() { releaseOnce.Do(func() { close(release) }) }
				t.Cleanup(unblock)
				made := make(chan *slowService, 1)
				srv := &server.Server{Kind: kind, Name: "Slow", NewService: func() any {
					s := &slowService{started: make(chan struct{}), release: release}
					select {
					case made <- s:
					default:
					}
					return s
				}}
				addr := cv2Serve(t, srv)
				_, root := cv2Connect(t, addr)
				var svc *slowService
				select {
				case svc = <-made:
				case <-time.After(10 * time.Second):
					t.Fatal("no service made for the connection")
				}
				res := root.CallMethodAsync("block")
				select {
				case <-svc.started:
				case <-time.After(10 * time.Second):
					t.Fatal("block() never started")
				}
				conn := svc.conn.Load()
				var closeDone sync.WaitGroup
				closeDone.Add(1)
				closeFn := func() { defer closeDone.Done(); _ = conn.Close() }
				bound := closeBound
				if how == "Server.Close" {
					closeFn = func() { defer closeDone.Done(); _ = srv.Close() }
					bound = closeBound + time.Second
				}
				d, ok := cv2Within(t, bound, how+" while a handler runs 10 s ignoring its context (waits for it beyond any grace period)", closeFn)
				if ok {
					t.Logf("%s took %v with a 10 s handler running", how, d)
				}
				// Let the handler go (the engine may have abandoned it already) and make sure
				// Close finishes, so nothing outlives the test.
				unblock()
				cv2Within(t, 10*time.Second, how+" after the handler ended", closeDone.Wait)
				select {
				case <-conn.Done():
				case <-time.After(5 * time.Second):
					t.Errorf("the server's connection did not end")
				}
				select {
				case <-res.Done():
					if res.Err() == nil {
						t.Errorf("block() succeeded (%v) although the server closed the connection", res.Value())
					}
				case <-time.After(5 * time.Second):
					t.Errorf("the client's block() call unresolved 5 s after the server closed the connection")
				}
			})
		}
	}
}

// registryService registers each connection in OnConnect (after a delay that widens the race
// with an early disconnect) and removes it in OnDisconnect, like examples/kvserver; it records
// every departure from "OnConnect returns, then OnDisconnect runs once".
type registryService struct {
	delay time.Duration

	mu          sync.Mutex
	live        map[*protocol.Conn]bool // the service's table: what a leak leaves behind
	state       map[*protocol.Conn]*hookState
	violations  map[string][]string // kind of violation -> connection ids
	connects    int
	disconnects int
}

type hookState struct {
	connects, disconnects int
	inConnect, returned   bool
}

func newRegistryService(delay time.Duration) *registryService {
	return &registryService{delay: delay, live: map[*protocol.Conn]bool{}, state: map[*protocol.Conn]*hookState{},
		violations: map[string][]string{}}
}

// violate records a violation of kind by connection c (s.mu held).
func (s *registryService) violate(c *protocol.Conn, kind string) {
	s.violations[kind] = append(s.violations[kind], c.ID())
}

func (s *registryService) OnConnect(c *protocol.Conn) {
	s.mu.Lock()
	st := s.state[c]
	if st == nil {
		st = &hookState{}
		s.state[c] = st
	}
	st.connects++
	s.connects++
	if st.connects > 1 {
		s.violate(c, "OnConnect called more than once")
	}
	if st.disconnects > 0 {
		s.violate(c, "OnConnect after OnDisconnect")
	}
	st.inConnect = true
	s.mu.Unlock()

	time.Sleep(s.delay)

	s.mu.Lock()
	s.live[c] = true
	st.inConnect, st.returned = false, true
	s.mu.Unlock()
}

func (s *registryService) OnDisconnect(c *protocol.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.disconnects++
	st := s.state[c]
	switch {
	case st == nil:
		s.violate(c, "OnDisconnect before OnConnect was called")
		st = &hookState{}
		s.state[c] = st
	case st.inConnect:
		s.violate(c, "OnDisconnect while OnConnect runs")
	case !st.returned:
		s.violate(c, "OnDisconnect before OnConnect returned")
	}
	st.disconnects++
	if st.disconnects > 1 {
		s.violate(c, "OnDisconnect called more than once")
	}
	delete(s.live, c)
}

func (s *registryService) counts() (connects, disconnects, live int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connects, s.disconnects, len(s.live)
}

// check waits until want connections went through OnConnect and OnDisconnect and the server
// holds none, shuts the server down, and checks the hooks' invariants.
func (s *registryService) check(t *testing.T, srv *server.Server, want int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, d, _ := s.counts()
		if c >= want && d >= c && srv.Connections() == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("after 20 s: %d OnConnect, %d OnDisconnect for %d connections; server holds %d",
				c, d, want, srv.Connections())
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	cv2Within(t, 10*time.Second, "Server.Shutdown after the churn", func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.connects != want {
		t.Errorf("OnConnect ran %d times for %d connections", s.connects, want)
	}
	if s.disconnects != s.connects {
		t.Errorf("OnDisconnect ran %d times for %d OnConnect", s.disconnects, s.connects)
	}
	if len(s.live) != 0 {
		t.Errorf("%d of %d connections leaked in the service's table (OnDisconnect ran before OnConnect registered them)",
			len(s.live), s.connects)
	}
	never := 0
	for _, st := range s.state {
		if st.disconnects == 0 {
			never++
		}
	}
	if never > 0 {
		t.Errorf("OnDisconnect never ran for %d connections", never)
	}
	kinds := make([]string, 0, len(s.violations))
	for k := range s.violations {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		ids := s.violations[k]
		t.Errorf("%s: %d of %d connections (e.g. %s)", k, len(ids), s.connects, strings.Join(ids[:min(len(ids), 3)], ", "))
	}
	t.Logf("%d connections: %d OnConnect, %d OnDisconnect", want, s.connects, s.disconnects)
}

// goChurn opens and closes n connections from Go with `workers` goroutines: clients that name
// the dialect (their Connect returns before the server's OnConnect did, and they close at once),
// clients that probe (their Connect waits for the server's answer, given after OnConnect), and
// bare TCP connects. It returns the number of connections made.
func goChurn(t *testing.T, addr string, workers, n int) int {
	t.Helper()
	var made atomic.Int64
	errs := make(chan error, workers*n)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range n {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				var err error
				switch (w*n + i) % 4 {
				case 0, 1:
					d := compat.V5
					if i%2 == 1 {
						d = compat.V6
					}
					var c *rpyc.Conn
					if c, err = rpyc.Connect(ctx, addr, rpyc.WithDialect(d)); err == nil {
						made.Add(1)
						err = c.Close()
					}
				case 2:
					var c *rpyc.Conn
					if c, err = rpyc.Connect(ctx, addr); err == nil {
						made.Add(1)
						err = c.Close()
					}
				case 3:
					var nc net.Conn
					if nc, err = net.DialTimeout("tcp", addr, 5*time.Second); err == nil {
						made.Add(1)
						err = nc.Close()
					}
				}
				cancel()
				if err != nil {
					errs <- fmt.Errorf("worker %d connection %d: %w", w, i, err)
				}
			}
		}()
	}
	cv2Within(t, 60*time.Second, "the Go connect/close churn", wg.Wait)
	close(errs)
	for err := range errs {
		t.Errorf("churn: %v", err)
	}
	return int(made.Load())
}

// TestCoreV2OnDisconnectAfterOnConnect: under connect/close churn from Go clients (many of them
// closing before the server's OnConnect returned), every connection's OnDisconnect runs exactly
// once, after its OnConnect returned, and a service table filled in OnConnect and emptied in
// OnDisconnect ends empty. The engine before Core v2 started reading before OnConnect and ran
// OnDisconnect from the reader's Close without waiting for OnConnect.
func TestCoreV2OnDisconnectAfterOnConnect(t *testing.T) {
	for _, kind := range []server.Kind{server.Threaded, server.ThreadPool} {
		t.Run(kind.String(), func(t *testing.T) {
			svc := newRegistryService(20 * time.Millisecond)
			srv := &server.Server{Service: svc, Kind: kind, Name: "Registry"}
			addr := cv2Serve(t, srv)
			n := goChurn(t, addr, 8, 16)
			svc.check(t, srv, n)
		})
	}
}

// TestCoreV2InteropOnDisconnectChurn is TestCoreV2OnDisconnectAfterOnConnect with plain Python
// rpyc clients (tox-interop/pyclient_churn.py: connect and close at once, connect and ask for the
// root, bare TCP) churning alongside the Go clients.
func TestCoreV2InteropOnDisconnectChurn(t *testing.T) {
	interop.ForEachPeer(t, func(t *testing.T, p interop.Peer) {
		svc := newRegistryService(20 * time.Millisecond)
		srv := &server.Server{Service: svc, Name: "Registry"}
		addr := cv2Serve(t, srv)
		const procs, perProc = 2, 45
		var pys []*interop.Process
		for range procs {
			pys = append(pys, p.Start(t, "pyclient_churn.py", addr, strconv.Itoa(perProc)))
		}
		n := goChurn(t, addr, 4, 12)
		for i, proc := range pys {
			line, err := proc.ReadLine(60 * time.Second)
			if err != nil || line != "OK "+strconv.Itoa(perProc) {
				t.Fatalf("Python churn %d printed %q, %v", i, line, err)
			}
			if err := proc.Wait(); err != nil {
				t.Fatalf("Python churn %d: %v", i, err)
			}
			n += perProc
		}
		svc.check(t, srv, n)
	})
}
