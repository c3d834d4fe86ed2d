package classic_test

import (
	"context"
	"errors"
	"math/big"
	"reflect"
	"testing"
	"time"

	"github.com/gorpyc/rpyc/brine"
	"github.com/gorpyc/rpyc/classic"
	"github.com/gorpyc/rpyc/netref"
	"github.com/gorpyc/rpyc/protocol"
)

func TestAddress(t *testing.T) {
	for in, want := range map[string]string{
		"host":          "host:18812",
		"host:1":        "host:1",
		"127.0.0.1":     "127.0.0.1:18812",
		"::1":           "[::1]:18812",
		"[::1]":         "[::1]:18812",
		"[::1]:5":       "[::1]:5",
		"fe80::1%eth0":  "[fe80::1%eth0]:18812",
		"example.com:0": "example.com:0",
	} {
		if got := classic.Address(in, classic.DefaultPort); got != want {
			t.Errorf("Address(%q) = %q, want %q", in, got, want)
		}
	}
}

type inner struct{ V int }

type target struct {
	Name    string
	UserID  int64
	Labels  []string `rpyc:"tags"`
	Skipped int      `rpyc:"-"`
	Ratio   float32
	Raw     []byte
	When    time.Time
	Dur     time.Duration
	Inner   inner
	Ptr     *inner
	Any     any
	Pair    [2]int
	Big     *big.Int
	Text    string
}

