//go:build unix

package rpyc_test

// Python calling back into Go during a request: Go funcs and objects passed as arguments, the
// client's root (WithService), errors and panics crossing back.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gorpyc/rpyc"
	"github.com/gorpyc/rpyc/brine"
	"github.com/gorpyc/rpyc/internal/interop"
	"github.com/gorpyc/rpyc/protocol"
)

// clientRoot is the service the Go client serves to the Python server.
type clientRoot struct{ calls atomic.Int64 }

func (r *clientRoot) GetServiceName() string { r.calls.Add(1); return "GO-CLIENT" }

// scaleOptions receives keyword arguments (by snake_case field name).
type scaleOptions struct {
	Factor int
	Label  string
	Ratio  float64
}

// temperature is a Go struct with a String method, for Python's str().
type temperature struct {
	Celsius float64
	Where   string
}

func (t temperature) String() string { return fmt.Sprintf("%.1f°C in %s", t.Celsius, t.Where) }

// Describe is an exported method Python can call.
func (t temperature) Fahrenheit() float64 { return t.Celsius*9/5 + 32 }

// bag is a Go object with Python's container protocol: it maps Go methods to the dunders
// Python's len(), iter() and `in` use (RPyCNames), which gorpyc lists in its INSPECT reply.
type bag struct{ items []int }

func (*bag) RPyCNames() map[string]string {
	return map[string]string{"Len": "__len__", "Iter": "__iter__", "Contains": "__contains__"}
}
func (b *bag) Len() int { return len(b.items) }
func (b *bag) Contains(x int) bool {
	for _, it := range b.items {
		if it == x {
			return true
		}
	}
	return false
}
func (b *bag) Iter() *bagIter { return &bagIter{items: b.items} }

// bagIter is a Go iterator for Python: __next__ raises StopIteration at the end.
type bagIter struct {
	items []int
	i     int
}

func (*bagIter) RPyCNames() map[string]string {
	return map[string]string{"Next": "__next__", "Iter": "__iter__"}
}
func (it *bagIter) Iter() *bagIter { return it }
func (it *bagIter) Next() (int, error) {
	if it.i >= len(it.items) {
		return 0, protocol.ErrStopIteration
	}
	it.i++
	return it.items[it.i-1], nil
}

