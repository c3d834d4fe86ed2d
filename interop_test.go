//go:build unix

package rpyc_test

// Live interop tests of the Go client against Python rpyc servers (tox-interop/test_service.py),
// run once per peer (rpyc 5.3.0 and 6.0.1) by interop.ForEachPeer. This file holds the shared
// helpers and the call, attribute, netref and exception scenarios; see also
// interop_callbacks_test.go and interop_lifecycle_test.go.

import (
	"context"
	"errors"
	"math"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorpyc/rpyc"
	"github.com/gorpyc/rpyc/brine"
	"github.com/gorpyc/rpyc/compat"
	"github.com/gorpyc/rpyc/internal/interop"
	"github.com/gorpyc/rpyc/netref"
	"github.com/gorpyc/rpyc/protocol"
)

// Generous bounds: the machine may be small and loaded, and -race slows everything down.
const (
	startTimeout = 30 * time.Second // Python startup until LISTENING
	callTimeout  = 20 * time.Second // one ordinary request
	testTimeout  = 90 * time.Second // a whole subtest
)

// service is a running test_service.py.
type service struct {
	peer interop.Peer
	proc *interop.Process
	addr string
}

// startService starts test_service.py under p (extra arguments go to the script) and waits for
// its address.
func startService(t *testing.T, p interop.Peer, args ...string) *service {
	t.Helper()
	proc := p.Start(t, "test_service.py", args...)
	addr, err := proc.WaitListening(startTimeout)
	if err != nil {
		t.Fatalf("test_service.py: %v", err)
	}
	return &service{peer: p, proc: proc, addr: addr}
}

// wantDialect is the dialect of the peer's rpyc version.
func wantDialect(p interop.Peer) compat.Dialect {
	if strings.HasPrefix(p.Version, "5.") {
		return compat.V5
	}
	return compat.V6
}

// otherDialect is the dialect the peer does not speak.
func otherDialect(p interop.Peer) compat.Dialect {
	if wantDialect(p) == compat.V5 {
		return compat.V6
	}
	return compat.V5
}

