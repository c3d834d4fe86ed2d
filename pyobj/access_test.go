package pyobj_test

import (
	"context"
	"errors"
	"iter"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/gorpyc/rpyc/brine"
	"github.com/gorpyc/rpyc/channel"
	"github.com/gorpyc/rpyc/compat"
	"github.com/gorpyc/rpyc/netref"
	"github.com/gorpyc/rpyc/protocol"
	"github.com/gorpyc/rpyc/pyobj"
)

// AccessService is served to a Go peer over a pipe; its names follow rpyc's own
// tests/test_attr_access.py MyClass.
type AccessService struct {
	Version string
}

func (*AccessService) RPyCNames() map[string]string {
	return map[string]string{"Foo": ",public", "Privy": "_privy", "Add": "__add__"}
}
func (*AccessService) Foo() string                { return "foo" }
func (*AccessService) Foobar() string             { return "Fee Fie Foe Foo" }
func (*AccessService) Privy() string              { return "privy" }
func (*AccessService) Add(other string) string    { return "foo" + other }
func (*AccessService) Numbers() []int             { return []int{1, 2, 3} }
func (*AccessService) Scores() map[string]int     { return map[string]int{"a": 1} }
func (*AccessService) Gen() iter.Seq[int]         { return slices.Values([]int{7, 8}) }
func (*AccessService) Countdown(n int) *countdown { return &countdown{n: n} }
func (*AccessService) Getter() *getter            { return &getter{} }
func (*AccessService) Point() *point              { return &point{X: 1} }
func (*AccessService) Sum(xs []int, m map[string]int) int {
	t := 0
	for _, x := range xs {
		t += x
	}
	for _, v := range m {
		t += v
	}
	return t
}

type point struct{ X int }

// countdown is a hand-written Python iterator.
type countdown struct{ n int }

func (c *countdown) RPyCNames() map[string]string {
	return map[string]string{"Iter": "__iter__", "Next": "__next__"}
}
func (c *countdown) Iter() *countdown { return c }
func (c *countdown) Next() (int, error) {
	if c.n <= 0 {
		return 0, protocol.ErrStopIteration
	}
	c.n--
	return c.n + 1, nil
}

// getter decides its attributes itself (Python's _rpyc_getattr): no access check.
type getter struct{}

func (*getter) RPyCGetAttr(name string) (any, error) { return "got " + name, nil }

