package netref_test

import (
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/gorpyc/rpyc/brine"
	"github.com/gorpyc/rpyc/netref"
)

func TestAs(t *testing.T) {
	if n, err := netref.As[int](int64(42), nil); err != nil || n != 42 {
		t.Errorf("As[int](42) = %v, %v", n, err)
	}
	if n, err := netref.As[uint8](big.NewInt(200), nil); err != nil || n != 200 {
		t.Errorf("As[uint8](big 200) = %v, %v", n, err)
	}
	if f, err := netref.As[float64](int64(3), nil); err != nil || f != 3 {
		t.Errorf("As[float64](3) = %v, %v", f, err)
	}
	if s, err := netref.As[[]string](brine.Tuple{"a", "b"}, nil); err != nil || strings.Join(s, ",") != "a,b" {
		t.Errorf("As[[]string] = %v, %v", s, err)
	}
	if a, err := netref.As[[2]int](brine.Tuple{int64(1), int64(2)}, nil); err != nil || a != [2]int{1, 2} {
		t.Errorf("As[[2]int] = %v, %v", a, err)
	}
	if b, err := netref.As[[]byte]([]byte("x"), nil); err != nil || string(b) != "x" {
		t.Errorf("As[[]byte] = %v, %v", b, err)
	}
	if v, err := netref.As[any](brine.Tuple{}, nil); err != nil || v == nil {
		t.Errorf("As[any] = %v, %v", v, err)
	}
	if p, err := netref.As[*netref.Ref](nil, nil); err != nil || p != nil {
		t.Errorf("As[*Ref](None) = %v, %v", p, err)
	}
	// The shared converter's acceptances (see internal/convert): frozensets for slices, bools
	// as ints, 0 and 1 as bools, small ints for *big.Int, tuples for structs.
	if s, err := netref.As[[]string](brine.FrozenSet{"a"}, nil); err != nil || len(s) != 1 || s[0] != "a" {
		t.Errorf("As[[]string](frozenset) = %v, %v", s, err)
	}
	if n, err := netref.As[int](true, nil); err != nil || n != 1 {
		t.Errorf("As[int](True) = %v, %v", n, err)
	}
	if b, err := netref.As[bool](int64(1), nil); err != nil || !b {
		t.Errorf("As[bool](1) = %v, %v", b, err)
	}
	if n, err := netref.As[*big.Int](int64(5), nil); err != nil || n.Int64() != 5 {
		t.Errorf("As[*big.Int](5) = %v, %v", n, err)
	}
	type pt struct{ X, Y int }
	if p, err := netref.As[*pt](brine.Tuple{int64(1), int64(2)}, nil); err != nil || *p != (pt{1, 2}) {
		t.Errorf("As[*pt](tuple) = %v, %v", p, err)
	}
	_, err := netref.As[[]int8](brine.Tuple{int64(1), int64(300)}, nil)
	var ce *netref.ConvertError
	if !errors.As(err, &ce) || ce.Path != "[1]" || ce.Value != int64(300) || ce.Type.String() != "int8" {
		t.Errorf("As[[]int8]((1, 300)) = %v; want a ConvertError at [1]", err)
	}
	boom := errors.New("boom")
	if _, err := netref.As[int](nil, boom); err != boom {
		t.Errorf("As passes errors through: got %v", err)
	}
	for _, tc := range []struct {
		f    func() error
		want string
	}{
		{func() error { _, err := netref.As[int8](int64(300), nil); return err }, "overflow"},
		{func() error { _, err := netref.As[uint](int64(-1), nil); return err }, "negative"},
		{func() error { _, err := netref.As[int]("1", nil); return err }, "str"},
		{func() error { _, err := netref.As[string](int64(1), nil); return err }, "int"},
		{func() error { _, err := netref.As[[]int](brine.Tuple{"x"}, nil); return err }, "at [0]"},
		{func() error { _, err := netref.As[int](nil, nil); return err }, "to int"},
		{func() error { _, err := netref.As[bool](int64(2), nil); return err }, "only 0 and 1"},
		{func() error { _, err := netref.As[int](1.0, nil); return err }, "float"},
	} {
		err := tc.f()
		if !errors.Is(err, netref.ErrConvert) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v: want ErrConvert mentioning %q", err, tc.want)
		}
	}
}
