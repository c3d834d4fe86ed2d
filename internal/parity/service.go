// Package parity is the Go side of the parity test (server/parity_test.go): ParityService has
// the surface of the Python service in tox-interop/parity_service.py, written as a Go
// programmer would with gorpyc, and tox-interop/parity_client.py runs the same operations
// against both. Type names match the Python class names, since Python clients see them.
package parity

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"iter"
	"math/big"
	"os"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gorpyc/rpyc/brine"
	"github.com/gorpyc/rpyc/netref"
	"github.com/gorpyc/rpyc/protocol"
	"github.com/gorpyc/rpyc/pyobj"
)

// ParityService is the service; make one per connection (server.Server.NewService), as the
// Python twin is served as a class.
type ParityService struct {
	Version string // exposed_version

	//lint:ignore U1000 the field exists to show that unexported fields are never reachable
	secret string
	mu     sync.Mutex
	log    []string
	conn   *protocol.Conn
}

// New returns a fresh service.
func New() *ParityService { return &ParityService{Version: "parity-1", secret: "hidden"} }

// RPyCNames declares foo public but not exposed (a Python method without exposed_) and Privy
// Python's private _privy.
func (s *ParityService) RPyCNames() map[string]string {
	return map[string]string{"Foo": ",public", "Privy": "_privy"}
}

// OnConnect keeps the connection, to call the client back.
func (s *ParityService) OnConnect(c *protocol.Conn) { s.mu.Lock(); s.conn = c; s.mu.Unlock() }

// Values and conversions.

// Add is part of the surface the Python twin (tox-interop/parity_service.py) mirrors.
func (s *ParityService) Add(a, b int) int { return a + b }

// AddBig is part of the surface the Python twin (tox-interop/parity_service.py) mirrors.
func (s *ParityService) AddBig(a, b *big.Int) *big.Int { return new(big.Int).Add(a, b) }

// Echo is part of the surface the Python twin (tox-interop/parity_service.py) mirrors.
func (s *ParityService) Echo(x any) any { return x }

// Negate is part of the surface the Python twin (tox-interop/parity_service.py) mirrors.
func (s *ParityService) Negate(flag bool) bool { return !flag }

// Scale is part of the surface the Python twin (tox-interop/parity_service.py) mirrors.
func (s *ParityService) Scale(x float64, k int) float64 { return x * float64(k) }

// Concat is part of the surface the Python twin (tox-interop/parity_service.py) mirrors.
func (s *ParityService) Concat(parts ...string) string { return strings.Join(parts, "") }

// BigEcho is part of the surface the Python twin (tox-interop/parity_service.py) mirrors.
func (s *ParityService) BigEcho(n *big.Int) *big.Int { return n }

// PointNorm is part of the surface the Python twin (tox-interop/parity_service.py) mirrors.
func (s *ParityService) PointNorm(p struct{ X, Y int }) int { return p.X*p.X + p.Y*p.Y }

// Total is part of the surface the Python twin (tox-interop/parity_service.py) mirrors.
func (s *ParityService) Total(xs []int) int {
	t := 0
	for _, x := range xs {
		t += x
	}
	return t
}

// SumValues is part of the surface the Python twin (tox-interop/parity_service.py) mirrors.
func (s *ParityService) SumValues(m map[string]int) int {
	t := 0
	for _, v := range m {
		t += v
	}
	return t
}

