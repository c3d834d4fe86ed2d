//go:build unix

package rpyc_test

// Parity of the Go client with Python's own client against Python services
// (tox-interop/goclient_service.py), run once per peer: chained proxies, iteration semantics,
// argument errors, exception matching and copying containers by value. Where Python's behaviour
// is the specification, tox-interop/goclient_twin.py does the same with Python's client and the
// test asserts that both saw the same.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gorpyc/rpyc"
	"github.com/gorpyc/rpyc/brine"
	"github.com/gorpyc/rpyc/internal/interop"
	"github.com/gorpyc/rpyc/internal/pytyped"
	"github.com/gorpyc/rpyc/netref"
)

// startGoClientService starts goclient_service.py under p and returns its address.
func startGoClientService(t *testing.T, p interop.Peer) *service {
	t.Helper()
	proc := p.Start(t, "goclient_service.py")
	addr, err := proc.WaitListening(startTimeout)
	if err != nil {
		t.Fatalf("goclient_service.py: %v", err)
	}
	return &service{peer: p, proc: proc, addr: addr}
}

// twin runs goclient_twin.py (Python's client) and decodes its JSON output into out.
func twin(t *testing.T, p interop.Peer, out any, args ...string) {
	t.Helper()
	raw := p.Run(t, "goclient_twin.py", args...)
	if err := json.Unmarshal([]byte(raw), out); err != nil {
		t.Fatalf("goclient_twin.py %v: %v\n%s", args, err, raw)
	}
}

// chainCases are goclient_twin.py's CHAIN_CASES: an object of service A, passed to B.probe.
var chainCases = []struct {
	name, kind string
	get        func(t *testing.T, root *rpyc.Ref) any
}{
	{"list", "list", func(t *testing.T, r *rpyc.Ref) any { return call(t, r, "data", "list") }},
	{"set", "set", func(t *testing.T, r *rpyc.Ref) any { return call(t, r, "data", "set") }},
	{"dict", "dict", func(t *testing.T, r *rpyc.Ref) any { return call(t, r, "data", "dict") }},
	{"bag", "bag", func(t *testing.T, r *rpyc.Ref) any { return call(t, r, "bag", 1, 2, 3) }},
	{"point", "point", func(t *testing.T, r *rpyc.Ref) any { return call(t, r, "point", 1, 2) }},
	{"gen", "gen", func(t *testing.T, r *rpyc.Ref) any { return call(t, r, "gen", 4) }},
	{"gen_raise", "gen_raise", func(t *testing.T, r *rpyc.Ref) any { return call(t, r, "gen_raise", 3) }},
	{"callable", "callable", func(t *testing.T, r *rpyc.Ref) any {
		v, err := r.GetAttr(ctxFor(t, callTimeout), "add")
		if err != nil {
			t.Fatal(err)
		}
		return v
	}},
	{"root", "root", func(t *testing.T, r *rpyc.Ref) any { return r }},
	{"resource", "resource", func(t *testing.T, r *rpyc.Ref) any { return call(t, r, "resource") }},
	{"class", "class", func(t *testing.T, r *rpyc.Ref) any {
		v, err := r.GetAttr(ctxFor(t, callTimeout), "Point")
		if err != nil {
			t.Fatal(err)
		}
		return v
	}},
}

// TestInteropChainedProxies passes proxies of one Python service (A) to another (B) through the
// Go client, as Python's client chains netrefs: B's Python code uses each object (len,
// iteration, indexing, str, repr, attributes, calls, with, exceptions...) and reports what it
// saw, which must be what it sees when Python's own client passes the same objects.
func TestInteropChainedProxies(t *testing.T) {
	interop.ForEachPeer(t, func(t *testing.T, p interop.Peer) {
		a, b := startGoClientService(t, p), startGoClientService(t, p)
		var want map[string]map[string]string
		twin(t, p, &want, "chain", a.addr, b.addr)

		_, rootA := a.root(t)
		connB, rootB := b.root(t)
		baseA := localObjects(t, rootA)
		for _, c := range chainCases {
			t.Run(c.name, func(t *testing.T) {
				obj := c.get(t, rootA)
				if r, ok := obj.(*rpyc.Ref); ok && r != rootA {
					defer r.Release()
				}
				raw := callAs[string](t, rootB, "probe", obj, c.kind)
				var got map[string]string
				if err := json.Unmarshal([]byte(raw), &got); err != nil {
					t.Fatalf("probe: %v\n%s", err, raw)
				}
				compareProbe(t, got, want[c.name])
			})
		}
		// Reference counts come back: B gives the forwarded objects back to the Go client, whose
		// proxies of A's objects, no longer held, give them back to A.
		waitFor(t, "the forwarded objects to be released", func() (bool, string) {
			call(t, rootB, "gc_collect")
			runtime.GC()
			nA, nB := localObjects(t, rootA), connB.LocalObjects()
			return nA == baseA && nB <= 1, fmt.Sprintf("A exports %d objects (%d before), the Go side of B %d", nA, baseA, nB)
		})
	})
}

