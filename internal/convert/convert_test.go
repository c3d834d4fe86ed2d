package convert

import (
	"errors"
	"math"
	"math/big"
	"reflect"
	"testing"
	"time"
)

func TestNumber(t *testing.T) {
	huge, _ := new(big.Int).SetString("100000000000000000000", 10)
	tests := []struct {
		dst  any // pointer to the target
		v    any
		ok   bool
		err  error
		want any
	}{
		{new(int8), int64(127), true, nil, int8(127)},
		{new(int8), int64(128), true, ErrOverflow, int8(0)},
		{new(int64), huge, true, ErrOverflow, int64(0)},
		{new(int64), big.NewInt(-5), true, nil, int64(-5)},
		{new(uint16), int64(-1), true, ErrNegative, uint16(0)},
		{new(uint64), huge, true, ErrOverflow, uint64(0)},
		{new(uint64), new(big.Int).SetUint64(math.MaxUint64), true, nil, uint64(math.MaxUint64)},
		{new(uint8), int64(256), true, ErrOverflow, uint8(0)},
		{new(float32), 1e300, true, ErrOverflow, float32(0)},
		{new(float32), math.Inf(1), true, nil, float32(math.Inf(1))},
		{new(float64), int64(3), true, nil, 3.0},
		{new(float64), huge, true, nil, 1e20},
		{new(complex128), 1.5, true, nil, complex(1.5, 0)},
		{new(complex64), complex(1, 2), true, nil, complex64(complex(1, 2))},
		{new(int), 1.5, false, nil, 0},
		{new(int), "1", false, nil, 0},
		{new(float64), "1", false, nil, 0.0},
		{new(string), int64(1), false, nil, ""},
		{new(int), true, true, nil, 1},
		{new(uint8), false, true, nil, uint8(0)},
		{new(float64), true, true, nil, 1.0},
		{new(complex128), true, true, nil, complex(1, 0)},
		{new(float64), new(big.Int).Lsh(big.NewInt(1), 1100), true, ErrOverflow, 0.0},
		{new(complex128), huge, true, nil, complex(1e20, 0)},
		{new(complex64), complex(1e300, 1), true, ErrOverflow, complex64(0)},
		{new(int8), int16(5), true, nil, int8(5)},
		{new(int64), uint64(math.MaxUint64), true, ErrOverflow, int64(0)},
		{new(uint64), uint64(math.MaxUint64), true, nil, uint64(math.MaxUint64)},
		{new(float64), float32(0.5), true, nil, 0.5},
		{new(int64), time.Second, false, nil, int64(0)}, // a timedelta is not an int
	}
	for _, tc := range tests {
		dst := reflect.ValueOf(tc.dst).Elem()
		ok, err := Number(dst, tc.v)
		if ok != tc.ok || !errors.Is(err, tc.err) || (tc.err == nil && err != nil) {
			t.Errorf("Number(%T, %#v) = %v, %v; want %v, %v", tc.dst, tc.v, ok, err, tc.ok, tc.err)
			continue
		}
		if got := dst.Interface(); got != tc.want {
			t.Errorf("Number(%T, %#v) stored %#v, want %#v", tc.dst, tc.v, got, tc.want)
		}
	}
}