// KeysOf is part of the surface the Python twin (tox-interop/parity_service.py) mirrors.
func (s *ParityService) KeysOf(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Nested is part of the surface the Python twin (tox-interop/parity_service.py) mirrors.
func (s *ParityService) Nested(xss [][]int) int {
	t := 0
	for _, xs := range xss {
		t += s.Total(xs)
	}
	return t
}

// Keyword arguments and defaults.

// GreetArgs is def greet(name, greeting="Hello", punct="!").
type GreetArgs struct {
	pyobj.Params
	Name     string `rpyc:",required"`
	Greeting string `rpyc:",default=Hello"`
	Punct    string `rpyc:",default=!"`
}

// Greet is part of the surface the Python twin (tox-interop/parity_service.py) mirrors.
func (s *ParityService) Greet(a GreetArgs) string {
	return fmt.Sprintf("%s, %s%s", a.Greeting, a.Name, a.Punct)
}

// ResizeArgs is def resize(width, height=None, *, unit="px").
type ResizeArgs struct {
	Width  int    `rpyc:",required"`
	Height *int   // nil: not passed
	Unit   string `rpyc:",kwonly,default=px"`
}

// Resize is part of the surface the Python twin (tox-interop/parity_service.py) mirrors.
func (s *ParityService) Resize(a ResizeArgs) brine.Tuple {
	var h any
	if a.Height != nil {
		h = *a.Height
	}
	return brine.Tuple{a.Width, h, a.Unit}
}

// JoinArgs is def join(*parts, sep=" ").
type JoinArgs struct {
	Parts []string `rpyc:",args"`
	Sep   string   `rpyc:",default= "`
}

// Join is part of the surface the Python twin (tox-interop/parity_service.py) mirrors.
func (s *ParityService) Join(a JoinArgs) string { return strings.Join(a.Parts, a.Sep) }

// OptionsArgs is def options(**kw).
type OptionsArgs struct {
	Kw map[string]any `rpyc:",kwargs"`
}

// Options is part of the surface the Python twin (tox-interop/parity_service.py) mirrors.
func (s *ParityService) Options(a OptionsArgs) brine.Tuple {
	keys := make([]string, 0, len(a.Kw))
	for k := range a.Kw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := brine.Tuple{}
	for _, k := range keys {
		out = append(out, brine.Tuple{k, a.Kw[k]})
	}
	return out
}

// Containers.

// Numbers is part of the surface the Python twin (tox-interop/parity_service.py) mirrors.
func (s *ParityService) Numbers() []int { return []int{1, 2, 3, 4, 5} }

// NumbersRef is part of the surface the Python twin (tox-interop/parity_service.py) mirrors.
func (s *ParityService) NumbersRef() protocol.ByRef {
	return protocol.ByRef{Value: []int{10, 20, 30, 40, 50}}
}

// Scores is part of the surface the Python twin (tox-interop/parity_service.py) mirrors.
func (s *ParityService) Scores() map[string]int {
	return map[string]int{"alice": 1, "bob": 2, "carol": 3}
}

// Square is part of the surface the Python twin (tox-interop/parity_service.py) mirrors.
func (s *ParityService) Square() func(int) int { return func(x int) int { return x * x } }

// Iteration.

// Count is part of the surface the Python twin (tox-interop/parity_service.py) mirrors.
func (s *ParityService) Count(n int) iter.Seq[int] {
	return func(yield func(int) bool) {
		for i := range n {
			if !yield(i) {
				return
			}
		}
	}
}

// Pairs is part of the surface the Python twin (tox-interop/parity_service.py) mirrors.
func (s *ParityService) Pairs() iter.Seq2[string, int] {
	return func(yield func(string, int) bool) {
		_ = yield("a", 1) && yield("b", 2)
	}
}

// Chan is part of the surface the Python twin (tox-interop/parity_service.py) mirrors.
func (s *ParityService) Chan(n int) <-chan int {
	ch := make(chan int, n)
	for i := range n {
		ch <- i * i
	}
	close(ch)
	return ch
}

// Countdown is a hand-written iterator: Python's __iter__ and __next__, declared by RPyCNames.
type Countdown struct {
	mu sync.Mutex
	n  int
}

// RPyCNames is part of the surface the Python twin (tox-interop/parity_service.py) mirrors.
func (c *Countdown) RPyCNames() map[string]string {
	return map[string]string{"Iter": "__iter__", "Next": "__next__"}
}

// Iter is part of the surface the Python twin (tox-interop/parity_service.py) mirrors.
func (c *Countdown) Iter() *Countdown { return c }

// Next is part of the surface the Python twin (tox-interop/parity_service.py) mirrors.
func (c *Countdown) Next() (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n <= 0 {
		return 0, protocol.ErrStopIteration
	}
	c.n--
	return c.n + 1, nil
}

// Countdown is part of the surface the Python twin (tox-interop/parity_service.py) mirrors.
func (s *ParityService) Countdown(n int) *Countdown { return &Countdown{n: n} }

// Objects.

// Point is exposed by reference.
type Point struct{ X, Y int }

// Norm2 is part of the surface the Python twin (tox-interop/parity_service.py) mirrors.
func (p *Point) Norm2() int { return p.X*p.X + p.Y*p.Y }

// String is part of the surface the Python twin (tox-interop/parity_service.py) mirrors.
func (p *Point) String() string { return fmt.Sprintf("Point(%d, %d)", p.X, p.Y) }

// GetPoint is part of the surface the Python twin (tox-interop/parity_service.py) mirrors.
func (s *ParityService) GetPoint() *Point { return &Point{X: 3, Y: 4} }

// MyClass is rpyc's tests/test_attr_access.py MyClass: foo, bar and spam public but not
// exposed, _privy private, __add__ a dunder, foobar exposed.
type MyClass struct{}

// RPyCNames renames MyClass's members as the Python twin names them.
func (MyClass) RPyCNames() map[string]string {
	return map[string]string{"Foo": ",public", "Bar": ",public", "Spam": ",public", "Privy": "_privy", "Add": "__add__"}
}

// Add is part of the surface the Python twin (tox-interop/parity_service.py) mirrors.
func (m *MyClass) Add(other string) string { return m.Foo() + other }

// Foo is part of the surface the Python twin (tox-interop/parity_service.py) mirrors.
func (m *MyClass) Foo() string { return "foo" }

// Bar is part of the surface the Python twin (tox-interop/parity_service.py) mirrors.
func (m *MyClass) Bar() string { return "bar" }

// Spam is part of the surface the Python twin (tox-interop/parity_service.py) mirrors.
func (m *MyClass) Spam() string { return "spam" }

// Privy is part of the surface the Python twin (tox-interop/parity_service.py) mirrors.
func (m *MyClass) Privy() string { return "privy" }

// Foobar is part of the surface the Python twin (tox-interop/parity_service.py) mirrors.
func (m *MyClass) Foobar() string { return "Fee Fie Foe Foo" }

// MyClass is part of the surface the Python twin (tox-interop/parity_service.py) mirrors.
func (s *ParityService) MyClass() *MyClass { return &MyClass{} }

// Buffer is part of the surface the Python twin (tox-interop/parity_service.py) mirrors.
func (s *ParityService) Buffer() *bytes.Buffer { return new(bytes.Buffer) }

// Resource is a context manager recording its use in the service's log.
type Resource struct {
	Name string
	svc  *ParityService
}

// RPyCEnter is part of the surface the Python twin (tox-interop/parity_service.py) mirrors.
func (r *Resource) RPyCEnter(context.Context) (any, error) { r.svc.record("enter"); return r, nil }

// RPyCExit is part of the surface the Python twin (tox-interop/parity_service.py) mirrors.
func (r *Resource) RPyCExit(_ context.Context, failed bool) (bool, error) {
	if failed {
		r.svc.record("exit-error")
	} else {
		r.svc.record("exit-ok")
	}
	return false, nil
}

func (s *ParityService) record(e string) { s.mu.Lock(); s.log = append(s.log, e); s.mu.Unlock() }

// Resource is part of the surface the Python twin (tox-interop/parity_service.py) mirrors.
func (s *ParityService) Resource() *Resource { return &Resource{Name: "res", svc: s} }

// ResourceLog is part of the surface the Python twin (tox-interop/parity_service.py) mirrors.
func (s *ParityService) ResourceLog() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.log...)
}