// connect opens a connection to the service (the dialect probed) and closes it when the test
// ends.
func (s *service) connect(t *testing.T, opts ...rpyc.Option) *rpyc.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	c, err := rpyc.Connect(ctx, s.addr, opts...)
	if err != nil {
		t.Fatalf("Connect(%s): %v", s.addr, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// root opens a connection and returns it with its root.
func (s *service) root(t *testing.T, opts ...rpyc.Option) (*rpyc.Conn, *rpyc.Ref) {
	t.Helper()
	c := s.connect(t, opts...)
	r, err := c.Root(ctxFor(t, callTimeout))
	if err != nil {
		t.Fatalf("Root: %v", err)
	}
	return c, r
}

// ctxFor returns a context that ends after d or with the test.
func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// call is root.CallMethod with a fresh bounded context, failing the test on error.
func call(t *testing.T, r *rpyc.Ref, name string, args ...any) any {
	t.Helper()
	v, err := r.CallMethod(ctxFor(t, callTimeout), name, args...)
	if err != nil {
		t.Fatalf("%s%v: %v", name, args, err)
	}
	return v
}

// callAs is call followed by a typed conversion.
func callAs[T any](t *testing.T, r *rpyc.Ref, name string, args ...any) T {
	t.Helper()
	v, err := rpyc.As[T](r.CallMethod(ctxFor(t, callTimeout), name, args...))
	if err != nil {
		t.Fatalf("%s%v: %v", name, args, err)
	}
	return v
}

// refOf asserts that v is a remote reference and releases it when the test ends.
func refOf(t *testing.T, v any) *rpyc.Ref {
	t.Helper()
	r, ok := v.(*rpyc.Ref)
	if !ok {
		t.Fatalf("got %T %v, want a remote reference", v, v)
	}
	t.Cleanup(r.Release)
	return r
}

// wantEqual compares brine values (bool is not int, str is not bytes, floats by bits).
func wantEqual(t *testing.T, what string, got, want any) {
	t.Helper()
	if !brine.Equal(got, want) {
		t.Errorf("%s = %#v (%T), want %#v (%T)", what, got, got, want, want)
	}
}

// remoteError asserts that err is a *RemoteError of the given class and returns it.
func remoteError(t *testing.T, err error, module, name string) *rpyc.RemoteError {
	t.Helper()
	var re *rpyc.RemoteError
	if !errors.As(err, &re) {
		t.Fatalf("error %v (%T) is not a RemoteError %s.%s", err, err, module, name)
	}
	if re.Module != module || re.Name != name {
		t.Fatalf("remote error class %s.%s, want %s.%s (%v)", re.Module, re.Name, module, name, err)
	}
	return re
}

// collect iterates a remote iterable with Iter and returns its items.
func collect(t *testing.T, r *rpyc.Ref) []any {
	t.Helper()
	var out []any
	for v, err := range r.Iter(ctxFor(t, callTimeout)) {
		if err != nil {
			t.Fatalf("Iter: %v", err)
		}
		out = append(out, v)
	}
	return out
}

func bigInt(s string) *big.Int {
	b, ok := new(big.Int).SetString(s, 10)
	if !ok {
		panic(s)
	}
	return b
}

func TestInteropCalls(t *testing.T) {
	interop.ForEachPeer(t, func(t *testing.T, p interop.Peer) {
		s := startService(t, p)
		_, root := s.root(t)

		t.Run("positional", func(t *testing.T) {
			wantEqual(t, "add(2, 3)", call(t, root, "add", 2, 3), int64(5))
			wantEqual(t, "add('ab', 'cd')", call(t, root, "add", "ab", "cd"), "abcd")
		})
		t.Run("kwargs and defaults", func(t *testing.T) {
			wantEqual(t, "greet('bob')", call(t, root, "greet", "bob"), "Hello, bob!")
			wantEqual(t, "greet('bob', 'Hi')", call(t, root, "greet", "bob", "Hi"), "Hi, bob!")
			wantEqual(t, "greet('bob', punct='?')", call(t, root, "greet", "bob", rpyc.Kwargs{"punct": "?"}), "Hello, bob?")
			wantEqual(t, "greet(name=..., greeting=..., punct=...)",
				call(t, root, "greet", rpyc.Kwargs{"name": "ann", "greeting": "Hey", "punct": "."}), "Hey, ann.")
			_, err := root.CallMethod(ctxFor(t, callTimeout), "greet", "bob", rpyc.Kwargs{"bogus": 1})
			re := remoteError(t, err, "builtins", "TypeError")
			if !strings.Contains(re.Message(), "bogus") {
				t.Errorf("TypeError message %q does not name the keyword", re.Message())
			}
		})
		t.Run("varargs", func(t *testing.T) {
			got := call(t, root, "varargs", 1, "two", []byte("3"), rpyc.Kwargs{"z": 26, "a": nil, "m": brine.Tuple{1.5}})
			want := brine.Tuple{
				brine.Tuple{int64(1), "two", []byte("3")},
				brine.Tuple{brine.Tuple{"a", nil}, brine.Tuple{"m", brine.Tuple{1.5}}, brine.Tuple{"z", int64(26)}},
			}
			wantEqual(t, "varargs", got, want)
			wantEqual(t, "varargs()", call(t, root, "varargs"), brine.Tuple{brine.Tuple{}, brine.Tuple{}})
		})
		t.Run("echo scalars", func(t *testing.T) {
			big1 := bigInt("1267650600228229401496703205376") // 2**100
			cases := []struct {
				name    string
				in, out any
			}{
				{"int 0", 0, int64(0)},
				{"int immediate", -48, int64(-48)},
				{"int 160", 160, int64(160)},
				{"int64 max", int64(math.MaxInt64), int64(math.MaxInt64)},
				{"int64 min", int64(math.MinInt64), int64(math.MinInt64)},
				{"uint64 max", uint64(math.MaxUint64), bigInt("18446744073709551615")},
				{"2**100", big1, big1},
				{"-2**100", new(big.Int).Neg(big1), new(big.Int).Neg(big1)},
				{"float", 3.25, 3.25},
				{"float -0.0", math.Copysign(0, -1), math.Copysign(0, -1)},
				{"float +inf", math.Inf(1), math.Inf(1)},
				{"float -inf", math.Inf(-1), math.Inf(-1)},
				{"float max", math.MaxFloat64, math.MaxFloat64},
				{"float smallest", math.SmallestNonzeroFloat64, math.SmallestNonzeroFloat64},
				{"complex", complex(1.5, -2), complex(1.5, -2)},
				{"str empty", "", ""},
				{"str non-ASCII", "héllo wörld ✓ 日本 🐍", "héllo wörld ✓ 日本 🐍"},
				{"bytes empty", []byte{}, []byte{}},
				{"bytes", []byte{0, 1, 0xfe, 0xff}, []byte{0, 1, 0xfe, 0xff}},
				{"True", true, true},
				{"False", false, false},
				{"None", nil, nil},
				{"empty tuple", brine.Tuple{}, brine.Tuple{}},
				{"nested tuples", brine.Tuple{1, brine.Tuple{"a", brine.Tuple{[]byte("b"), nil, brine.Tuple{}}}, 2.5},
					brine.Tuple{int64(1), brine.Tuple{"a", brine.Tuple{[]byte("b"), nil, brine.Tuple{}}}, 2.5}},
				{"frozenset", brine.FrozenSet{1, "a", brine.Tuple{2}}, brine.FrozenSet{int64(1), "a", brine.Tuple{int64(2)}}},
				{"empty frozenset", brine.FrozenSet{}, brine.FrozenSet{}},
				{"slice", brine.Slice{Start: 1, Stop: nil, Step: -2}, brine.Slice{Start: int64(1), Stop: nil, Step: int64(-2)}},
				{"NotImplemented", brine.NotImplemented, brine.NotImplemented},
				{"Ellipsis", brine.Ellipsis, brine.Ellipsis},
				{"Go []int as tuple", []int{1, 2, 3}, brine.Tuple{int64(1), int64(2), int64(3)}},
				{"Go []string as tuple", []string{"a", "é"}, brine.Tuple{"a", "é"}},
			}
			for _, c := range cases {
				got, err := root.CallMethod(ctxFor(t, callTimeout), "echo", c.in)
				if err != nil {
					t.Errorf("echo(%s): %v", c.name, err)
					continue
				}
				wantEqual(t, "echo("+c.name+")", got, c.out)
			}
			// NaN: brine.Equal compares bits; Python keeps the payload but only NaN-ness matters.
			f, err := rpyc.As[float64](root.CallMethod(ctxFor(t, callTimeout), "echo", math.NaN()))
			if err != nil || !math.IsNaN(f) {
				t.Errorf("echo(nan) = %v, %v; want NaN", f, err)
			}
			// -0.0 keeps its sign (brine.Equal above compares bits; say it explicitly too).
			z, err := rpyc.As[float64](root.CallMethod(ctxFor(t, callTimeout), "echo", math.Copysign(0, -1)))
			if err != nil || z != 0 || !math.Signbit(z) {
				t.Errorf("echo(-0.0) = %v, %v; want -0.0", z, err)
			}
		})
		t.Run("kinds", func(t *testing.T) {
			cases := []struct {
				in   any
				want string
			}{
				{"s", "str"},
				{[]byte("s"), "bytes"},
				{[]byte{}, "bytes"},
				{"", "str"},
				{1, "int"},
				{true, "bool"},
				{false, "bool"},
				{int64(0), "int"},
				{bigInt("123456789012345678901234567890"), "int"},
				{1.0, "float"},
				{complex(0, 1), "complex"},
				{nil, "NoneType"},
				{brine.Tuple{1}, "tuple"},
				{[]int{1}, "tuple"},
				{brine.FrozenSet{1}, "frozenset"},
				{brine.Slice{Start: 1, Stop: 2}, "slice"},
				{brine.NotImplemented, "NotImplementedType"},
				{brine.Ellipsis, "ellipsis"},
			}
			for _, c := range cases {
				got, err := rpyc.As[string](root.CallMethod(ctxFor(t, callTimeout), "kinds", c.in))
				if err != nil {
					t.Errorf("kinds(%#v): %v", c.in, err)
					continue
				}
				if got != c.want {
					t.Errorf("kinds(%#v) = %q, want %q", c.in, got, c.want)
				}
			}
		})
		t.Run("As conversions", func(t *testing.T) {
			n, err := rpyc.As[int8](root.CallMethod(ctxFor(t, callTimeout), "add", 100, 100))
			if !errors.Is(err, netref.ErrConvert) {
				t.Errorf("As[int8](200) = %v, %v; want ErrConvert", n, err)
			}
			l, err := rpyc.As[[]int](root.CallMethod(ctxFor(t, callTimeout), "echo", []int{4, 5}))
			if err != nil || !slices.Equal(l, []int{4, 5}) {
				t.Errorf("As[[]int](echo((4, 5))) = %v, %v", l, err)
			}
			_, err = rpyc.As[string](root.CallMethod(ctxFor(t, callTimeout), "echo", []byte("x")))
			if !errors.Is(err, netref.ErrConvert) {
				t.Errorf("As[string](bytes) err = %v; want ErrConvert", err)
			}
		})
		t.Run("version", func(t *testing.T) {
			wantEqual(t, "version()", call(t, root, "version"), p.Version)
		})
	})
}

func TestInteropAttributes(t *testing.T) {
	interop.ForEachPeer(t, func(t *testing.T, p interop.Peer) {
		s := startService(t, p)
		_, root := s.root(t)
		ctx := ctxFor(t, testTimeout)

		v, err := root.GetAttr(ctx, "answer")
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "root.answer", v, int64(42))
		v, err = root.GetAttr(ctx, "exposed_answer")
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "root.exposed_answer", v, int64(42))
		v, err = root.GetAttr(ctx, "name")
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "root.name", v, "test-service")

		// Refused: dunders outside safe_attrs, private and public non-exposed names (the server
		// does not allow public attrs), unknown names.
		for _, name := range []string{"__class__", "__dict__", "_conn", "on_connect", "no_such_attr"} {
			_, err := root.GetAttr(ctx, name)
			if !errors.Is(err, protocol.AttributeError) {
				t.Errorf("GetAttr(%q) err = %v, want AttributeError", name, err)
				continue
			}
			remoteError(t, err, "builtins", "AttributeError")
		}
		// A refused method name through CALLATTR.
		_, err = root.CallMethod(ctx, "on_connect", nil)
		if !errors.Is(err, protocol.AttributeError) {
			t.Errorf("CallMethod(on_connect) err = %v, want AttributeError", err)
		}
		// SETATTR and DELATTR: services refuse them always (and allow_setattr is off).
		if err := root.SetAttr(ctx, "answer", 1); !errors.Is(err, protocol.AttributeError) {
			t.Errorf("SetAttr(answer) err = %v, want AttributeError", err)
		}
		if err := root.SetAttr(ctx, "fresh", 1); !errors.Is(err, protocol.AttributeError) {
			t.Errorf("SetAttr(fresh) err = %v, want AttributeError", err)
		}
		if err := root.DelAttr(ctx, "answer"); !errors.Is(err, protocol.AttributeError) {
			t.Errorf("DelAttr(answer) err = %v, want AttributeError", err)
		}
		// On a plain object too (not a service): allow_setattr is off.
		pt := refOf(t, call(t, root, "point", 1, 2))
		if err := pt.SetAttr(ctx, "exposed_x", 5); !errors.Is(err, protocol.AttributeError) {
			t.Errorf("point.SetAttr err = %v, want AttributeError", err)
		}
		wantEqual(t, "point.x after refused SetAttr", mustGetAttr(t, pt, "x"), int64(1))
		// Nothing changed.
		v, err = root.GetAttr(ctx, "answer")
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "root.answer", v, int64(42))
	})
}

