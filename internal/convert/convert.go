// Package convert stores received Python numbers into Go values of any numeric kind, with the
// same range checks everywhere: call arguments (package protocol), results (netref.As) and
// obtained values (classic.ObtainAs).
package convert

import (
	"errors"
	"math"
	"math/big"
	"reflect"
)

// Reasons a number does not fit; callers wrap them into their own errors.
var (
	ErrOverflow = errors.New("overflow")
	ErrNegative = errors.New("negative value for an unsigned type")
)

// IsNumberKind reports whether k is an integer, float or complex kind.
func IsNumberKind(k reflect.Kind) bool {
	return k >= reflect.Int && k <= reflect.Complex128
}

// Number stores v, a Python number as decoded (int64, *big.Int, float64 or complex128), into
// dst, whose kind must be a number kind. ok reports whether v is a number dst's kind accepts: any
// int for integer kinds; a float or an int for float kinds; a complex, float or int for complex
// kinds. When ok, err says whether the value did not fit (ErrOverflow, ErrNegative) and dst is
// unchanged.
func Number(dst reflect.Value, v any) (ok bool, err error) {
	switch k := dst.Kind(); {
	case k >= reflect.Int && k <= reflect.Int64:
		var i int64
		switch x := v.(type) {
		case int64:
			i = x
		case *big.Int:
			if !x.IsInt64() {
				return true, ErrOverflow
			}
			i = x.Int64()
		default:
			return false, nil
		}
		if dst.OverflowInt(i) {
			return true, ErrOverflow
		}
		dst.SetInt(i)
		return true, nil
	case k >= reflect.Uint && k <= reflect.Uintptr:
		var u uint64
		switch x := v.(type) {
		case int64:
			if x < 0 {
				return true, ErrNegative
			}
			u = uint64(x)
		case *big.Int:
			if x.Sign() < 0 {
				return true, ErrNegative
			}
			if !x.IsUint64() {
				return true, ErrOverflow
			}
			u = x.Uint64()
		default:
			return false, nil
		}
		if dst.OverflowUint(u) {
			return true, ErrOverflow
		}
		dst.SetUint(u)
		return true, nil
	case k == reflect.Float32 || k == reflect.Float64:
		var f float64
		switch x := v.(type) {
		case float64:
			f = x
		case int64:
			f = float64(x)
		case *big.Int:
			f, _ = new(big.Float).SetInt(x).Float64()
		default:
			return false, nil
		}
		if k == reflect.Float32 && !math.IsInf(f, 0) && math.Abs(f) > math.MaxFloat32 {
			return true, ErrOverflow
		}
		dst.SetFloat(f)
		return true, nil
	case k == reflect.Complex64 || k == reflect.Complex128:
		switch x := v.(type) {
		case complex128:
			dst.SetComplex(x)
		case float64:
			dst.SetComplex(complex(x, 0))
		case int64:
			dst.SetComplex(complex(float64(x), 0))
		default:
			return false, nil
		}
		return true, nil
	}
	return false, nil
}