// Foo is part of the surface the Python twin (tox-interop/parity_service.py) mirrors.
func (s *ParityService) Foo() string { return "public, not exposed" }

// Privy is part of the surface the Python twin (tox-interop/parity_service.py) mirrors.
func (s *ParityService) Privy() string { return "privy" }

// Exceptions.

// CodedError is a Go error type carrying a Python attribute (protocol.ExceptionAttrs).
type CodedError struct{ Code int }

// Error is part of the surface the Python twin (tox-interop/parity_service.py) mirrors.
func (e *CodedError) Error() string { return "bad value" }

// Unwrap is part of the surface the Python twin (tox-interop/parity_service.py) mirrors.
func (e *CodedError) Unwrap() error { return protocol.ValueError }

// RPyCAttrs is part of the surface the Python twin (tox-interop/parity_service.py) mirrors.
func (e *CodedError) RPyCAttrs() []protocol.Attr {
	return []protocol.Attr{{Name: "code", Value: e.Code}}
}

// Fail is part of the surface the Python twin (tox-interop/parity_service.py) mirrors.
func (s *ParityService) Fail(kind string) error {
	switch kind {
	case "key":
		return &protocol.RemoteError{Module: "builtins", Name: "KeyError", Args: brine.Tuple{"missing-key"}}
	case "value":
		return fmt.Errorf("bad value: %w", protocol.ValueError)
	case "type":
		return fmt.Errorf("bad type: %w", protocol.TypeError)
	case "notimpl":
		return fmt.Errorf("later: %w", protocol.NotImplementedError)
	case "index":
		return fmt.Errorf("no such index: %w", protocol.IndexError)
	case "zero":
		return fmt.Errorf("division by zero: %w", protocol.ZeroDivisionError)
	case "attrs":
		return &protocol.RemoteError{Module: "builtins", Name: "ValueError", Args: brine.Tuple{"bad", 7},
			Attrs: []protocol.Attr{{Name: "code", Value: 7}, {Name: "detail", Value: "seven"}}}
	case "coded":
		return &CodedError{Code: 7}
	case "notfound":
		_, err := os.Open("/nonexistent/parity-file")
		return err
	case "exists":
		return os.Mkdir("/tmp", 0o755)
	case "isdir":
		_, err := os.ReadFile("/tmp")
		return err
	case "permission":
		return &fs.PathError{Op: "open", Path: "/root/x", Err: syscall.EACCES}
	case "timeout":
		return fmt.Errorf("too slow: %w", protocol.TimeoutError)
	case "deadline":
		return context.DeadlineExceeded
	}
	return errors.New("plain failure")
}