func mustGetAttr(t *testing.T, r *rpyc.Ref, name string) any {
	t.Helper()
	v, err := r.GetAttr(ctxFor(t, callTimeout), name)
	if err != nil {
		t.Fatalf("GetAttr(%q): %v", name, err)
	}
	return v
}

func TestInteropNetrefs(t *testing.T) {
	interop.ForEachPeer(t, func(t *testing.T, p interop.Peer) {
		s := startService(t, p)
		_, root := s.root(t)

		t.Run("list", func(t *testing.T) {
			ctx := ctxFor(t, testTimeout)
			l := refOf(t, call(t, root, "get_list", 5))
			if l.TypeName() != "builtins.list" || l.IsClass() {
				t.Errorf("TypeName %q IsClass %v", l.TypeName(), l.IsClass())
			}
			if n, err := l.Len(ctx); err != nil || n != 5 {
				t.Errorf("Len = %d, %v; want 5", n, err)
			}
			for _, c := range []struct{ key, want any }{
				{0, int64(0)}, {4, int64(4)}, {-1, int64(4)}, {-5, int64(0)},
			} {
				v, err := l.GetItem(ctx, c.key)
				if err != nil {
					t.Errorf("l[%v]: %v", c.key, err)
					continue
				}
				wantEqual(t, "list item", v, c.want)
			}
			if _, err := l.GetItem(ctx, 5); !errors.Is(err, protocol.IndexError) || !errors.Is(err, protocol.LookupError) {
				t.Errorf("l[5] err = %v, want IndexError", err)
			}
			sub, err := l.GetItem(ctx, brine.Slice{Start: 1, Stop: 4})
			if err != nil {
				t.Fatal(err)
			}
			subr := refOf(t, sub)
			wantEqual(t, "l[1:4]", brine.Tuple(collect(t, subr)), brine.Tuple{int64(1), int64(2), int64(3)})
			rev, err := l.GetItem(ctx, brine.Slice{Step: -2})
			if err != nil {
				t.Fatal(err)
			}
			wantEqual(t, "l[::-2]", brine.Tuple(collect(t, refOf(t, rev))), brine.Tuple{int64(4), int64(2), int64(0)})
			for _, c := range []struct {
				v    any
				want bool
			}{{3, true}, {7, false}, {"3", false}} {
				if got, err := l.Contains(ctx, c.v); err != nil || got != c.want {
					t.Errorf("%#v in l = %v, %v; want %v", c.v, got, err, c.want)
				}
			}
			wantEqual(t, "list(l)", brine.Tuple(collect(t, l)), brine.Tuple{int64(0), int64(1), int64(2), int64(3), int64(4)})
			// Mutation on the remote list.
			if err := l.SetItem(ctx, 0, "zero"); err != nil {
				t.Fatal(err)
			}
			if err := l.SetItem(ctx, -1, brine.Tuple{1, 2}); err != nil {
				t.Fatal(err)
			}
			if err := l.DelItem(ctx, 1); err != nil {
				t.Fatal(err)
			}
			wantEqual(t, "l after mutation", brine.Tuple(collect(t, l)), brine.Tuple{"zero", int64(2), int64(3), brine.Tuple{int64(1), int64(2)}})
			if err := l.DelItem(ctx, brine.Slice{Start: 1, Stop: 3}); err != nil {
				t.Fatal(err)
			}
			if n, err := l.Len(ctx); err != nil || n != 2 {
				t.Errorf("Len after del l[1:3] = %d, %v; want 2", n, err)
			}
			if err := l.DelItem(ctx, 10); !errors.Is(err, protocol.IndexError) {
				t.Errorf("del l[10] err = %v, want IndexError", err)
			}
			if s, err := l.Str(ctx); err != nil || s != "['zero', (1, 2)]" {
				t.Errorf("str(l) = %q, %v", s, err)
			}
			// Bool: a non-empty list is true, an empty one false.
			if b, err := l.Bool(ctx); err != nil || !b {
				t.Errorf("bool(l) = %v, %v; want true", b, err)
			}
			empty := refOf(t, call(t, root, "get_list", 0))
			if b, err := empty.Bool(ctx); err != nil || b {
				t.Errorf("bool([]) = %v, %v; want false", b, err)
			}
			if n := len(collect(t, empty)); n != 0 {
				t.Errorf("iterating [] gave %d items", n)
			}
			// A long list crosses several BUFFITER batches (10, 20, 40, ...).
			long := refOf(t, call(t, root, "get_list", 2500))
			items := collect(t, long)
			if len(items) != 2500 {
				t.Fatalf("list(range(2500)) has %d items", len(items))
			}
			for i, it := range items {
				if it != int64(i) {
					t.Fatalf("item %d = %v", i, it)
				}
			}
			// Breaking out of an iteration early is fine and the list is still usable.
			count := 0
			for v, err := range long.Iter(ctx) {
				if err != nil || v != int64(count) {
					t.Fatalf("item %d = %v, %v", count, v, err)
				}
				if count++; count == 15 {
					break
				}
			}
			if n, err := long.Len(ctx); err != nil || n != 2500 {
				t.Errorf("Len = %d, %v", n, err)
			}
			// A Ref passed back to the server arrives as the same Python object.
			wantEqual(t, "kinds(list ref)", call(t, root, "kinds", l), "list")
			same := refOf(t, call(t, root, "echo", l))
			if same.ID() != l.ID() {
				t.Errorf("echo(l) came back as %v, want %v", same.ID(), l.ID())
			}
			if eq, err := same.Equal(ctx, l); err != nil || !eq {
				t.Errorf("echo(l) == l: %v, %v", eq, err)
			}
		})

		t.Run("dict", func(t *testing.T) {
			ctx := ctxFor(t, testTimeout)
			d := refOf(t, call(t, root, "get_dict"))
			if d.TypeName() != "builtins.dict" {
				t.Errorf("TypeName %q", d.TypeName())
			}
			if n, err := d.Len(ctx); err != nil || n != 3 {
				t.Errorf("Len = %d, %v; want 3", n, err)
			}
			v, err := d.GetItem(ctx, "a")
			if err != nil {
				t.Fatal(err)
			}
			wantEqual(t, "d['a']", v, int64(1))
			v, err = d.GetItem(ctx, "c")
			if err != nil {
				t.Fatal(err)
			}
			wantEqual(t, "d['c']", v, "three")
			b, err := d.GetItem(ctx, "b")
			if err != nil {
				t.Fatal(err)
			}
			wantEqual(t, "d['b']", brine.Tuple(collect(t, refOf(t, b))), brine.Tuple{int64(1), int64(2)})
			_, err = d.GetItem(ctx, "missing")
			if !errors.Is(err, protocol.KeyError) || !errors.Is(err, protocol.LookupError) {
				t.Fatalf("d['missing'] err = %v, want KeyError", err)
			}
			re := remoteError(t, err, "builtins", "KeyError")
			wantEqual(t, "KeyError args", re.Args, brine.Tuple{"missing"})
			for _, c := range []struct {
				k    any
				want bool
			}{{"a", true}, {"z", false}, {[]byte("a"), false}} {
				if got, err := d.Contains(ctx, c.k); err != nil || got != c.want {
					t.Errorf("%#v in d = %v, %v; want %v", c.k, got, err, c.want)
				}
			}
			keys := collect(t, d)
			wantEqual(t, "list(d)", brine.Tuple(keys), brine.Tuple{"a", "b", "c"})
			if err := d.SetItem(ctx, brine.Tuple{1, 2}, "tuple key"); err != nil {
				t.Fatal(err)
			}
			v, err = d.GetItem(ctx, brine.Tuple{1, 2})
			if err != nil {
				t.Fatal(err)
			}
			wantEqual(t, "d[(1, 2)]", v, "tuple key")
			if err := d.DelItem(ctx, "a"); err != nil {
				t.Fatal(err)
			}
			if err := d.DelItem(ctx, "a"); !errors.Is(err, protocol.KeyError) {
				t.Errorf("second del d['a'] err = %v, want KeyError", err)
			}
			if n, err := d.Len(ctx); err != nil || n != 3 {
				t.Errorf("Len = %d, %v; want 3", n, err)
			}
		})

		t.Run("set", func(t *testing.T) {
			ctx := ctxFor(t, testTimeout)
			st := refOf(t, call(t, root, "get_set"))
			if st.TypeName() != "builtins.set" {
				t.Errorf("TypeName %q", st.TypeName())
			}
			if n, err := st.Len(ctx); err != nil || n != 3 {
				t.Errorf("Len = %d, %v; want 3", n, err)
			}
			for _, c := range []struct {
				v    any
				want bool
			}{{1, true}, {3, true}, {4, false}, {"1", false}, {1.0, true}} {
				if got, err := st.Contains(ctx, c.v); err != nil || got != c.want {
					t.Errorf("%#v in set = %v, %v; want %v", c.v, got, err, c.want)
				}
			}
			items, err := rpyc.As[[]int](brine.Tuple(collect(t, st)), nil)
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(items)
			if !slices.Equal(items, []int{1, 2, 3}) {
				t.Errorf("set items %v", items)
			}
		})

		t.Run("generator", func(t *testing.T) {
			ctx := ctxFor(t, testTimeout)
			g := refOf(t, call(t, root, "gen", 5))
			if g.TypeName() != "builtins.generator" {
				t.Errorf("TypeName %q", g.TypeName())
			}
			first, err := g.Next(ctx)
			if err != nil {
				t.Fatal(err)
			}
			wantEqual(t, "next(gen)", first, int64(0))
			wantEqual(t, "rest of gen", brine.Tuple(collect(t, g)), brine.Tuple{int64(1), int64(4), int64(9), int64(16)})
			for range 2 {
				v, err := g.Next(ctx)
				if !errors.Is(err, protocol.ErrStopIteration) || !errors.Is(err, protocol.StopIteration) {
					t.Errorf("next(exhausted gen) = %v, %v; want StopIteration", v, err)
				}
			}
			// An exhausted generator iterates as empty.
			if n := len(collect(t, g)); n != 0 {
				t.Errorf("exhausted generator yielded %d items", n)
			}
			// A generator consumed only with Next.
			g2 := refOf(t, call(t, root, "gen", 2))
			var got []any
			for {
				v, err := g2.Next(ctx)
				if errors.Is(err, protocol.ErrStopIteration) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, v)
			}
			wantEqual(t, "gen(2) by next", brine.Tuple(got), brine.Tuple{int64(0), int64(1)})
		})

		t.Run("instance", func(t *testing.T) {
			ctx := ctxFor(t, testTimeout)
			pt := refOf(t, call(t, root, "point", 3, 4))
			if pt.TypeName() != "__main__.Point" || pt.IsClass() {
				t.Errorf("TypeName %q IsClass %v", pt.TypeName(), pt.IsClass())
			}
			wantEqual(t, "pt.x", mustGetAttr(t, pt, "x"), int64(3))
			wantEqual(t, "pt.y", mustGetAttr(t, pt, "exposed_y"), int64(4))
			if n, err := rpyc.As[int](pt.CallMethod(ctx, "norm2")); err != nil || n != 25 {
				t.Errorf("norm2() = %d, %v; want 25", n, err)
			}
			if s, err := pt.Str(ctx); err != nil || s != "(3, 4)" {
				t.Errorf("str(pt) = %q, %v", s, err)
			}
			if s, err := pt.Repr(ctx); err != nil || s != "Point(3, 4)" {
				t.Errorf("repr(pt) = %q, %v", s, err)
			}
			same := refOf(t, call(t, root, "point", 3, 4))
			other := refOf(t, call(t, root, "point", 4, 3))
			if same.ID() == pt.ID() {
				t.Fatalf("two points share id %v", pt.ID())
			}
			for _, c := range []struct {
				other any
				want  bool
			}{{same, true}, {pt, true}, {other, false}, {brine.Tuple{3, 4}, false}, {nil, false}} {
				if eq, err := pt.Equal(ctx, c.other); err != nil || eq != c.want {
					t.Errorf("pt == %v: %v, %v; want %v", c.other, eq, err, c.want)
				}
			}
			if ne, err := pt.Compare(ctx, netref.OpNe, other); err != nil || ne != true {
				t.Errorf("pt != other: %v, %v", ne, err)
			}
			if lt, err := pt.Compare(ctx, netref.OpLt, other); err != nil || lt != brine.NotImplemented {
				t.Errorf("pt < other: %v, %v; want NotImplemented", lt, err)
			}
			h, err := pt.Hash(ctx)
			if err != nil {
				t.Fatal(err)
			}
			wantEqual(t, "hash(pt)", h, call(t, root, "py_hash", pt))
			wantEqual(t, "hash(pt)", h, call(t, root, "py_hash", brine.Tuple{3, 4})) // hash((x, y))
			h2, err := same.Hash(ctx)
			if err != nil || h2 != h {
				t.Errorf("hash(equal point) = %d, %v; want %d", h2, err, h)
			}
			names, err := pt.Dir(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range []string{"exposed_x", "exposed_y", "exposed_norm2", "__eq__", "__hash__", "__init__"} {
				if !slices.Contains(names, n) {
					t.Errorf("dir(pt) lacks %q: %v", n, names)
				}
			}
			if !slices.IsSorted(names) {
				t.Errorf("dir(pt) not sorted: %v", names)
			}
			// Neither __bool__ nor __len__: true, like Python.
			if b, err := pt.Bool(ctx); err != nil || !b {
				t.Errorf("bool(pt) = %v, %v; want true", b, err)
			}
			if _, err := pt.CallMethod(ctx, "norm2", 1); !errors.Is(err, protocol.TypeError) {
				t.Errorf("norm2(1) err = %v, want TypeError", err)
			}
		})

		t.Run("class", func(t *testing.T) {
			ctx := ctxFor(t, testTimeout)
			cls := refOf(t, mustGetAttr(t, root, "Point"))
			if !cls.IsClass() || cls.TypeName() != "__main__.Point" {
				t.Fatalf("Point: IsClass %v TypeName %q", cls.IsClass(), cls.TypeName())
			}
			pt := refOf(t, call(t, root, "point", 1, 2))
			if ok, err := pt.IsInstance(ctx, cls); err != nil || !ok {
				t.Errorf("isinstance(point, Point) = %v, %v; want true", ok, err)
			}
			l := refOf(t, call(t, root, "get_list", 1))
			if ok, err := l.IsInstance(ctx, cls); err != nil || ok {
				t.Errorf("isinstance(list, Point) = %v, %v; want false", ok, err)
			}
			// Calling the class makes an instance.
			made := refOf(t, mustCall(t, cls, 6, 8))
			if n, err := rpyc.As[int](made.CallMethod(ctx, "norm2")); err != nil || n != 100 {
				t.Errorf("Point(6, 8).norm2() = %d, %v", n, err)
			}
			if ok, err := made.IsInstance(ctx, cls); err != nil || !ok {
				t.Errorf("isinstance(Point(6, 8), Point) = %v, %v", ok, err)
			}
			if s, err := cls.Repr(ctx); err != nil || s != "<class '__main__.Point'>" {
				t.Errorf("repr(Point) = %q, %v", s, err)
			}
		})

		t.Run("module", func(t *testing.T) {
			ctx := ctxFor(t, testTimeout)
			mod := refOf(t, call(t, root, "module"))
			if mod.TypeName() != "posixpath" || mod.IsClass() {
				t.Errorf("TypeName %q IsClass %v", mod.TypeName(), mod.IsClass())
			}
			// The default server refuses public non-exposed names such as join.
			if _, err := mod.CallMethod(ctx, "join", "a", "b"); !errors.Is(err, protocol.AttributeError) {
				t.Errorf("os.path.join on a default server: err = %v, want AttributeError", err)
			}
			if s, err := mod.Str(ctx); err != nil || !strings.HasPrefix(s, "<module 'posixpath'") {
				t.Errorf("str(os.path) = %q, %v", s, err)
			}
			names, err := mod.Dir(ctx)
			if err != nil || !slices.Contains(names, "join") {
				t.Errorf("dir(os.path) = %v, %v; want join in it", names, err)
			}
			// With allow_public_attrs the module's functions are reachable.
			pub := startService(t, p, "--allow-public-attrs")
			_, proot := pub.root(t)
			pmod := refOf(t, call(t, proot, "module"))
			if pmod.TypeName() != "posixpath" {
				t.Errorf("TypeName %q", pmod.TypeName())
			}
			wantEqual(t, "os.path.join('a', 'b', 'c')", mustCallMethod(t, pmod, "join", "a", "b", "c"), "a/b/c")
			wantEqual(t, "os.path.basename", mustCallMethod(t, pmod, "basename", "/x/y.txt"), "y.txt")
			wantEqual(t, "os.path.splitext", mustCallMethod(t, pmod, "splitext", "f.tar.gz"), brine.Tuple{"f.tar", ".gz"})
			// GETATTR + CALL works too.
			join := refOf(t, mustGetAttr(t, pmod, "join"))
			wantEqual(t, "join('/', 'x')", mustCall(t, join, "/", "x"), "/x")
		})

		t.Run("context manager", func(t *testing.T) {
			ctx := ctxFor(t, testTimeout)
			res := refOf(t, call(t, root, "resource"))
			var entered any
			err := res.With(ctx, func(v any) error {
				entered = v
				// Inside the block, the log shows only the enter.
				wantEqual(t, "log inside", brine.Tuple(collect(t, refOf(t, mustGetAttr(t, res, "log")))), brine.Tuple{"enter"})
				return nil
			})
			if err != nil {
				t.Fatalf("With: %v", err)
			}
			// __enter__ returned self: the same object, hence the same Ref.
			if er, ok := entered.(*rpyc.Ref); !ok || er.ID() != res.ID() {
				t.Errorf("__enter__ returned %v, want the resource itself", entered)
			}
			wantEqual(t, "log after ok", brine.Tuple(collect(t, refOf(t, mustGetAttr(t, res, "log")))), brine.Tuple{"enter", "exit-ok"})

			boom := errors.New("boom in block")
			err = res.With(ctx, func(any) error { return boom })
			if !errors.Is(err, boom) {
				t.Errorf("With(error) = %v, want the block's error", err)
			}
			wantEqual(t, "log after error", brine.Tuple(collect(t, refOf(t, mustGetAttr(t, res, "log")))),
				brine.Tuple{"enter", "exit-ok", "enter", "exit-error"})
		})
	})
}

