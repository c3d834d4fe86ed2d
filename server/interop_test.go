//go:build unix

package server_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorpyc/rpyc/brine"
	"github.com/gorpyc/rpyc/internal/interop"
	"github.com/gorpyc/rpyc/netref"
	"github.com/gorpyc/rpyc/protocol"
	"github.com/gorpyc/rpyc/server"
)

// TestService is the Go service that tox-interop/pyclient_suite.py exercises with plain rpyc.
type TestService struct {
	Version string // a plain attribute: root.version

	//lint:ignore U1000 the field exists to show that unexported fields are never reachable
	secret string
	mu     sync.Mutex
	log    []string
	conn   *protocol.Conn
}

func (s *TestService) RPyCServiceAliases() []string { return []string{"test", "testing"} }

func (s *TestService) OnConnect(c *protocol.Conn) { s.mu.Lock(); s.conn = c; s.mu.Unlock() }

func (s *TestService) Add(a, b int) int               { return a + b }
func (s *TestService) Scale(x float64, k int) float64 { return x * float64(k) }
func (s *TestService) Echo(v any) any                 { return v }
func (s *TestService) Concat(parts ...string) string  { return strings.Join(parts, "") }

// GreetOpts receives greet()'s keyword arguments.
type GreetOpts struct {
	Greeting string
	Punct    string
}

func (s *TestService) Greet(name string, opts GreetOpts) string {
	if opts.Greeting == "" {
		opts.Greeting = "Hello"
	}
	if opts.Punct == "" {
		opts.Punct = "!"
	}
	return fmt.Sprintf("%s, %s%s", opts.Greeting, name, opts.Punct)
}

// Point is exposed by reference: fields X, Y and method Norm2; hidden is not reachable.
type Point struct {
	X, Y   int
	hidden int
}

func (p *Point) Norm2() int             { return p.X*p.X + p.Y*p.Y }
func (p *Point) String() string         { return fmt.Sprintf("Point(%d, %d)", p.X, p.Y) }
func (s *TestService) GetPoint() *Point { return &Point{X: 3, Y: 4, hidden: 1} }

// StructArg receives a Python tuple as a struct.
func (s *TestService) StructArg(p Point) int { return p.Norm2() }

func (s *TestService) Numbers() []int { return []int{1, 2, 3, 4, 5} }
func (s *TestService) NumbersRef() protocol.ByRef {
	return protocol.ByRef{Value: []int{10, 20, 30, 40, 50}}
}
func (s *TestService) Scores() map[string]int {
	return map[string]int{"alice": 1, "bob": 2, "carol": 3}
}
func (s *TestService) Square() func(int) int { return func(x int) int { return x * x } }
func (s *TestService) Buffer() *bytes.Buffer { return new(bytes.Buffer) }
func (s *TestService) Count(n int) iter.Seq[int] {
	return func(yield func(int) bool) {
		for i := range n {
			if !yield(i) {
				return
			}
		}
	}
}
func (s *TestService) Pairs() iter.Seq2[string, int] {
	return func(yield func(string, int) bool) {
		_ = yield("a", 1) && yield("b", 2)
	}
}
func (s *TestService) Chan(n int) <-chan int {
	ch := make(chan int, n)
	for i := range n {
		ch <- i * i
	}
	close(ch)
	return ch
}

// Resource is a context manager recording its use in the service log.
type Resource struct {
	Name string
	svc  *TestService
}

func (r *Resource) RPyCEnter(context.Context) (any, error) { r.svc.record("enter"); return r, nil }
func (r *Resource) RPyCExit(_ context.Context, failed bool) (bool, error) {
	if failed {
		r.svc.record("exit-error")
	} else {
		r.svc.record("exit-ok")
	}
	return false, nil
}
func (s *TestService) record(e string)     { s.mu.Lock(); s.log = append(s.log, e); s.mu.Unlock() }
func (s *TestService) Resource() *Resource { return &Resource{Name: "res", svc: s} }
func (s *TestService) ResourceLog() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.log...)
}

var errPlain = errors.New("plain Go failure")

