//go:build unix

package classic_test

// Live tests of package classic against real Python classic servers, once per peer
// (rpyc 5.3.0 and 6.0.1) and per server kind: a ThreadedServer running SlaveService on a free
// loopback port (tox-interop/classic_server.py, what `rpyc_classic -m threaded` runs), and
// rpyc_classic's stdio mode as a child process (StartPython).

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorpyc/rpyc/brine"
	"github.com/gorpyc/rpyc/classic"
	"github.com/gorpyc/rpyc/compat"
	"github.com/gorpyc/rpyc/internal/interop"
	"github.com/gorpyc/rpyc/internal/pickle"
	"github.com/gorpyc/rpyc/netref"
	"github.com/gorpyc/rpyc/protocol"
)

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// pythonEnv is what interop.Peer.Command sets for its interpreter, for StartPython.
func pythonEnv(p interop.Peer) []string {
	return append(append([]string(nil), p.Env...),
		"PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1", "PYTHONNOUSERSITE=1")
}

// serverKind connects a Client to a fresh classic server of one kind, closed when the test ends.
type serverKind struct {
	name    string
	connect func(t *testing.T, p interop.Peer) *classic.Client
}

var serverKinds = []serverKind{
	{"threaded", connectThreaded},
	{"stdio", connectStdio},
}