func mustCall(t *testing.T, r *rpyc.Ref, args ...any) any {
	t.Helper()
	v, err := r.Call(ctxFor(t, callTimeout), args...)
	if err != nil {
		t.Fatalf("call %v%v: %v", r, args, err)
	}
	return v
}

func mustCallMethod(t *testing.T, r *rpyc.Ref, name string, args ...any) any {
	t.Helper()
	v, err := r.CallMethod(ctxFor(t, callTimeout), name, args...)
	if err != nil {
		t.Fatalf("%v.%s%v: %v", r, name, args, err)
	}
	return v
}

func TestInteropExceptions(t *testing.T) {
	interop.ForEachPeer(t, func(t *testing.T, p interop.Peer) {
		s := startService(t, p)
		c, root := s.root(t)
		raise := func(kind string, msg ...any) error {
			t.Helper()
			v, err := root.CallMethod(ctxFor(t, callTimeout), "raise", append([]any{kind}, msg...)...)
			if err == nil {
				t.Fatalf("raise(%q) returned %v, want an error", kind, v)
			}
			return err
		}
		checkCommon := func(t *testing.T, re *rpyc.RemoteError) {
			t.Helper()
			if !strings.HasPrefix(re.Traceback, "Traceback (most recent call last)") {
				t.Errorf("%s traceback %q", re.Name, re.Traceback)
			}
			if !strings.Contains(re.Traceback, re.Name) {
				t.Errorf("%s traceback does not name the class: %q", re.Name, re.Traceback)
			}
			if v, ok := re.Attr("_remote_version"); !ok || v != p.Version {
				t.Errorf("%s _remote_version = %v, %v; want %q", re.Name, v, ok, p.Version)
			}
		}

		t.Run("ZeroDivisionError", func(t *testing.T) {
			err := raise("zero")
			re := remoteError(t, err, "builtins", "ZeroDivisionError")
			wantEqual(t, "args", re.Args, brine.Tuple{"division by zero"})
			if !errors.Is(err, protocol.ZeroDivisionError) || !errors.Is(err, protocol.ArithmeticError) ||
				!errors.Is(err, protocol.Exception) || errors.Is(err, protocol.LookupError) {
				t.Errorf("errors.Is hierarchy wrong for %v", err)
			}
			if got := err.Error(); got != "rpyc: remote ZeroDivisionError: division by zero" {
				t.Errorf("Error() = %q", got)
			}
			checkCommon(t, re)
		})
		t.Run("KeyError", func(t *testing.T) {
			err := raise("key", "the-key")
			re := remoteError(t, err, "builtins", "KeyError")
			wantEqual(t, "args", re.Args, brine.Tuple{"the-key"})
			if !errors.Is(err, protocol.KeyError) || !errors.Is(err, protocol.LookupError) || errors.Is(err, protocol.IndexError) {
				t.Errorf("errors.Is hierarchy wrong for %v", err)
			}
			if re.Message() != "'the-key'" {
				t.Errorf("Message() = %q", re.Message())
			}
			checkCommon(t, re)
		})
		t.Run("FileNotFoundError", func(t *testing.T) {
			err := raise("notfound", "zz")
			re := remoteError(t, err, "builtins", "FileNotFoundError")
			if !errors.Is(err, protocol.FileNotFoundError) || !errors.Is(err, protocol.OSError) || errors.Is(err, protocol.PermissionError) {
				t.Errorf("errors.Is hierarchy wrong for %v", err)
			}
			wantEqual(t, "args", re.Args, brine.Tuple{int64(2), "No such file or directory"})
			if v, ok := re.Attr("errno"); !ok || v != int64(2) {
				t.Errorf("errno = %v, %v; want 2", v, ok)
			}
			if v, ok := re.Attr("filename"); !ok || v != "/nonexistent/gorpyc/zz" {
				t.Errorf("filename = %v, %v", v, ok)
			}
			if v, ok := re.Attr("strerror"); !ok || v != "No such file or directory" {
				t.Errorf("strerror = %v, %v", v, ok)
			}
			checkCommon(t, re)
		})
		builtins := []struct {
			name  string
			bases []error
		}{
			{"ValueError", []error{protocol.ValueError, protocol.Exception}},
			{"TypeError", []error{protocol.TypeError, protocol.Exception}},
			{"TimeoutError", []error{protocol.TimeoutError, protocol.OSError}},
			{"AttributeError", []error{protocol.AttributeError}},
			{"PermissionError", []error{protocol.PermissionError, protocol.OSError}},
			{"NotImplementedError", []error{protocol.NotImplementedError, protocol.RuntimeError}},
			{"RuntimeError", []error{protocol.RuntimeError}},
			{"IndexError", []error{protocol.IndexError, protocol.LookupError}},
			{"OverflowError", []error{protocol.OverflowError, protocol.ArithmeticError}},
			{"ConnectionError", []error{protocol.ConnectionError, protocol.OSError}},
			{"Exception", []error{protocol.Exception}},
		}
		for _, b := range builtins {
			t.Run(b.name, func(t *testing.T) {
				err := raise(b.name, "msg for "+b.name)
				re := remoteError(t, err, "builtins", b.name)
				wantEqual(t, "args", re.Args, brine.Tuple{"msg for " + b.name})
				for _, base := range append(b.bases, protocol.BaseException) {
					if !errors.Is(err, base) {
						t.Errorf("errors.Is(%v, %v) = false", err, base)
					}
				}
				if errors.Is(err, protocol.KeyError) {
					t.Errorf("errors.Is(%v, KeyError) = true", err)
				}
				if re.Message() != "msg for "+b.name {
					t.Errorf("Message() = %q", re.Message())
				}
				checkCommon(t, re)
			})
		}
		t.Run("custom", func(t *testing.T) {
			err := raise("custom", "boom")
			re := remoteError(t, err, "__main__", "CustomError")
			wantEqual(t, "args", re.Args, brine.Tuple{"boom", int64(7)})
			if v, ok := re.Attr("code"); !ok || v != int64(7) {
				t.Errorf("code = %v, %v; want 7", v, ok)
			}
			if !strings.Contains(re.Traceback, "CustomError") || !strings.Contains(re.Traceback, "Traceback (most recent call last)") {
				t.Errorf("traceback %q", re.Traceback)
			}
			if !strings.Contains(re.Traceback, "exposed_raise") {
				t.Errorf("traceback does not show the raising function: %q", re.Traceback)
			}
			// Python's client rebuilds a class it cannot import as a subclass of Exception
			// (vinegar's GenericException): `except Exception` catches it, nothing narrower does.
			if !errors.Is(err, protocol.Exception) || !errors.Is(err, protocol.BaseException) || errors.Is(err, protocol.ValueError) {
				t.Errorf("a non-builtin class must match Exception and BaseException only: %v", err)
			}
			if !errors.Is(err, &protocol.ExceptionType{Module: "__main__", Name: "CustomError"}) {
				t.Errorf("errors.Is(err, ExceptionType{__main__, CustomError}) = false")
			}
			if got := err.Error(); got != "rpyc: remote __main__.CustomError: ('boom', 7)" {
				t.Errorf("Error() = %q", got)
			}
			checkCommon(t, re)
		})
		t.Run("StopIteration", func(t *testing.T) {
			err := raise("stop")
			if !errors.Is(err, protocol.ErrStopIteration) || !errors.Is(err, protocol.StopIteration) {
				t.Errorf("raise StopIteration: err = %v, want ErrStopIteration", err)
			}
		})
		t.Run("connection still usable", func(t *testing.T) {
			wantEqual(t, "add after errors", call(t, root, "add", 40, 2), int64(42))
			if c.Closed() {
				t.Error("connection closed after exceptions")
			}
		})
		t.Run("exception in a wrong call", func(t *testing.T) {
			_, err := root.CallMethod(ctxFor(t, callTimeout), "add", 1)
			re := remoteError(t, err, "builtins", "TypeError")
			if !strings.Contains(re.Message(), "missing 1 required positional argument") {
				t.Errorf("message %q", re.Message())
			}
			_, err = root.CallMethod(ctxFor(t, callTimeout), "add", 1, "x")
			remoteError(t, err, "builtins", "TypeError")
		})
	})
}
