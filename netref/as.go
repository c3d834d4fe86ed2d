package netref

import (
	"reflect"

	"github.com/gorpyc/rpyc/internal/convert"
)

// ErrConvert is wrapped by every conversion error of [As], and of every other conversion of a
// received value to a Go type (call arguments of Go functions, classic.ObtainAs): they share
// one converter and one error type, [ConvertError].
var ErrConvert = convert.ErrConvert

// ConvertError is the error of a received value that does not convert to a Go type: what was
// received (Value), the Go type (Type), where in the received value (Path, e.g. "[2].name") and
// the reason beyond a type mismatch (Err: an overflow, a negative value for an unsigned type, a
// wrong number of items), if any. It matches [ErrConvert] with errors.Is; get it with errors.As.
type ConvertError = convert.Error

// As converts a result to the Go type T, passing an error through. It is written to wrap a call:
//
//	n, err := netref.As[int](root.CallMethod(ctx, "add", 1, 2))
//
// Conversions: any Go integer type from a Python int (with an overflow check) or a bool (0 or
// 1); float32/float64 from a float or an int; complex types from a complex, float or int; bool
// from a bool or the ints 0 and 1; string from str; []byte from bytes (copied unless T is
// []byte itself); slices from a tuple or frozenset and arrays from one of their length,
// element-wise; structs from a tuple, one item per exported field in order; pointers to any of
// these (nil for None); *Ref, or an interface it implements, from a remote reference; any (or
// brine.Tuple etc.) as is. A Python list or dict is a remote reference: convert it on the
// Python side, or copy it with classic.ObtainAs. Anything else fails with a *[ConvertError],
// which wraps ErrConvert and says what was received.
func As[T any](v any, err error) (T, error) {
	var zero T
	if err != nil {
		return zero, err
	}
	if t, ok := v.(T); ok {
		return t, nil
	}
	var out T
	if cerr := convert.Assign(reflect.ValueOf(&out).Elem(), v); cerr != nil {
		return zero, cerr
	}
	return out, nil
}