// compareProbe compares what B saw through the Go client with what it saw through Python's.
// Refusals of attribute access compare by exception class: their wording is the server's
// business (gorpyc quotes names its own way).
func compareProbe(t *testing.T, got, want map[string]string) {
	t.Helper()
	if len(want) == 0 {
		t.Fatalf("Python's client saw nothing")
	}
	for op, w := range want {
		g, ok := got[op]
		switch {
		case !ok:
			t.Errorf("%s: missing (Python: %s)", op, w)
		case strings.HasPrefix(w, "!AttributeError") && strings.HasPrefix(g, "!AttributeError"):
		case g != w:
			t.Errorf("%s: Go client %s, Python client %s", op, g, w)
		}
	}
	for op := range got {
		if _, ok := want[op]; !ok {
			t.Errorf("%s: only through the Go client", op)
		}
	}
}

// TestInteropIterSemantics checks Ref.Iter against Python's for loop: a generator that fails
// after 3 items gives the 3 items and then the error; a generator producing one item every
// 200 ms gives its first item after about 200 ms, not after a batch. Ref.BuffIter keeps
// rpyc.buffiter's behaviour (a failing batch loses its items).
func TestInteropIterSemantics(t *testing.T) {
	interop.ForEachPeer(t, func(t *testing.T, p interop.Peer) {
		s := startGoClientService(t, p)
		var want struct {
			GenRaise struct {
				Items []int64
				Error struct {
					Class string
					Args  []string
				}
			} `json:"gen_raise"`
			SlowGen struct {
				Items  []int64
				FirstS float64 `json:"first_s"`
			} `json:"slow_gen"`
		}
		twin(t, p, &want, "iterate", s.addr)
		_, root := s.root(t)

		t.Run("items before an exception", func(t *testing.T) {
			g := refOf(t, call(t, root, "gen_raise", 3))
			var items []int64
			var iterErr error
			for v, err := range g.Iter(ctxFor(t, callTimeout)) {
				if err != nil {
					iterErr = err
					break
				}
				items = append(items, v.(int64))
			}
			if !reflect.DeepEqual(items, want.GenRaise.Items) || len(items) != 3 {
				t.Errorf("items %v, Python's for loop got %v", items, want.GenRaise.Items)
			}
			var re *rpyc.RemoteError
			if !errors.As(iterErr, &re) || re.Name != want.GenRaise.Error.Class || !errors.Is(iterErr, rpyc.ValueError) {
				t.Fatalf("error %v, Python's for loop got %s", iterErr, want.GenRaise.Error.Class)
			}
			if got := []string{brine.Repr(re.Args[0])}; !reflect.DeepEqual(got, want.GenRaise.Error.Args) {
				t.Errorf("error args %v, Python %v", got, want.GenRaise.Error.Args)
			}
		})
		t.Run("first item of a slow generator", func(t *testing.T) {
			g := refOf(t, call(t, root, "slow_gen", 5, 0.2))
			start := time.Now()
			var first time.Duration
			var items []int64
			for v, err := range g.Iter(ctxFor(t, callTimeout)) {
				if err != nil {
					t.Fatal(err)
				}
				if first == 0 {
					first = time.Since(start)
				}
				items = append(items, v.(int64))
			}
			if !reflect.DeepEqual(items, want.SlowGen.Items) {
				t.Errorf("items %v, Python %v", items, want.SlowGen.Items)
			}
			// Python's loop has its first item after one production delay (0.2 s); a batch of
			// 10 would take the whole generator (1 s). Allow for a loaded machine.
			py := time.Duration(want.SlowGen.FirstS * float64(time.Second))
			if first > py+300*time.Millisecond || first > 600*time.Millisecond {
				t.Errorf("first item after %v; Python's for loop: %v", first, py)
			}
			t.Logf("first item after %v (Python's for loop: %v)", first.Round(time.Millisecond), py.Round(time.Millisecond))
		})
		t.Run("lists still go in batches", func(t *testing.T) {
			l := refOf(t, call(t, root, "data", "ints"))
			n := 0
			for v, err := range l.Iter(ctxFor(t, callTimeout)) {
				if err != nil || v != int64(n) {
					t.Fatalf("item %d: %v, %v", n, v, err)
				}
				n++
			}
			if n != 1000 {
				t.Errorf("%d items", n)
			}
			if !netref.Batchable("builtins.list_iterator") || netref.Batchable("builtins.generator") {
				t.Errorf("Batchable: list iterators are, generators are not")
			}
		})
		t.Run("BuffIter is rpyc.buffiter", func(t *testing.T) {
			g := refOf(t, call(t, root, "gen_raise", 3))
			var n int
			var iterErr error
			for _, err := range g.BuffIter(ctxFor(t, callTimeout)) {
				if err != nil {
					iterErr = err
					break
				}
				n++
			}
			// Python's rpyc.buffiter: BUFFITER(10) raises after taking 3 items, which are lost.
			if n != 0 || !errors.Is(iterErr, rpyc.ValueError) {
				t.Errorf("BuffIter: %d items, %v; want 0 items and the ValueError", n, iterErr)
			}
			items, err := rpyc.As[[]int](brine.Tuple(collectBuff(t, refOf(t, call(t, root, "gen", 25)))), nil)
			if err != nil || len(items) != 25 || items[24] != 240 {
				t.Errorf("BuffIter(gen(25)) = %v, %v", items, err)
			}
		})
	})
}