func serve(t *testing.T, root any, cfg protocol.Config) (*protocol.Conn, *netref.Ref) {
	t.Helper()
	a, b := net.Pipe()
	server := protocol.New(channel.New(a, channel.Config{}), root, cfg, protocol.WithObjects(pyobj.Handler{}))
	ccfg := protocol.DefaultConfig()
	ccfg.Dialect = compat.V5
	cfg.Dialect = compat.V5
	client, err := protocol.NewClient(context.Background(), channel.New(b, channel.Config{}), nil, ccfg,
		protocol.WithObjects(pyobj.Handler{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	r, err := netref.Root(context.Background(), client)
	if err != nil {
		t.Fatal(err)
	}
	return client, r
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// result renders a call's outcome for comparison: the value, or the Python exception.
func result(v any, err error) any {
	if err != nil {
		var re *protocol.RemoteError
		if errors.As(err, &re) {
			return re.Name + ": " + re.Message()
		}
		return err.Error()
	}
	if r, ok := v.(*netref.Ref); ok {
		return "<" + r.TypeName() + ">"
	}
	return v
}

// TestExposure checks the access policy as Python's _check_attr applies it, under the
// configurations of rpyc's attribute-access tests.
func TestExposure(t *testing.T) {
	for _, tc := range []struct {
		cfg  string
		attr string
		want any
	}{
		{"default", "foobar", "Fee Fie Foe Foo"},
		{"default", "exposed_foobar", "Fee Fie Foe Foo"},
		{"default", "foo", "AttributeError: cannot access 'foo'"},
		{"default", "exposed_foo", "AttributeError: 'AccessService' object has no attribute 'exposed_foo'"},
		{"default", "_privy", "AttributeError: cannot access '_privy'"},
		{"default", "__add__", "foobar"},
		{"default", "nope", "AttributeError: cannot access 'nope'"},
		{"default", "exposed_nope", "AttributeError: 'AccessService' object has no attribute 'exposed_nope'"},
		{"default", "get_service_name", "ACCESS"},
		{"default", "exposed_get_service_name", "ACCESS"},
		{"public", "foo", "foo"},
		{"public", "_privy", "AttributeError: cannot access '_privy'"},
		{"public", "nope", "AttributeError: 'AccessService' object has no attribute 'nope'"},
		{"nosafe", "__add__", "AttributeError: cannot access '__add__'"},
		{"nosafe", "foobar", "Fee Fie Foe Foo"},
		{"all", "_privy", "privy"},
		{"all", "foo", "foo"},
		{"noexposed", "foobar", "AttributeError: cannot access 'foobar'"},
		{"nogetattr", "foobar", "AttributeError: cannot access 'foobar'"},
	} {
		cfg := protocol.DefaultConfig()
		switch tc.cfg {
		case "public":
			cfg.AllowPublicAttrs = true
		case "nosafe":
			cfg.AllowSafeAttrs = false
		case "all":
			cfg.AllowAllAttrs = true
		case "noexposed":
			cfg.AllowExposedAttrs = false
		case "nogetattr":
			cfg.AllowGetAttr = false
		}
		_, root := serve(t, &AccessService{Version: "v"}, cfg)
		args := []any{}
		if tc.attr == "__add__" {
			args = append(args, "bar")
		}
		if got := result(root.CallMethod(ctxT(t), tc.attr, args...)); got != tc.want {
			t.Errorf("%s: %s() = %v, want %v", tc.cfg, tc.attr, got, tc.want)
		}
	}
}

func TestSetAttrDelAttr(t *testing.T) {
	cfg := protocol.DefaultConfig()
	cfg.AllowSetAttr, cfg.AllowDelAttr = true, true
	_, root := serve(t, &AccessService{Version: "v"}, cfg)
	ctx := ctxT(t)
	// The service refuses both, whatever the configuration, as Python's Service.
	if got := result(nil, root.SetAttr(ctx, "version", "x")); got != "AttributeError: access denied" {
		t.Errorf("root setattr: %v", got)
	}
	if got := result(nil, root.DelAttr(ctx, "version")); got != "AttributeError: access denied" {
		t.Errorf("root delattr: %v", got)
	}
	p, _ := root.CallMethod(ctx, "point")
	pt := p.(*netref.Ref)
	if err := pt.SetAttr(ctx, "x", 5); err != nil {
		t.Fatal(err)
	}
	if got := result(pt.GetAttr(ctx, "x")); got != int64(5) {
		t.Errorf("x after setattr = %v", got)
	}
	if got := result(nil, pt.SetAttr(ctx, "exposed_y", 5)); got != "AttributeError: 'point' object has no attribute 'exposed_y'" {
		t.Errorf("setattr unknown: %v", got)
	}
	if got := result(nil, pt.DelAttr(ctx, "x")); got != "AttributeError: 'point' object attribute 'x' cannot be deleted" {
		t.Errorf("delattr: %v", got)
	}

	_, root = serve(t, &AccessService{}, protocol.DefaultConfig())
	p, _ = root.CallMethod(ctx, "point")
	if got := result(nil, p.(*netref.Ref).SetAttr(ctx, "x", 5)); got != "AttributeError: cannot access 'x'" {
		t.Errorf("setattr with allow_setattr off: %v", got)
	}
}

// TestPythonClasses checks the classes Go values are proxied as, and what they answer.
func TestPythonClasses(t *testing.T) {
	conn, root := serve(t, &AccessService{}, protocol.DefaultConfig())
	ctx := ctxT(t)
	for attr, want := range map[string]string{"foobar": "builtins.method", "scores": "builtins.method"} {
		m, err := root.GetAttr(ctx, attr)
		if err != nil || m.(*netref.Ref).TypeName() != want {
			t.Errorf("getattr %s: %v %v, want a %s", attr, result(m, err), err, want)
		}
	}
	for method, want := range map[string]string{"scores": "builtins.dict", "gen": "builtins.generator",
		"countdown": "pyobj_test.countdown"} {
		var args []any
		if method == "countdown" {
			args = []any{3}
		}
		v, err := root.CallMethod(ctx, method, args...)
		if err != nil || v.(*netref.Ref).TypeName() != want {
			t.Errorf("%s(): %v, want a %s", method, result(v, err), want)
		}
	}
	// next() on a returned iter.Seq, as on a Python generator.
	g, _ := root.CallMethod(ctx, "gen")
	if got := result(g.(*netref.Ref).Next(ctx)); got != int64(7) {
		t.Errorf("next(gen()) = %v", got)
	}
	// BUFFITER on a hand-written iterator, as Python's itertools.islice.
	cd, _ := root.CallMethod(ctx, "countdown", 25)
	batch, err := conn.Request(ctx, compat.HandleBuffIter, cd, int64(10))
	if err != nil || !brine.Equal(batch, brine.Tuple{int64(25), int64(24), int64(23), int64(22), int64(21),
		int64(20), int64(19), int64(18), int64(17), int64(16)}) {
		t.Errorf("BUFFITER(countdown, 10) = %v, %v", batch, err)
	}
	var n int
	for _, err := range cd.(*netref.Ref).Iter(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 15 {
		t.Errorf("the rest of countdown: %d items, want 15", n)
	}
	// A value with RPyCGetAttr answers every name, as Python's _rpyc_getattr.
	gt, _ := root.CallMethod(ctx, "getter")
	if got := result(gt.(*netref.Ref).GetAttr(ctx, "_anything")); got != "got _anything" {
		t.Errorf("RPyCGetAttr: %v", got)
	}
	names, err := root.Dir(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"foobar", "exposed_foobar", "foo", "_privy", "__add__", "get_service_name",
		"exposed_get_service_name", "__class__", "__init__", "__str__"} {
		if !slices.Contains(names, want) {
			t.Errorf("dir(root) lacks %s: %v", want, names)
		}
	}
	if slices.Contains(names, "exposed_foo") || slices.Contains(names, "exposed__privy") {
		t.Errorf("dir(root) lists exposed forms of unexposed members: %v", names)
	}
	s, _ := root.CallMethod(ctx, "scores")
	if r, _ := s.(*netref.Ref).Repr(ctx); r != "{'a': 1}" {
		t.Errorf("repr(scores()) = %q", r)
	}
}

// TestRemoteContainerArgs checks that lists and dicts sent by reference (as Python sends them)
// fill []int and map[string]int parameters: here the Go client passes its own Go slice and map
// by reference.
func TestRemoteContainerArgs(t *testing.T) {
	_, root := serve(t, &AccessService{}, protocol.DefaultConfig())
	ctx := ctxT(t)
	got := result(root.CallMethod(ctx, "sum", protocol.ByRef{Value: []int{1, 2, 3}}, map[string]int{"a": 10, "b": 20}))
	if got != int64(36) {
		t.Errorf("sum(list, dict) = %v", got)
	}
	got = result(root.CallMethod(ctx, "sum", protocol.ByRef{Value: []any{1, "x"}}, nil))
	if got != "TypeError: argument 1: cannot convert Python str 'x' to int at [1]" {
		t.Errorf("sum([1, 'x']) = %v", got)
	}
}
