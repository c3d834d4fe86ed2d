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
		{func() error { _, err := netref.As[[]int](brine.Tuple{"x"}, nil); return err }, "item 0"},
		{func() error { _, err := netref.As[int](nil, nil); return err }, "to int"},
	} {
		err := tc.f()
		if !errors.Is(err, netref.ErrConvert) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v: want ErrConvert mentioning %q", err, tc.want)
		}
	}
}