func TestInteropCallbacks(t *testing.T) {
	interop.ForEachPeer(t, func(t *testing.T, p interop.Peer) {
		s := startService(t, p)
		myRoot := &clientRoot{}
		c, root := s.root(t, rpyc.WithService(myRoot))

		t.Run("positional", func(t *testing.T) {
			var seen []int
			add := func(a, b int) int { seen = append(seen, a, b); return a + b }
			wantEqual(t, "call_back(add, 2, 40)", call(t, root, "call_back", add, 2, 40), int64(42))
			if len(seen) != 2 || seen[0] != 2 || seen[1] != 40 {
				t.Errorf("Go func saw %v", seen)
			}
			// Results of several kinds travel back by value.
			wantEqual(t, "str result", call(t, root, "call_back", func(s string) string { return strings.ToUpper(s) }, "héllo"), "HÉLLO")
			wantEqual(t, "bytes result", call(t, root, "call_back", func(b []byte) []byte { return append(b, '!') }, []byte("x")), []byte("x!"))
			wantEqual(t, "multiple results", call(t, root, "call_back", func(x int) (int, string, bool) { return x, "s", true }, 7),
				brine.Tuple{int64(7), "s", true})
			wantEqual(t, "no result", call(t, root, "call_back", func() {}), nil)
			wantEqual(t, "slice result", call(t, root, "call_back", func(n int) []int { return []int{n, n * 2} }, 3), brine.Tuple{int64(3), int64(6)})
			wantEqual(t, "variadic", call(t, root, "call_back", func(xs ...int) int { return len(xs) }, 1, 2, 3), int64(3))
			wantEqual(t, "float arg from int", call(t, root, "call_back", func(f float64) float64 { return f / 2 }, 3), 1.5)
		})

		t.Run("kwargs and context", func(t *testing.T) {
			var gotCtx context.Context
			scale := func(ctx context.Context, x int, opts scaleOptions) (string, error) {
				gotCtx = ctx
				return fmt.Sprintf("%s=%d (%.2f)", opts.Label, x*opts.Factor, opts.Ratio), nil
			}
			got := call(t, root, "call_back", scale, 6, rpyc.Kwargs{"factor": 7, "label": "answer", "ratio": 0.5})
			wantEqual(t, "call_back(scale, 6, factor=7, label=..., ratio=0.5)", got, "answer=42 (0.50)")
			if gotCtx == nil || gotCtx.Err() != nil {
				t.Errorf("callback context %v (err %v), want the live connection context", gotCtx, gotCtx.Err())
			}
			// Keywords omitted keep their zero values.
			wantEqual(t, "no kwargs", call(t, root, "call_back", scale, 6), "=0 (0.00)")
			// An unknown keyword is a TypeError in Python, which comes back to Go.
			_, err := root.CallMethod(ctxFor(t, callTimeout), "call_back", scale, 1, rpyc.Kwargs{"bogus": 1})
			re := remoteError(t, err, "builtins", "TypeError")
			if !strings.Contains(re.Message(), "bogus") {
				t.Errorf("message %q does not name the keyword", re.Message())
			}
			// A wrong argument type too.
			_, err = root.CallMethod(ctxFor(t, callTimeout), "call_back", func(x int) int { return x }, "not an int")
			remoteError(t, err, "builtins", "TypeError")
		})

		t.Run("error crosses back", func(t *testing.T) {
			failing := func(x int) (int, error) {
				return 0, fmt.Errorf("bad input %d: %w", x, protocol.ValueError)
			}
			_, err := root.CallMethod(ctxFor(t, callTimeout), "call_back", failing, 13)
			re := remoteError(t, err, "builtins", "ValueError")
			if !errors.Is(err, protocol.ValueError) {
				t.Errorf("errors.Is(err, ValueError) = false")
			}
			// The wrapped sentinel's ": ValueError" suffix is dropped: Python prints the class itself.
			wantEqual(t, "ValueError args", re.Args, brine.Tuple{"bad input 13"})
			// Python's traceback of the call_back frame, with the Go traceback nested in it.
			if !strings.Contains(re.Traceback, "exposed_call_back") || !strings.Contains(re.Traceback, "bad input 13") {
				t.Errorf("traceback %q", re.Traceback)
			}
			// KeyError from Go keeps its class through Python.
			_, err = root.CallMethod(ctxFor(t, callTimeout), "call_back", func() error {
				return fmt.Errorf("%w", protocol.KeyError)
			})
			if !errors.Is(err, protocol.KeyError) {
				t.Errorf("Go KeyError came back as %v", err)
			}
			// A plain Go error is an Exception.
			_, err = root.CallMethod(ctxFor(t, callTimeout), "call_back", func() error { return errors.New("plain") })
			re = remoteError(t, err, "builtins", "Exception")
			wantEqual(t, "Exception args", re.Args, brine.Tuple{"plain"})
			// Go's StopIteration is Python's.
			_, err = root.CallMethod(ctxFor(t, callTimeout), "call_back", func() (int, error) { return 0, protocol.ErrStopIteration })
			if !errors.Is(err, protocol.ErrStopIteration) {
				t.Errorf("Go StopIteration came back as %v", err)
			}
		})

		t.Run("panic", func(t *testing.T) {
			boom := func(x int) int {
				if x > 0 {
					panic("callback exploded")
				}
				return x
			}
			_, err := root.CallMethod(ctxFor(t, callTimeout), "call_back", boom, 1)
			re := remoteError(t, err, "builtins", "RuntimeError")
			if !strings.Contains(re.Message(), "callback exploded") {
				t.Errorf("message %q", re.Message())
			}
			if c.Closed() {
				t.Fatal("connection closed after a callback panic")
			}
			wantEqual(t, "call_back(boom, 0) after the panic", call(t, root, "call_back", boom, 0), int64(0))
			wantEqual(t, "add after the panic", call(t, root, "add", 1, 1), int64(2))
		})

		t.Run("nested", func(t *testing.T) {
			var depth, maxDepth atomic.Int64
			f := func(x int) int {
				d := depth.Add(1)
				defer depth.Add(-1)
				if d > maxDepth.Load() {
					maxDepth.Store(d)
				}
				return x*2 + 1
			}
			wantEqual(t, "call_back_twice(f, 5)", call(t, root, "call_back_twice", f, 5), int64(23))
			// Go calls Python, which calls Go, which calls Python again (add), which answers.
			var inner any
			relay := func(ctx context.Context, x int) (int, error) {
				v, err := rpyc.As[int](root.CallMethod(ctx, "add", x, 100))
				inner = v
				return v, err
			}
			wantEqual(t, "call_back_twice(relay, 1)", call(t, root, "call_back_twice", relay, 1), int64(201))
			wantEqual(t, "inner result", inner, 201)
			// Three levels: Python -> Go -> Python -> Go.
			deep := func(ctx context.Context, x int) (int, error) {
				return rpyc.As[int](root.CallMethod(ctx, "call_back", f, x))
			}
			wantEqual(t, "call_back(deep, 3)", call(t, root, "call_back", deep, 3), int64(7))
		})

		t.Run("str of Go struct", func(t *testing.T) {
			temp := temperature{Celsius: 21.5, Where: "Zürich"}
			wantEqual(t, "callback_str(temp)", call(t, root, "callback_str", temp), "21.5°C in Zürich")
			wantEqual(t, "callback_str(&temp)", call(t, root, "callback_str", &temp), "21.5°C in Zürich")
			// Fields and methods as snake_case attributes.
			wantEqual(t, "temp.where", call(t, root, "get_attr", temp, "where"), "Zürich")
			wantEqual(t, "temp.celsius", call(t, root, "get_attr", temp, "celsius"), 21.5)
			wantEqual(t, "temp.fahrenheit()", call(t, root, "call_method", temp, "fahrenheit"), 70.7)
			_, err := root.CallMethod(ctxFor(t, callTimeout), "get_attr", temp, "String")
			remoteError(t, err, "builtins", "AttributeError")
			// str() of a Go func.
			wantEqual(t, "str(func)", call(t, root, "py_str", func(int) string { return "" }), "<Go function func(int) string>")
		})

		t.Run("len and iteration of a Go object", func(t *testing.T) {
			b := &bag{items: []int{3, 1, 4, 1, 5}}
			wantEqual(t, "length(bag)", call(t, root, "length", b), int64(5))
			wantEqual(t, "sum_items(bag)", call(t, root, "sum_items", b), int64(14))
			wantEqual(t, "tuple(iter(bag))", call(t, root, "iterate", b), brine.Tuple{int64(3), int64(1), int64(4), int64(1), int64(5)})
			wantEqual(t, "length(empty bag)", call(t, root, "length", &bag{}), int64(0))
			// A Go slice exported by reference: gorpyc's Python protocols for plain Go values
			// (protocol/pyobject.go) give it __len__ once they are wired into the connection;
			// until then Python says "no len()" with a TypeError. Either way, never a wrong answer.
			v, err := root.CallMethod(ctxFor(t, callTimeout), "length", protocol.ByRef{Value: []int{1, 2}})
			if err != nil {
				remoteError(t, err, "builtins", "TypeError")
				t.Logf("len() of a Go slice exported by reference: not supported yet (%v)", err)
			} else {
				wantEqual(t, "length(ByRef([]int{1, 2}))", v, int64(2))
			}
			// By value (a tuple) it works, of course.
			wantEqual(t, "length([]int by value)", call(t, root, "length", []int{1, 2}), int64(2))
		})

		t.Run("ping_client", func(t *testing.T) {
			before := myRoot.calls.Load()
			wantEqual(t, "ping_client()", call(t, root, "ping_client"), "GO-CLIENT")
			wantEqual(t, "ping_client() again", call(t, root, "ping_client"), "GO-CLIENT")
			if n := myRoot.calls.Load() - before; n != 2 {
				t.Errorf("GetServiceName called %d times, want 2", n)
			}
		})

		t.Run("ping_client without a service", func(t *testing.T) {
			// The default root is a VoidService, whose name Python reads as "VOID".
			_, plain := s.root(t)
			wantEqual(t, "ping_client()", call(t, plain, "ping_client"), "VOID")
		})

		t.Run("objects released", func(t *testing.T) {
			// Python dropped its proxies of the Go funcs and objects: the table drains (Python's
			// DELs are asynchronous, so poll). Only the root, held by Python's connection, stays.
			// Python keeps the frames of the last exception it served (Connection._last_traceback),
			// and with them the proxies they reference: replace it with one that references none.
			// The frames of earlier exceptions are reference cycles: Python's cyclic collector
			// frees them (and so the proxies), hence gc_collect.
			_, err := root.CallMethod(ctxFor(t, callTimeout), "raise", "zero")
			remoteError(t, err, "builtins", "ZeroDivisionError")
			waitFor(t, "Go object table to drain", func() (bool, string) {
				call(t, root, "gc_collect")
				n := c.LocalObjects()
				return n == 1, fmt.Sprintf("%d objects", n)
			})
		})
	})
}