func collectBuff(t *testing.T, r *rpyc.Ref) []any {
	t.Helper()
	var out []any
	for v, err := range r.BuffIter(ctxFor(t, callTimeout)) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

// TestInteropArgumentErrors: an int beyond Python's 4300 digits and a misplaced Kwargs are
// errors before anything is sent, not values sent by reference.
func TestInteropArgumentErrors(t *testing.T) {
	interop.ForEachPeer(t, func(t *testing.T, p interop.Peer) {
		s := startGoClientService(t, p)
		var want struct {
			Raised  string
			Message string
		}
		twin(t, p, &want, "bigint", s.addr)
		_, root := s.root(t)
		huge := new(big.Int).Exp(big.NewInt(10), big.NewInt(5000), nil)
		_, err := root.CallMethod(ctxFor(t, callTimeout), "echo", huge)
		if want.Raised != "ValueError" || !errors.Is(err, rpyc.ValueError) {
			t.Errorf("echo(10**5000): %v; Python's client raises %s", err, want.Raised)
		}
		if err == nil || !strings.Contains(err.Error(), want.Message) {
			t.Errorf("echo(10**5000): %v; Python's message: %q", err, want.Message)
		}
		// The same inside a tuple, and the largest int Python accepts still goes by value.
		if _, err := root.CallMethod(ctxFor(t, callTimeout), "echo", rpyc.Tuple{1, huge}); !errors.Is(err, rpyc.ValueError) {
			t.Errorf("echo((1, 10**5000)): %v", err)
		}
		limit := new(big.Int).Sub(new(big.Int).Exp(big.NewInt(10), big.NewInt(4300), nil), big.NewInt(1))
		if got := call(t, root, "kinds", limit); got != "int" {
			t.Errorf("kinds(10**4300 - 1) = %v", got)
		}

		for _, args := range [][]any{
			{rpyc.Kwargs{"a": 1}, 2},
			{1, rpyc.Tuple{rpyc.Kwargs{"a": 1}}},
			{1, rpyc.Kwargs{"b": rpyc.Kwargs{"c": 1}}},
		} {
			_, err := root.CallMethod(ctxFor(t, callTimeout), "add", args...)
			if !errors.Is(err, netref.ErrKwargs) || !errors.Is(err, rpyc.TypeError) {
				t.Errorf("add%v: %v; want ErrKwargs", args, err)
			}
			if res := root.CallMethodAsync("add", args...); !errors.Is(res.Err(), netref.ErrKwargs) {
				t.Errorf("async add%v: %v; want ErrKwargs", args, res.Err())
			}
		}
		if got := callAs[int](t, root, "add", 1, rpyc.Kwargs{"b": 2}); got != 3 {
			t.Errorf("add(1, b=2) = %d", got)
		}
	})
}

// TestInteropExceptionMatching compares errors.Is with the except clauses that catch the same
// exceptions in Python's client: a service's ValueError subclass is caught by `except
// Exception` only (Python rebuilds it as a GenericException), a FileNotFoundError by `except
// FileNotFoundError` (and matches fs.ErrNotExist in Go).
func TestInteropExceptionMatching(t *testing.T) {
	interop.ForEachPeer(t, func(t *testing.T, p interop.Peer) {
		s := startGoClientService(t, p)
		type outcome struct {
			CaughtBy string `json:"caught_by"`
			Class    string
			Args     []string
		}
		var want map[string]outcome
		twin(t, p, &want, "errors", s.addr)
		_, root := s.root(t)
		for _, c := range []struct {
			name    string
			call    func() error
			clauses []struct {
				name string
				cls  error
			}
		}{
			{"custom", func() error { _, err := root.CallMethod(ctxFor(t, callTimeout), "custom_error", "boom"); return err },
				[]struct {
					name string
					cls  error
				}{{"ValueError", rpyc.ValueError}, {"LookupError", rpyc.LookupError}, {"Exception", rpyc.Exception}}},
			{"not_found", func() error {
				_, err := root.CallMethod(ctxFor(t, callTimeout), "not_found", "/nonexistent/gorpyc")
				return err
			}, []struct {
				name string
				cls  error
			}{{"FileNotFoundError", rpyc.FileNotFoundError}, {"OSError", rpyc.OSError}, {"Exception", rpyc.Exception}}},
			{"key", func() error { _, err := root.CallMethod(ctxFor(t, callTimeout), "data", "nope"); return err },
				[]struct {
					name string
					cls  error
				}{{"KeyError", rpyc.KeyError}, {"LookupError", rpyc.LookupError}, {"Exception", rpyc.Exception}}},
		} {
			t.Run(c.name, func(t *testing.T) {
				err := c.call()
				var re *rpyc.RemoteError
				if !errors.As(err, &re) {
					t.Fatalf("err %v", err)
				}
				caught := ""
				for _, cl := range c.clauses {
					if errors.Is(err, cl.cls) {
						caught = cl.name
						break
					}
				}
				w := want[c.name]
				if caught != w.CaughtBy {
					t.Errorf("caught by %q in Go, by %q in Python", caught, w.CaughtBy)
				}
				if cls := re.Name[strings.LastIndexByte(re.Name, '.')+1:]; cls != w.Class {
					t.Errorf("class %s, Python %s", cls, w.Class)
				}
				args := make([]string, len(re.Args))
				for i, a := range re.Args {
					args[i] = brine.Repr(a)
				}
				if !reflect.DeepEqual(args, w.Args) {
					t.Errorf("args %v, Python %v", args, w.Args)
				}
				if !errors.Is(err, rpyc.BaseException) {
					t.Errorf("not a BaseException")
				}
				if got := errors.Is(err, fs.ErrNotExist); got != (c.name == "not_found") {
					t.Errorf("errors.Is(err, fs.ErrNotExist) = %v", got)
				}
				if !strings.HasPrefix(err.Error(), "rpyc: remote ") {
					t.Errorf("Error() = %q", err.Error())
				}
			})
		}
		_, err := root.CallMethod(ctxFor(t, callTimeout), "custom_error", "boom")
		if got, want := err.Error(), "rpyc: remote __main__.ServiceError: boom"; got != want {
			t.Errorf("Error() = %q, want %q", got, want)
		}
	})
}

// row is one item of goclient_service.py's rows(n), filled from a dict by key.
type row struct {
	ID    int
	Name  string
	Score float64
	Tags  []string
}

// TestInteropCopy copies proxied containers into Go (netref.Copy, and rpyc.As with types that
// need a value) from a service with Python's default configuration, and compares each copy with
// the value as the service itself describes it (its typed JSON dump): containers of literals in
// one repr() request, containers holding other objects item by item, long lists in slices.
func TestInteropCopy(t *testing.T) {
	interop.ForEachPeer(t, func(t *testing.T, p interop.Peer) {
		s := startGoClientService(t, p)
		_, root := s.root(t)
		ctx := ctxFor(t, testTimeout)
		for _, name := range []string{"list", "ints", "dict", "set", "frozenset", "tuple_of_lists",
			"nested", "bytearray", "ordered", "counter", "deque", "defaultdict", "big_dict", "big_set"} {
			t.Run(name, func(t *testing.T) {
				v := call(t, root, "data", name)
				got, err := netref.Copy(ctx, v)
				if err != nil {
					t.Fatalf("Copy: %v", err)
				}
				want, err := pytyped.FromJSON(json.RawMessage(callAs[string](t, root, "data_typed", name)))
				if err != nil {
					t.Fatal(err)
				}
				if !pytyped.Equal(got, want) {
					t.Errorf("Copy(%s)\n got  %.300v\n want %.300v", name, got, want)
				}
			})
		}
		t.Run("As", func(t *testing.T) {
			rows, err := rpyc.As[[]row](root.CallMethod(ctx, "rows", 1000))
			if err != nil || len(rows) != 1000 {
				t.Fatalf("As[[]row]: %d rows, %v", len(rows), err)
			}
			if r := rows[7]; r.ID != 7 || r.Name != "item7" || r.Score != 3.5 || len(r.Tags) != 2 {
				t.Errorf("rows[7] = %+v", r)
			}
			m, err := rpyc.As[map[string]any](root.CallMethod(ctx, "data", "dict"))
			if err != nil || m["a"] != int64(1) || m["c"] != "three" {
				t.Errorf("As[map[string]any](dict) = %v, %v", m, err)
			}
			if d, ok := m["d"].(rpyc.Dict); !ok || len(d) != 1 || d[0].Key != "x" {
				t.Errorf("nested dict %#v: want an rpyc.Dict", m["d"])
			}
			if s, err := rpyc.As[[]int](root.CallMethod(ctx, "data", "set")); err != nil || len(s) != 3 {
				t.Errorf("As[[]int](set) = %v, %v", s, err)
			}
			if b, err := rpyc.As[[]byte](root.CallMethod(ctx, "data", "bytearray")); err != nil || string(b) != "\x00\x01abc\xff" {
				t.Errorf("As[[]byte](bytearray) = %q, %v", b, err)
			}
			if c, err := rpyc.AsContext[map[string]int](ctx, call(t, root, "data", "counter"), nil); err != nil || c["a"] != 5 {
				t.Errorf("As[map[string]int](Counter) = %v, %v", c, err)
			}
			_, err = rpyc.As[map[string]int](root.CallMethod(ctx, "data", "dict"))
			var ce *rpyc.ConvertError
			if !errors.As(err, &ce) || ce.Path != "['b']" {
				t.Errorf("As[map[string]int](dict) = %v; want a ConvertError at ['b']", err)
			}
			// A type that takes the proxy as it is copies nothing.
			l := refOf(t, call(t, root, "data", "list"))
			if r, err := rpyc.As[*rpyc.Ref](l, nil); err != nil || r != l {
				t.Errorf("As[*Ref] = %v, %v", r, err)
			}
			if v, err := rpyc.As[any](l, nil); err != nil || v != any(l) {
				t.Errorf("As[any] = %v, %v", v, err)
			}
			if got, err := rpyc.As[[]int](l, nil); err != nil || !reflect.DeepEqual(got, []int{1, 2, 3}) {
				t.Errorf("As[[]int] = %v, %v", got, err)
			}
		})
		t.Run("objects stay proxies", func(t *testing.T) {
			pts, err := rpyc.As[[]*rpyc.Ref](root.CallMethod(ctx, "data", "with_points"))
			if err != nil || len(pts) != 2 || pts[1].TypeName() != "__main__.Point" {
				t.Fatalf("As[[]*Ref](points) = %v, %v", pts, err)
			}
			if n := callAs[int](t, pts[1], "norm2"); n != 25 {
				t.Errorf("norm2 = %d", n)
			}
			got, err := netref.Copy(ctx, call(t, root, "data", "dict_of_points"))
			d, ok := got.(rpyc.Dict)
			if err != nil || !ok || len(d) != 2 {
				t.Fatalf("Copy(dict_of_points) = %#v, %v", got, err)
			}
			if q, ok := d[1].Value.([]any); !ok || len(q) != 1 {
				t.Errorf("q = %#v", d[1].Value)
			} else if r, ok := q[0].(*rpyc.Ref); !ok || r.TypeName() != "__main__.Point" {
				t.Errorf("q[0] = %#v", q[0])
			}
			rows, err := rpyc.As[[]map[string]any](root.CallMethod(ctx, "data", "with_datetime"))
			if err != nil || len(rows) != 21 || rows[3]["n"] != int64(3) || rows[20]["n"] != int64(20) {
				t.Fatalf("As[[]map[string]any](with_datetime) = %d rows, %v", len(rows), err)
			}
			if r, ok := rows[3]["when"].(*rpyc.Ref); !ok || r.TypeName() != "datetime.date" {
				t.Errorf("when = %#v", rows[3]["when"])
			}
			dm, err := rpyc.As[map[string]any](root.CallMethod(ctx, "data", "dict_mixed"))
			if err != nil || len(dm) != 3001 || dm["k2999"] != int64(2999) {
				t.Errorf("As[map[string]any](dict_mixed) = %d items, %v", len(dm), err)
			}
		})
		t.Run("long list with odd items", func(t *testing.T) {
			start := time.Now()
			items, err := rpyc.As[[]any](root.CallMethod(ctx, "data", "long_mixed"))
			if err != nil || len(items) != 150000 {
				t.Fatalf("%d items, %v", len(items), err)
			}
			for i, it := range items {
				if i%997 == 0 {
					if r, ok := it.(*rpyc.Ref); !ok || r.TypeName() != "datetime.date" {
						t.Fatalf("item %d = %#v", i, it)
					}
				} else if it != int64(i) {
					t.Fatalf("item %d = %#v", i, it)
				}
			}
			t.Logf("150,000 items with 151 datetimes copied in %v", time.Since(start).Round(time.Millisecond))
		})
		t.Run("difference: repr of a str subclass", func(t *testing.T) {
			// README, Differences from Python rpyc: an object whose repr looks like a literal is
			// copied as that literal (obtain would rebuild the Tagged instance).
			got, err := netref.Copy(ctx, call(t, root, "data", "str_subclass"))
			if err != nil || !reflect.DeepEqual(got, []any{"a", int64(1)}) {
				t.Errorf("Copy([Tagged('a'), 1]) = %#v, %v", got, err)
			}
		})
		t.Run("errors", func(t *testing.T) {
			_, err := netref.Copy(ctx, call(t, root, "data", "recursive"))
			if !errors.Is(err, netref.ErrRecursive) {
				t.Errorf("Copy(recursive list) = %v; want ErrRecursive", err)
			}
			// Python cannot send an int beyond 4300 digits (its brine fails, and the server
			// drops the connection: Python's own list(proxy) gets EOFError). Copy stops at the
			// repr's ValueError instead, and the connection lives on.
			_, err = rpyc.As[[]any](root.CallMethod(ctx, "data", "bigint"))
			if !errors.Is(err, rpyc.ValueError) || !strings.Contains(err.Error(), "4300") {
				t.Errorf("As[[]any]([10**5000, 1]) = %v; want the server's ValueError", err)
			}
			if got := callAs[int](t, root, "add", 1, 2); got != 3 {
				t.Errorf("connection unusable after the failed copy")
			}
		})
	})
}