func connectThreaded(t *testing.T, p interop.Peer) *classic.Client {
	t.Helper()
	proc := p.Start(t, "classic_server.py")
	addr, err := proc.WaitListening(30 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// The dialect is named: the probe's refused first connection to a 6.x server makes that
	// server log a traceback, which RedirectStdio's test could capture (the probe is covered by
	// TestClassicServiceServer, TestConnectTLS and the root package's suite).
	d := compat.V5
	if strings.HasPrefix(p.Version, "6.") {
		d = compat.V6
	}
	c, err := classic.Connect(testCtx(t), addr, classic.WithDialect(d))
	if err != nil {
		t.Fatalf("Connect(%s): %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func connectStdio(t *testing.T, p interop.Peer) *classic.Client {
	t.Helper()
	c, err := classic.StartPython(testCtx(t), p.Python, classic.WithEnv(pythonEnv(p)...))
	if err != nil {
		t.Fatalf("StartPython: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestClassic runs every client scenario against both server kinds of both peers.
func TestClassic(t *testing.T) {
	interop.ForEachPeer(t, func(t *testing.T, p interop.Peer) {
		for _, kind := range serverKinds {
			t.Run(kind.name, func(t *testing.T) {
				c := kind.connect(t, p)
				for _, sc := range scenarios {
					t.Run(sc.name, func(t *testing.T) { sc.fn(t, c) })
				}
			})
		}
	})
}

var scenarios = []struct {
	name string
	fn   func(t *testing.T, c *classic.Client)
}{
	{"EvalExecuteNamespace", testEvalExecuteNamespace},
	{"Modules", testModules},
	{"Obtain", testObtain},
	{"ObtainAs", testObtainAs},
	{"ObtainErrors", testObtainErrors},
	{"Deliver", testDeliver},
	{"UploadDownload", testUploadDownload},
	{"TransferErrors", testTransferErrors},
	{"RedirectStdio", testRedirectStdio},
	{"Concurrent", testConcurrent},
	{"Ping", func(t *testing.T, c *classic.Client) {
		if err := c.Ping(testCtx(t)); err != nil {
			t.Fatal(err)
		}
	}},
}

func testEvalExecuteNamespace(t *testing.T, c *classic.Client) {
	ctx := testCtx(t)
	if err := c.Execute(ctx, "x = 21\ndef double(v):\n    return v * 2"); err != nil {
		t.Fatal(err)
	}
	if v, err := c.Eval(ctx, "double(x)"); err != nil || v != int64(42) {
		t.Fatalf("Eval(double(x)) = %v, %v", v, err)
	}
	if n, err := classic.EvalAs[int](ctx, c, "x + 1"); err != nil || n != 22 {
		t.Fatalf("EvalAs[int] = %v, %v", n, err)
	}
	ns, err := c.Namespace(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ns2, _ := c.Namespace(ctx); ns2 != ns {
		t.Error("Namespace is not cached")
	}
	if v, err := ns.GetItem(ctx, "x"); err != nil || v != int64(21) {
		t.Fatalf("namespace['x'] = %v, %v", v, err)
	}
	if err := ns.SetItem(ctx, "greeting", "héllo"); err != nil {
		t.Fatal(err)
	}
	if v, err := c.Eval(ctx, "greeting.upper()"); err != nil || v != "HÉLLO" {
		t.Fatalf("Eval(greeting.upper()) = %v, %v", v, err)
	}
	// A list comes back as a reference.
	v, err := c.Eval(ctx, "[1, 2, 3]")
	if err != nil {
		t.Fatal(err)
	}
	ref, ok := v.(*netref.Ref)
	if !ok || ref.TypeName() != "builtins.list" {
		t.Fatalf("Eval([1, 2, 3]) = %#v", v)
	}
	ref.Release()
	// Remote exceptions keep their class and traceback.
	_, err = c.Eval(ctx, "1 / 0")
	var re *protocol.RemoteError
	if !errors.Is(err, protocol.ZeroDivisionError) || !errors.As(err, &re) ||
		!strings.Contains(re.Traceback, "ZeroDivisionError") {
		t.Fatalf("Eval(1/0) = %v", err)
	}
	if err := c.Execute(ctx, "def broken(:\n  pass"); !errors.Is(err, protocol.SyntaxError) {
		t.Fatalf("Execute(syntax error) = %v", err)
	}
	if _, err := c.Eval(ctx, "undefined_name"); !errors.Is(err, protocol.NameError) {
		t.Fatalf("Eval(undefined_name) = %v", err)
	}
}

func testModules(t *testing.T, c *classic.Client) {
	ctx := testCtx(t)
	path, err := c.Module(ctx, "os.path")
	if err != nil {
		t.Fatal(err)
	}
	if path.TypeName() != "posixpath" {
		t.Errorf("os.path is %s", path.TypeName())
	}
	if again, _ := c.Module(ctx, "os.path"); again != path {
		t.Error("Module is not cached")
	}
	if j, err := netref.As[string](path.CallMethod(ctx, "join", "a", "b")); err != nil || j != "a/b" {
		t.Fatalf("os.path.join = %q, %v", j, err)
	}
	b, err := c.Builtins(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := netref.As[int](b.CallMethod(ctx, "len", "abc")); err != nil || n != 3 {
		t.Fatalf("len('abc') = %v, %v", n, err)
	}
	if _, err := c.Module(ctx, "no_such_module_gorpyc"); !errors.Is(err, protocol.ModuleNotFoundError) {
		t.Fatalf("Module(missing) = %v", err)
	}
	for name, want := range map[string]bool{"json": true, "xml.dom": true, "no_such_module_gorpyc": false, "no_such_pkg.sub": false} {
		if got, err := c.HasModule(ctx, name); err != nil || got != want {
			t.Errorf("HasModule(%q) = %v, %v; want %v", name, got, err, want)
		}
	}
	// Modules are ordinary objects: setattr works on them (classic servers allow it).
	sys, err := c.Module(ctx, "sys")
	if err != nil {
		t.Fatal(err)
	}
	if err := sys.SetAttr(ctx, "gorpyc_mark", int64(7)); err != nil {
		t.Fatal(err)
	}
	if v, err := c.Eval(ctx, "__import__('sys').gorpyc_mark"); err != nil || v != int64(7) {
		t.Fatalf("sys.gorpyc_mark = %v, %v", v, err)
	}
}

const obtainSource = `
import datetime, decimal, collections
obt = {
    'none': None, 'bools': [True, False], 'ints': [0, -1, 2**63 - 1, -2**63, 2**64, -10**30],
    'floats': [1.5, -0.0, float('inf')], 'complex': 1 - 2j,
    'str': 'héllo ☃', 'bytes': b'\x00\xff', 'bytearray': bytearray(b'ab'),
    'tuple': (1, 'a', (None,)), 'nested': [[1, [2, [3]]], {'k': (4,)}],
    'dict': {1: 'one', (2, 3): 'pair', None: [], 'x': {'y': 'z'}},
    'set': {3, 1, 2}, 'frozenset': frozenset({'b', 'a'}), 'empty': [(), [], {}, set()],
    'odict': collections.OrderedDict([('b', 1), ('a', 2)]),
    'slice': slice(1, 10, 2), 'ellipsis': ...,
    'date': datetime.date(2024, 2, 29), 'time': datetime.time(13, 14, 15, 16),
    'naive': datetime.datetime(2001, 2, 3, 4, 5, 6, 7),
    'utc': datetime.datetime(2001, 2, 3, 4, 5, 6, tzinfo=datetime.timezone.utc),
    'offset': datetime.datetime(2001, 2, 3, 4, 5, tzinfo=datetime.timezone(datetime.timedelta(hours=-3), 'BRT')),
    'delta': datetime.timedelta(days=2, seconds=3, microseconds=4),
    'decimal': decimal.Decimal('3.14159'),
}
`

// dict builds a classic.Dict from alternating keys and values.
func dict(kv ...any) classic.Dict {
	d := make(classic.Dict, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		d = append(d, classic.Item{Key: kv[i], Value: kv[i+1]})
	}
	return d
}

func obtainWant() classic.Dict {
	big64, _ := new(big.Int).SetString("18446744073709551616", 10)
	bigNeg, _ := new(big.Int).SetString("-1000000000000000000000000000000", 10)
	return dict(
		"none", nil,
		"bools", []any{true, false},
		"ints", []any{int64(0), int64(-1), int64(math.MaxInt64), int64(math.MinInt64), big64, bigNeg},
		"floats", []any{1.5, math.Copysign(0, -1), math.Inf(1)},
		"complex", complex(1, -2),
		"str", "héllo ☃",
		"bytes", []byte{0, 0xff},
		"bytearray", classic.ByteArray("ab"),
		"tuple", brine.Tuple{int64(1), "a", brine.Tuple{nil}},
		"nested", []any{[]any{int64(1), []any{int64(2), []any{int64(3)}}}, dict("k", brine.Tuple{int64(4)})},
		"dict", dict(int64(1), "one", brine.Tuple{int64(2), int64(3)}, "pair", nil, []any{}, "x", dict("y", "z")),
		"set", classic.Set{int64(1), int64(2), int64(3)},
		"frozenset", brine.FrozenSet{"a", "b"},
		"empty", []any{brine.Tuple{}, []any{}, dict(), classic.Set{}},
		"odict", dict("b", int64(1), "a", int64(2)),
		"slice", brine.Slice{Start: int64(1), Stop: int64(10), Step: int64(2)},
		"ellipsis", brine.Ellipsis,
		"date", classic.Date{Year: 2024, Month: 2, Day: 29},
		"time", classic.TimeOfDay{Hour: 13, Minute: 14, Second: 15, Microsecond: 16},
		"naive", time.Date(2001, 2, 3, 4, 5, 6, 7000, classic.Naive),
		"utc", time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC),
		"offset", time.Date(2001, 2, 3, 4, 5, 0, 0, time.FixedZone("BRT", -3*3600)),
		"delta", 48*time.Hour+3*time.Second+4*time.Microsecond,
		"decimal", classic.Decimal("3.14159"),
	)
}

func testObtain(t *testing.T, c *classic.Client) {
	ctx := testCtx(t)
	if err := c.Execute(ctx, obtainSource); err != nil {
		t.Fatal(err)
	}
	ns, err := c.Namespace(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := ns.GetItem(ctx, "obt")
	if err != nil {
		t.Fatal(err)
	}
	defer ref.(*netref.Ref).Release()
	got, err := classic.Obtain(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	d, ok := got.(classic.Dict)
	if !ok {
		t.Fatalf("Obtain = %T", got)
	}
	for _, want := range obtainWant() {
		v, ok := d.Get(want.Key)
		if !ok {
			t.Errorf("key %v missing", want.Key)
			continue
		}
		if !pickle.Equal(v, want.Value) {
			t.Errorf("obt[%v] = %#v\nwant %#v", want.Key, v, want.Value)
		}
	}
	// Values received by value pass through; references inside tuples are copied.
	tv, err := c.Eval(ctx, "(1, [2, 3], 'x')")
	if err != nil {
		t.Fatal(err)
	}
	got, err = classic.Obtain(ctx, tv)
	if err != nil || !pickle.Equal(got, brine.Tuple{int64(1), []any{int64(2), int64(3)}, "x"}) {
		t.Fatalf("Obtain(tuple with a list) = %#v, %v", got, err)
	}
	if got, err := classic.Obtain(ctx, "plain"); err != nil || got != "plain" {
		t.Fatalf("Obtain(plain) = %v, %v", got, err)
	}
}

type record struct {
	Name   string
	UserID int
	Tags   []string `rpyc:"labels"`
	Scores map[string]float64
	When   time.Time
	Next   *record
}

func testObtainAs(t *testing.T, c *classic.Client) {
	ctx := testCtx(t)
	if l, err := classic.EvalAs[[]int](ctx, c, "list(range(5))"); err != nil || fmt.Sprint(l) != "[0 1 2 3 4]" {
		t.Fatalf("EvalAs[[]int] = %v, %v", l, err)
	}
	if m, err := classic.EvalAs[map[string][]int](ctx, c, "{'a': [1], 'b': (2, 3)}"); err != nil || fmt.Sprint(m) != "map[a:[1] b:[2 3]]" {
		t.Fatalf("EvalAs[map] = %v, %v", m, err)
	}
	if s, err := classic.EvalAs[[]string](ctx, c, "{'b', 'a'}"); err != nil || fmt.Sprint(s) != "[a b]" {
		t.Fatalf("EvalAs[[]string](set) = %v, %v", s, err)
	}
	r, err := classic.EvalAs[record](ctx, c, `{'name': 'ada', 'user_id': 7, 'labels': ['x'], 'scores': {'m': 1},
		'when': __import__('datetime').datetime(2020, 1, 1, tzinfo=__import__('datetime').timezone.utc),
		'next': {'Name': 'bob'}, 'ignored': 1}`)
	if err != nil {
		t.Fatal(err)
	}
	if r.Name != "ada" || r.UserID != 7 || fmt.Sprint(r.Tags) != "[x]" || r.Scores["m"] != 1 ||
		!r.When.Equal(time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)) || r.Next == nil || r.Next.Name != "bob" {
		t.Fatalf("EvalAs[record] = %+v", r)
	}
	if p, err := classic.EvalAs[*int](ctx, c, "None"); err != nil || p != nil {
		t.Fatalf("EvalAs[*int](None) = %v, %v", p, err)
	}
	if ref, err := classic.EvalAs[*netref.Ref](ctx, c, "[1]"); err != nil || ref.TypeName() != "builtins.list" {
		t.Fatalf("EvalAs[*netref.Ref] = %v, %v", ref, err)
	} else {
		ref.Release()
	}
	_, err = classic.EvalAs[[]int](ctx, c, "[1, 'two']")
	var ce *netref.ConvertError
	if !errors.Is(err, netref.ErrConvert) || !errors.As(err, &ce) || ce.Path != "[1]" || ce.Value != "two" ||
		!strings.Contains(err.Error(), "at [1]") {
		t.Fatalf("EvalAs[[]int]([1, 'two']) = %v", err)
	}
	if _, err := classic.EvalAs[int8](ctx, c, "1000"); !errors.Is(err, netref.ErrConvert) {
		t.Fatalf("EvalAs[int8](1000) = %v", err)
	}
}

func testObtainErrors(t *testing.T, c *classic.Client) {
	ctx := testCtx(t)
	for _, tc := range []struct {
		expr string
		want error
		text string
	}{
		{"range(3)", classic.ErrUnsupported, "builtins.range"},
		{"[__import__('fractions').Fraction(1, 3)]", classic.ErrUnsupported, "fractions.Fraction"},
		{"(lambda l: l.append(l) or l)([])", classic.ErrRecursive, "list"},
		{"__import__('os')", protocol.TypeError, "pickle"}, // Python refuses to pickle a module
	} {
		v, err := c.Eval(ctx, tc.expr)
		if err != nil {
			t.Fatal(err)
		}
		_, err = classic.Obtain(ctx, v)
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.text) {
			t.Errorf("Obtain(%s) = %v, want %v mentioning %q", tc.expr, err, tc.want, tc.text)
		}
		if r, ok := v.(*netref.Ref); ok {
			r.Release()
		}
	}
}

// sameSource defines same(a, b) on the server: equal values of exactly the same types,
// recursively (the judge of Deliver).
const sameSource = `
import math as _math, datetime as _dt
def same(a, b):
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (_math.isnan(a) and _math.isnan(b)) or (a == b and _math.copysign(1, a) == _math.copysign(1, b))
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return len(a) == len(b) and all(same(ka, kb) and same(va, vb) for (ka, va), (kb, vb) in zip(a.items(), b.items()))
    if isinstance(a, (set, frozenset)):
        return len(a) == len(b) and all(any(same(x, y) for y in b) for x in a)
    if isinstance(a, (_dt.datetime, _dt.time)):
        return a.replace(tzinfo=None) == b.replace(tzinfo=None) and a.utcoffset() == b.utcoffset() and a.tzname() == b.tzname()
    return a == b
`

type delivered struct {
	X      int
	UserID string
	Skip   int   `rpyc:"-"`
	Named  []int `rpyc:"n"`
	hidden int
}

func testDeliver(t *testing.T, c *classic.Client) {
	ctx := testCtx(t)
	if err := c.Execute(ctx, sameSource); err != nil {
		t.Fatal(err)
	}
	ns, err := c.Namespace(ctx)
	if err != nil {
		t.Fatal(err)
	}
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		paris = time.FixedZone("CET", 3600)
	}
	for _, tc := range []struct {
		v  any
		py string
	}{
		{nil, "None"},
		{true, "True"},
		{-5, "-5"},
		{uint64(math.MaxUint64), "2**64 - 1"},
		{new(big.Int).Lsh(big.NewInt(1), 100), "2**100"},
		{1.25, "1.25"},
		{complex(1, -1), "1 - 1j"},
		{"héllo", "'héllo'"},
		{[]byte{0, 1}, "b'\\x00\\x01'"},
		{classic.ByteArray("ab"), "bytearray(b'ab')"},
		{brine.Tuple{1, "a"}, "(1, 'a')"},
		{[]any{1, []any{2, nil}}, "[1, [2, None]]"},
		{[]string{"a", "b"}, "['a', 'b']"},
		{[3]int{1, 2, 3}, "[1, 2, 3]"},
		{dict("b", 1, brine.Tuple{1, 2}, "t"), "{'b': 1, (1, 2): 't'}"},
		{map[string]int{"z": 1, "a": 2}, "{'a': 2, 'z': 1}"},
		{classic.Set{1, "x"}, "{1, 'x'}"},
		{brine.FrozenSet{1, 2}, "frozenset({1, 2})"},
		{brine.Slice{Start: 1, Stop: nil, Step: -1}, "slice(1, None, -1)"},
		{brine.Ellipsis, "..."},
		{classic.Decimal("-1.10"), "__import__('decimal').Decimal('-1.10')"},
		{classic.Date{Year: 1999, Month: 12, Day: 31}, "__import__('datetime').date(1999, 12, 31)"},
		{classic.TimeOfDay{Hour: 1, Minute: 2, Second: 3, Microsecond: 4}, "__import__('datetime').time(1, 2, 3, 4)"},
		{time.Date(2020, 5, 6, 7, 8, 9, 10000, classic.Naive), "__import__('datetime').datetime(2020, 5, 6, 7, 8, 9, 10)"},
		{time.Date(2020, 5, 6, 7, 8, 9, 0, time.UTC), "__import__('datetime').datetime(2020, 5, 6, 7, 8, 9, tzinfo=__import__('datetime').timezone.utc)"},
		{time.Date(2020, 7, 1, 12, 0, 0, 0, paris), "__import__('datetime').datetime(2020, 7, 1, 12, tzinfo=__import__('datetime').timezone(__import__('datetime').timedelta(hours=2), 'CEST'))"},
		{90 * time.Minute, "__import__('datetime').timedelta(minutes=90)"},
		{delivered{X: 1, UserID: "u", Skip: 9, Named: []int{2}, hidden: 3}, "{'x': 1, 'user_id': 'u', 'n': [2]}"},
		{&delivered{X: 2}, "{'x': 2, 'user_id': '', 'n': []}"},
		{(*int)(nil), "None"},
	} {
		got, err := c.Deliver(ctx, tc.v)
		if err != nil {
			t.Errorf("Deliver(%#v): %v", tc.v, err)
			continue
		}
		if err := ns.SetItem(ctx, "got", got); err != nil {
			t.Fatal(err)
		}
		ok, err := c.Eval(ctx, "same(got, "+tc.py+")")
		if err != nil || ok != true {
			r, _ := c.Eval(ctx, "repr(got)")
			t.Errorf("Deliver(%#v) gave %v, want %s (%v)", tc.v, r, tc.py, err)
		}
		if r, ok := got.(*netref.Ref); ok {
			r.Release()
		}
	}
	if _, err := c.Deliver(ctx, make(chan int)); !errors.Is(err, classic.ErrUnsupported) {
		t.Errorf("Deliver(chan) = %v", err)
	}
	if _, err := c.Deliver(ctx, classic.Set{[]any{1}}); !errors.Is(err, classic.ErrUnsupported) {
		t.Errorf("Deliver(set of lists) = %v", err)
	}
}

// tree writes a test tree: empty and tiny files, a 10 MB file, nested folders (one empty) and
// varied permission bits.
func tree(t *testing.T, root string) {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	big := make([]byte, 10<<20)
	for i := 0; i < len(big); i += 8 {
		v := rng.Uint64()
		for j := 0; j < 8; j++ {
			big[i+j] = byte(v >> (8 * j))
		}
	}
	files := map[string][]byte{
		"empty.bin":                {},
		"one.bin":                  {0x5a},
		"big.bin":                  big,
		"a/b/c/deep.txt":           []byte("deep\n"),
		"a/sibling.txt":            []byte("sibling"),
		"a/b/chunk-boundary.bin":   bytes.Repeat([]byte{7}, classic.ChunkSize),
		"a/b/chunk-plus-one.bin":   bytes.Repeat([]byte{8}, classic.ChunkSize+1),
		"x/script.sh":              []byte("#!/bin/sh\necho hi\n"),
		"x/secret.txt":             []byte("s3cr3t"),
		"names/with space & ü.txt": []byte("unicode name"),
	}
	for name, data := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(root, "emptydir"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, mode := range map[string]fs.FileMode{"x/script.sh": 0o751, "x/secret.txt": 0o600, "x": 0o750, "a/b": 0o700} {
		if err := os.Chmod(filepath.Join(root, name), mode); err != nil {
			t.Fatal(err)
		}
	}
}

// sameTree checks that b has exactly a's files with the same bytes and permission bits.
func sameTree(t *testing.T, a, b string) {
	t.Helper()
	count := 0
	err := filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(a, p)
		q := filepath.Join(b, rel)
		fa, err := os.Stat(p)
		if err != nil {
			return err
		}
		fb, err := os.Stat(q)
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			return nil
		}
		if fa.Mode() != fb.Mode() {
			t.Errorf("%s: mode %v, want %v", rel, fb.Mode(), fa.Mode())
		}
		if d.Type().IsRegular() {
			count++
			da, _ := os.ReadFile(p)
			db, _ := os.ReadFile(q)
			if !bytes.Equal(da, db) {
				t.Errorf("%s: %d bytes differ from the original's %d", rel, len(db), len(da))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	_ = filepath.WalkDir(b, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			n++
		}
		return nil
	})
	if n != count {
		t.Errorf("%s has %d files, %s has %d", b, n, a, count)
	}
}

func testUploadDownload(t *testing.T, c *classic.Client) {
	ctx := testCtx(t)
	src := filepath.Join(t.TempDir(), "src")
	tree(t, src)
	remote := filepath.Join(t.TempDir(), "remote", "copy") // parents created by Upload
	var events []classic.Progress
	opts := &classic.TransferOptions{Progress: func(p classic.Progress) { events = append(events, p) }}
	if err := c.Upload(ctx, src, remote, opts); err != nil {
		t.Fatal(err)
	}
	sameTree(t, src, remote)
	files, total := treeSize(t, src)
	checkProgress(t, events, files, total)

	back := filepath.Join(t.TempDir(), "back")
	events = nil
	if err := c.Download(ctx, remote, back, opts); err != nil {
		t.Fatal(err)
	}
	sameTree(t, src, back)
	checkProgress(t, events, files, total)

	// Single files of 0 and 1 bytes and 10 MB, each way, with a small chunk for the tiny ones.
	for _, name := range []string{"empty.bin", "one.bin", "big.bin"} {
		o := &classic.TransferOptions{}
		if name != "big.bin" {
			o.ChunkSize = 1
		}
		up := filepath.Join(t.TempDir(), name)
		if err := c.Upload(ctx, filepath.Join(src, name), up, o); err != nil {
			t.Fatal(err)
		}
		down := filepath.Join(t.TempDir(), name)
		if err := c.Download(ctx, up, down, o); err != nil {
			t.Fatal(err)
		}
		want, _ := os.ReadFile(filepath.Join(src, name))
		for _, p := range []string{up, down} {
			if got, err := os.ReadFile(p); err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s: %d bytes (%v), want %d", p, len(got), err, len(want))
			}
		}
	}

	// Filter and IgnorePermissions.
	filtered := filepath.Join(t.TempDir(), "filtered")
	err := c.Download(ctx, remote, filtered, &classic.TransferOptions{
		Filter:            func(name string) bool { return name != "big.bin" && name != "b" },
		IgnorePermissions: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	for rel, want := range map[string]bool{"one.bin": true, "big.bin": false, "a/sibling.txt": true, "a/b": false, "emptydir": true} {
		if _, err := os.Stat(filepath.Join(filtered, rel)); (err == nil) != want {
			t.Errorf("filtered %s present = %v, want %v", rel, err == nil, want)
		}
	}
	if fi, err := os.Stat(filepath.Join(filtered, "x", "script.sh")); err != nil || fi.Mode().Perm()&0o111 != 0 {
		t.Errorf("IgnorePermissions kept the execute bits: %v, %v", fi, err)
	}
}

func treeSize(t *testing.T, root string) (files int, total int64) {
	t.Helper()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			fi, _ := d.Info()
			files++
			total += fi.Size()
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files, total
}

func checkProgress(t *testing.T, events []classic.Progress, files int, total int64) {
	t.Helper()
	if len(events) == 0 {
		t.Fatal("no progress reported")
	}
	last := events[len(events)-1]
	if last.TotalFiles != files || last.Files != files || last.TotalBytes != total || last.Bytes != total {
		t.Errorf("last progress %+v, want %d files, %d bytes", last, files, total)
	}
	for i := 1; i < len(events); i++ {
		if events[i].Bytes < events[i-1].Bytes || events[i].FileBytes > events[i].FileSize {
			t.Fatalf("progress went wrong at %d: %+v after %+v", i, events[i], events[i-1])
		}
	}
}

func testTransferErrors(t *testing.T, c *classic.Client) {
	ctx := testCtx(t)
	dir := t.TempDir()
	err := c.Upload(ctx, filepath.Join(dir, "missing"), filepath.Join(dir, "x"), nil)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Upload(missing) = %v", err)
	}
	err = c.Download(ctx, filepath.Join(dir, "missing"), filepath.Join(dir, "y"), nil)
	if !errors.Is(err, fs.ErrNotExist) || !errors.Is(err, protocol.FileNotFoundError) {
		t.Errorf("Download(missing) = %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "y")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Download(missing) created the destination: %v", err)
	}
	// A remote path whose parent is a file: the remote OSError comes back.
	f := filepath.Join(dir, "file")
	if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	err = c.Upload(ctx, f, filepath.Join(f, "child"), nil)
	if !errors.Is(err, protocol.OSError) {
		t.Errorf("Upload under a file = %v", err)
	}
}

func testRedirectStdio(t *testing.T, c *classic.Client) {
	ctx := testCtx(t)
	if err := c.Execute(ctx, "import sys, logging"); err != nil {
		t.Fatal(err)
	}
	before, err := c.Eval(ctx, "(repr(sys.stdout), repr(sys.stderr))")
	if err != nil {
		t.Fatal(err)
	}
	var out, errb interop.Buffer
	err = c.RedirectStdio(ctx, &out, &errb, func(ctx context.Context) error {
		return c.Execute(ctx, `
print('hello', 42)
print('to err', file=sys.stderr)
sys.stdout.write('no newline')
sys.stdout.flush()
assert not sys.stdout.isatty() and sys.stdout.encoding == 'utf-8'
logging.basicConfig(stream=sys.stderr, force=True, level=logging.INFO, format='%(levelname)s %(message)s')
logging.warning('logged ☃')
`)
	})
	if err != nil {
		t.Fatal(err)
	}
	if out.String() != "hello 42\nno newline" || errb.String() != "to err\nWARNING logged ☃\n" {
		t.Errorf("stdout %q, stderr %q", out.String(), errb.String())
	}
	checkRestored := func(when string) {
		after, err := c.Eval(ctx, "(repr(sys.stdout), repr(sys.stderr))")
		if err != nil || !brine.Equal(after, before) {
			t.Errorf("%s: streams %v, want %v (%v)", when, after, before, err)
		}
	}
	checkRestored("after success")

	boom := errors.New("boom")
	var out2 interop.Buffer
	err = c.RedirectStdio(ctx, &out2, nil, func(ctx context.Context) error {
		if err := c.Execute(ctx, "print('before')"); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) || out2.String() != "before\n" {
		t.Errorf("RedirectStdio(failing fn) = %v, out %q", err, out2.String())
	}
	checkRestored("after a Go error")

	var out3 interop.Buffer
	err = c.RedirectStdio(ctx, &out3, &out3, func(ctx context.Context) error {
		return c.Execute(ctx, "print('partial'); 1/0")
	})
	if !errors.Is(err, protocol.ZeroDivisionError) || out3.String() != "partial\n" {
		t.Errorf("RedirectStdio(remote exception) = %v, out %q", err, out3.String())
	}
	checkRestored("after a remote exception")

	canceled, cancel := context.WithCancel(ctx)
	err = c.RedirectStdio(canceled, &out3, nil, func(ctx context.Context) error {
		cancel()
		return ctx.Err()
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("RedirectStdio(canceled) = %v", err)
	}
	checkRestored("after cancellation")
}

func testConcurrent(t *testing.T, c *classic.Client) {
	ctx := testCtx(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				v, err := classic.EvalAs[[]int](ctx, c, fmt.Sprintf("[%d, %d]", g, i))
				if err != nil || len(v) != 2 || v[0] != g || v[1] != i {
					errs <- fmt.Errorf("goroutine %d call %d: %v, %v", g, i, v, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