// ObtainAs converts values already in the value model without any request.
func TestObtainAsConversions(t *testing.T) {
	ctx := context.Background()
	when := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	huge, _ := new(big.Int).SetString("123456789012345678901234567890", 10)
	d := classic.Dict{
		{Key: "name", Value: "n"}, {Key: "USER_ID", Value: int64(5)}, {Key: "tags", Value: brine.Tuple{"a"}},
		{Key: "skipped", Value: int64(9)}, {Key: "ratio", Value: int64(2)}, {Key: "raw", Value: classic.ByteArray("r")},
		{Key: "when", Value: when}, {Key: "dur", Value: time.Second}, {Key: "inner", Value: classic.Dict{{Key: "v", Value: int64(1)}}},
		{Key: "ptr", Value: classic.Dict{{Key: "V", Value: int64(2)}}}, {Key: "any", Value: classic.Set{int64(3)}},
		{Key: "pair", Value: []any{int64(4), int64(5)}}, {Key: "big", Value: huge}, {Key: "text", Value: classic.Decimal("1.5")},
		{Key: "unknown", Value: "ignored"},
	}
	got, err := classic.ObtainAs[target](ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	want := target{Name: "n", UserID: 5, Labels: []string{"a"}, Ratio: 2, Raw: []byte("r"), When: when, Dur: time.Second,
		Inner: inner{1}, Ptr: &inner{2}, Any: classic.Set{int64(3)}, Pair: [2]int{4, 5}, Big: huge, Text: "1.5"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("ObtainAs[target] =\n%+v\nwant\n%+v", got, want)
	}
	m, err := classic.ObtainAs[map[int]string](ctx, classic.Dict{{Key: int64(1), Value: "a"}})
	if err != nil || m[1] != "a" {
		t.Fatalf("ObtainAs[map[int]string] = %v, %v", m, err)
	}
	if v, err := classic.ObtainAs[any](ctx, brine.Tuple{int64(1)}); err != nil || !reflect.DeepEqual(v, brine.Tuple{int64(1)}) {
		t.Fatalf("ObtainAs[any] = %#v, %v", v, err)
	}
	if c, err := classic.ObtainAs[complex64](ctx, 2.0); err != nil || c != 2 {
		t.Fatalf("ObtainAs[complex64](2.0) = %v, %v", c, err)
	}
	for name, f := range map[string]func() error{
		"negative uint": func() error { _, err := classic.ObtainAs[uint](ctx, int64(-1)); return err },
		"int8 overflow": func() error { _, err := classic.ObtainAs[int8](ctx, int64(300)); return err },
		"big overflow":  func() error { _, err := classic.ObtainAs[int64](ctx, huge); return err },
		"float32 range": func() error { _, err := classic.ObtainAs[float32](ctx, 1e300); return err },
		"str to int":    func() error { _, err := classic.ObtainAs[int](ctx, "1"); return err },
		"array length":  func() error { _, err := classic.ObtainAs[[3]int](ctx, []any{int64(1)}); return err },
		"non-str key": func() error {
			_, err := classic.ObtainAs[target](ctx, classic.Dict{{Key: int64(1), Value: 1}})
			return err
		},
		"None to int": func() error { _, err := classic.ObtainAs[int](ctx, nil); return err },
		"list to map": func() error { _, err := classic.ObtainAs[map[string]int](ctx, []any{}); return err },
		"nested mismatch": func() error {
			_, err := classic.ObtainAs[map[string][]int](ctx, classic.Dict{{Key: "k", Value: []any{"x"}}})
			return err
		},
	} {
		if err := f(); !errors.Is(err, netref.ErrConvert) {
			t.Errorf("%s: %v, want ErrConvert", name, err)
		}
	}
}

// The Go side's root answers a Python ClassicService peer's connect-time requests.
func TestSlaveRoot(t *testing.T) {
	root := classic.NewSlaveRoot().(interface {
		Getmodule(any) (*classic.GoModule, error)
		Eval(string) (any, error)
		Execute(string) error
	})
	for _, name := range []any{"builtins", "importlib.util", brine.Tuple{"importlib", "util"}} {
		if m, err := root.Getmodule(name); err != nil || m == nil {
			t.Errorf("getmodule(%v) = %v, %v", name, m, err)
		}
	}
	if _, err := root.Getmodule("os"); !errors.Is(err, protocol.ModuleNotFoundError) {
		t.Errorf("getmodule('os') = %v", err)
	}
	if _, err := root.Getmodule(int64(1)); !errors.Is(err, protocol.TypeError) {
		t.Errorf("getmodule(1) = %v", err)
	}
	if _, err := root.Eval("1"); !errors.Is(err, protocol.NotImplementedError) {
		t.Errorf("eval = %v", err)
	}
	if err := root.Execute("pass"); !errors.Is(err, protocol.NotImplementedError) {
		t.Errorf("execute = %v", err)
	}
}

// asAndObtainAs converts v with netref.As and with classic.ObtainAs, which share one converter,
// and reports a disagreement.
func asAndObtainAs[T any](t *testing.T, v any) (T, error) {
	t.Helper()
	a, errA := netref.As[T](v, nil)
	o, errO := classic.ObtainAs[T](context.Background(), v)
	if !reflect.DeepEqual(a, o) || (errA == nil) != (errO == nil) || errA != nil && errA.Error() != errO.Error() {
		t.Errorf("%T from %#v: As = %#v, %v; ObtainAs = %#v, %v", *new(T), v, a, errA, o, errO)
	}
	return o, errO
}

// TestConversionsAgree checks netref.As and ObtainAs on the same values: the same results and
// the same errors, including what ObtainAs used to refuse (tuples for structs, bools for ints)
// and what As used to refuse (dicts, lists and sets of the value model).
func TestConversionsAgree(t *testing.T) {
	type pair struct{ A, B int }
	if p, err := asAndObtainAs[pair](t, brine.Tuple{int64(1), true}); err != nil || p != (pair{1, 1}) {
		t.Errorf("pair from (1, True) = %v, %v", p, err)
	}
	if p, err := asAndObtainAs[pair](t, classic.Dict{{Key: "a", Value: int64(3)}, {Key: "B", Value: int64(4)}}); err != nil || p != (pair{3, 4}) {
		t.Errorf("pair from dict = %v, %v", p, err)
	}
	if s, err := asAndObtainAs[[]int](t, classic.Set{int64(1)}); err != nil || len(s) != 1 {
		t.Errorf("[]int from set = %v, %v", s, err)
	}
	if b, err := asAndObtainAs[bool](t, int64(0)); err != nil || b {
		t.Errorf("bool from 0 = %v, %v", b, err)
	}
	if s, err := asAndObtainAs[string](t, classic.Decimal("2.50")); err != nil || s != "2.50" {
		t.Errorf("string from Decimal = %v, %v", s, err)
	}
	for _, f := range []func() error{
		func() error { _, err := asAndObtainAs[int8](t, int64(300)); return err },
		func() error { _, err := asAndObtainAs[[]int](t, []any{int64(1), "x"}); return err },
		func() error { _, err := asAndObtainAs[bool](t, int64(5)); return err },
		func() error { _, err := asAndObtainAs[pair](t, brine.Tuple{int64(1)}); return err },
		func() error {
			_, err := asAndObtainAs[map[string]int](t, classic.Dict{{Key: int64(1), Value: int64(1)}})
			return err
		},
	} {
		if err := f(); !errors.Is(err, netref.ErrConvert) {
			t.Errorf("got %v, want ErrConvert", err)
		}
	}
}