// Callbacks.

// Call is part of the surface the Python twin (tox-interop/parity_service.py) mirrors.
func (s *ParityService) Call(ctx context.Context, fn *netref.Ref, arg any) (any, error) {
	return fn.Call(ctx, arg)
}

// CallKw is part of the surface the Python twin (tox-interop/parity_service.py) mirrors.
func (s *ParityService) CallKw(ctx context.Context, fn *netref.Ref) (any, error) {
	return fn.Call(ctx, 1, netref.Kwargs{"k": 2})
}

// Map is part of the surface the Python twin (tox-interop/parity_service.py) mirrors.
func (s *ParityService) Map(ctx context.Context, fn *netref.Ref, items []any) ([]any, error) {
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

// PingBack is part of the surface the Python twin (tox-interop/parity_service.py) mirrors.
func (s *ParityService) PingBack(ctx context.Context) (string, error) {
	s.mu.Lock()
	c := s.conn
	s.mu.Unlock()
	root, err := netref.Root(ctx, c)
	if err != nil {
		return "", err
	}
	return netref.As[string](root.CallMethod(ctx, "get_service_name"))
}

// Sleep is part of the surface the Python twin (tox-interop/parity_service.py) mirrors.
func (s *ParityService) Sleep(ctx context.Context, seconds float64) (float64, error) {
	select {
	case <-time.After(time.Duration(seconds * float64(time.Second))):
		return seconds, nil
	case <-ctx.Done():
		return 0, context.Cause(ctx)
	}
}