// Fail returns the Go error of each kind, to check the Python exception it becomes.
func (s *TestService) Fail(kind string) error {
	switch kind {
	case "key":
		return &protocol.RemoteError{Module: "builtins", Name: "KeyError", Args: brine.Tuple{"missing-key"}}
	case "value":
		return fmt.Errorf("bad value: %w", protocol.ValueError)
	case "type":
		return fmt.Errorf("bad type: %w", protocol.TypeError)
	case "notimpl":
		return fmt.Errorf("later: %w", errors.ErrUnsupported)
	case "timeout":
		return fmt.Errorf("too slow: %w", context.DeadlineExceeded)
	case "permission":
		return &fs.PathError{Op: "open", Path: "/root/x", Err: fs.ErrPermission}
	case "notfound":
		return &fs.PathError{Op: "open", Path: "/nope", Err: fs.ErrNotExist}
	case "index":
		return fmt.Errorf("%w: no such index", protocol.IndexError)
	}
	return errPlain
}

func (s *TestService) Panic() { panic("deliberate panic") }

// Call calls a Python callable with one argument.
func (s *TestService) Call(ctx context.Context, fn *netref.Ref, arg any) (any, error) {
	return fn.Call(ctx, arg)
}

// Map calls fn on every item, like Python's map, collecting the results.
func (s *TestService) Map(ctx context.Context, fn *netref.Ref, items []any) ([]any, error) {
	out := make([]any, len(items))
	for i, it := range items {
		v, err := fn.Call(ctx, it)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// PingBack calls the Python client's own root during a request.
func (s *TestService) PingBack(ctx context.Context) (string, error) {
	s.mu.Lock()
	c := s.conn
	s.mu.Unlock()
	root, err := netref.Root(ctx, c)
	if err != nil {
		return "", err
	}
	return netref.As[string](root.CallMethod(ctx, "get_service_name"))
}

func (s *TestService) Sleep(ctx context.Context, seconds float64) (float64, error) {
	select {
	case <-time.After(time.Duration(seconds * float64(time.Second))):
		return seconds, nil
	case <-ctx.Done():
		return 0, context.Cause(ctx)
	}
}

// startServer serves a fresh TestService on a free loopback port.
func startServer(t testing.TB, kind server.Kind) (*server.Server, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &server.Server{NewService: func() any { return &TestService{Version: "gorpyc-test-1"} }, Kind: kind,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.Background(), ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		if err := <-done; !errors.Is(err, server.ErrServerClosed) {
			t.Errorf("Serve returned %v", err)
		}
	})
	return srv, ln.Addr().String()
}

// runSuite runs pyclient_suite.py and turns its report into subtests.
func runSuite(t *testing.T, p interop.Peer, addr string, scenarios ...string) {
	t.Helper()
	out := p.Run(t, "pyclient_suite.py", append([]string{addr}, scenarios...)...)
	lines := strings.Split(out, "\n")
	sawDone := false
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		switch {
		case strings.HasPrefix(line, "PASS "):
			t.Run(strings.TrimPrefix(line, "PASS "), func(t *testing.T) {})
		case strings.HasPrefix(line, "FAIL "):
			var tb []string
			for i+1 < len(lines) && strings.HasPrefix(lines[i+1], "  | ") {
				i++
				tb = append(tb, lines[i])
			}
			t.Run(strings.TrimPrefix(line, "FAIL "), func(t *testing.T) {
				t.Errorf("Python scenario failed:\n%s", strings.Join(tb, "\n"))
			})
		case strings.HasPrefix(line, "DONE "):
			sawDone = true
			var passed, failed int
			fmt.Sscanf(line, "DONE %d %d", &passed, &failed)
			if passed == 0 || failed != 0 {
				t.Errorf("suite: %d passed, %d failed", passed, failed)
			}
		}
	}
	if !sawDone {
		t.Fatalf("suite did not finish:\n%s", out)
	}
}

func TestInteropPythonClients(t *testing.T) {
	interop.ForEachPeer(t, func(t *testing.T, p interop.Peer) {
		for _, kind := range []server.Kind{server.Threaded, server.ThreadPool} {
			t.Run(kind.String(), func(t *testing.T) {
				_, addr := startServer(t, kind)
				runSuite(t, p, addr)
			})
		}
	})
}
