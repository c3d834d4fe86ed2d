// Package convert is gorpyc's one conversion layer from received Python values to Go values:
// call arguments into Go parameters (package protocol), results (netref.As) and obtained values
// (classic.ObtainAs) all go through [Assign], so they accept the same values and report
// mismatches with the same [*Error].
//
// The values it reads are those of brine (nil, bool, int64, *big.Int, float64, complex128,
// string, []byte, brine.Tuple, brine.FrozenSet, ...), remote references (*netref.Ref, only ever
// assigned) and the pickle model of classic obtain, which it recognises without importing its
// package: a list is a []any, other containers implement [Sequence] (set) or [Mapping] (dict),
// bytearray is a byte slice, decimal.Decimal a string kind.
package convert

import (
	"errors"
	"math"
	"math/big"
	"reflect"
)

// Reasons a number does not fit, wrapped by [*Error].
var (
	// ErrOverflow: the number is outside the Go type's range (Python's OverflowError).
	ErrOverflow = errors.New("overflow")
	// ErrNegative: a negative number for an unsigned type.
	ErrNegative = errors.New("negative value for an unsigned type")
)

// IsNumberKind reports whether k is an integer, float or complex kind.
func IsNumberKind(k reflect.Kind) bool {
	return k >= reflect.Int && k <= reflect.Complex128
}

// Number stores v, a Python number, into dst, whose kind must be a number kind. v is a number as
// decoded (int64, *big.Int, float64 or complex128), a bool (an int in Python: True is 1), or any
// Go integer, float or complex value. ok reports whether v is a number dst's kind accepts: an int
// for integer kinds; a float or an int for float kinds; a complex, float or int for complex
// kinds (a float never becomes an int, as Python's int parameters refuse floats). When ok, err
// says whether the value did not fit (ErrOverflow, ErrNegative) and dst is then unchanged.
func Number(dst reflect.Value, v any) (ok bool, err error) {
	v = normalize(v)
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
			var err error
			if f, err = bigFloat(x); err != nil {
				return true, err
			}
		default:
			return false, nil
		}
		if k == reflect.Float32 && !math.IsInf(f, 0) && math.Abs(f) > math.MaxFloat32 {
			return true, ErrOverflow
		}
		dst.SetFloat(f)
		return true, nil
	case k == reflect.Complex64 || k == reflect.Complex128:
		var c complex128
		switch x := v.(type) {
		case complex128:
			c = x
		case float64:
			c = complex(x, 0)
		case int64:
			c = complex(float64(x), 0)
		case *big.Int:
			f, err := bigFloat(x)
			if err != nil {
				return true, err
			}
			c = complex(f, 0)
		default:
			return false, nil
		}
		if k == reflect.Complex64 && (overflows32(real(c)) || overflows32(imag(c))) {
			return true, ErrOverflow
		}
		dst.SetComplex(c)
		return true, nil
	}
	return false, nil
}

// bigFloat converts a Python int to float as Python's float() does: OverflowError beyond the
// float64 range.
func bigFloat(x *big.Int) (float64, error) {
	f, _ := new(big.Float).SetInt(x).Float64()
	if math.IsInf(f, 0) {
		return 0, ErrOverflow
	}
	return f, nil
}

func overflows32(f float64) bool {
	return !math.IsInf(f, 0) && !math.IsNaN(f) && math.Abs(f) > math.MaxFloat32
}

// normalize turns bools and the predeclared Go number types into the decoded forms (int64,
// *big.Int, float64, complex128); anything else, named number types such as time.Duration
// included, is returned as is.
func normalize(v any) any {
	switch x := v.(type) {
	case int64, *big.Int, float64, complex128:
		return v
	case bool:
		if x {
			return int64(1)
		}
		return int64(0)
	case nil:
		return nil
	}
	rv := reflect.ValueOf(v)
	if rv.Type().PkgPath() != "" {
		return v
	}
	switch k := rv.Kind(); {
	case k >= reflect.Int && k <= reflect.Int64:
		return rv.Int()
	case k >= reflect.Uint && k <= reflect.Uintptr:
		u := rv.Uint()
		if u > math.MaxInt64 {
			return new(big.Int).SetUint64(u)
		}
		return int64(u)
	case k == reflect.Float32 || k == reflect.Float64:
		return rv.Float()
	case k == reflect.Complex64 || k == reflect.Complex128:
		return rv.Complex()
	}
	return v
}
