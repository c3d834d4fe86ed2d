package brine

import (
	"bytes"
	"math"
	"math/big"
)

// Equal reports whether a and b are the same brine value: the same kind of value (bool is not an
// int; bytes is not str) with the same content. Integers compare by value whatever their Go type
// (int64, *big.Int, any Go int width); floats and complex numbers compare by bit pattern, so NaN
// equals the same NaN and -0.0 differs from 0.0; frozensets compare as multisets, ignoring order.
// Values that are not dumpable are never equal.
func Equal(a, b any) bool {
	return equal(a, b, 0)
}

func equal(a, b any, depth int) bool {
	if depth > MaxDepth {
		return false
	}
	switch x := a.(type) {
	case nil:
		return b == nil
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case string:
		y, ok := b.(string)
		return ok && x == y
	case []byte:
		y, ok := b.([]byte)
		return ok && bytes.Equal(x, y)
	case float64, float32:
		y, ok := asFloat(b)
		xf, _ := asFloat(a)
		return ok && math.Float64bits(xf) == math.Float64bits(y)
	case complex128, complex64:
		xc, _ := asComplex(a)
		yc, ok := asComplex(b)
		return ok && math.Float64bits(real(xc)) == math.Float64bits(real(yc)) &&
			math.Float64bits(imag(xc)) == math.Float64bits(imag(yc))
	case Singleton:
		y, ok := b.(Singleton)
		return ok && x == y
	case Tuple:
		y, ok := b.(Tuple)
		return ok && equalSeq(x, y, depth)
	case Slice:
		y, ok := b.(Slice)
		return ok && equal(x.Start, y.Start, depth+1) && equal(x.Stop, y.Stop, depth+1) &&
			equal(x.Step, y.Step, depth+1)
	case FrozenSet:
		y, ok := b.(FrozenSet)
		return ok && equalSet(x, y, depth)
	}
	xi, ok := asBig(a)
	if !ok {
		return false
	}
	yi, ok := asBig(b)
	return ok && xi.Cmp(yi) == 0
}

func equalSeq(x, y []any, depth int) bool {
	if len(x) != len(y) {
		return false
	}
	for i := range x {
		if !equal(x[i], y[i], depth+1) {
			return false
		}
	}
	return true
}

func equalSet(x, y []any, depth int) bool {
	if len(x) != len(y) {
		return false
	}
	if equalSeq(x, y, depth) {
		return true // same order: the common case, and linear
	}
	used := make([]bool, len(y))
outer:
	for _, xv := range x {
		for j, yv := range y {
			if !used[j] && equal(xv, yv, depth+1) {
				used[j] = true
				continue outer
			}
		}
		return false
	}
	return true
}

func asFloat(v any) (float64, bool) {
	switch f := v.(type) {
	case float64:
		return f, true
	case float32:
		return float64(f), true
	}
	return 0, false
}

func asComplex(v any) (complex128, bool) {
	switch c := v.(type) {
	case complex128:
		return c, true
	case complex64:
		return complex128(c), true
	}
	return 0, false
}

// asBig converts any Go integer type or *big.Int to a *big.Int.
func asBig(v any) (*big.Int, bool) {
	switch x := v.(type) {
	case int:
		return big.NewInt(int64(x)), true
	case int8:
		return big.NewInt(int64(x)), true
	case int16:
		return big.NewInt(int64(x)), true
	case int32:
		return big.NewInt(int64(x)), true
	case int64:
		return big.NewInt(x), true
	case uint:
		return new(big.Int).SetUint64(uint64(x)), true
	case uint8:
		return big.NewInt(int64(x)), true
	case uint16:
		return big.NewInt(int64(x)), true
	case uint32:
		return big.NewInt(int64(x)), true
	case uint64:
		return new(big.Int).SetUint64(x), true
	case uintptr:
		return new(big.Int).SetUint64(uint64(x)), true
	case *big.Int:
		return x, x != nil
	}
	return nil, false
}
