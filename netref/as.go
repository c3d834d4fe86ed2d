package netref

import (
	"context"
	"fmt"
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
// []byte itself); slices from a tuple, list, set or frozenset and arrays from one of their
// length, element-wise; maps from a dict; structs from a tuple or list, one item per exported
// field in order, or from a dict with str keys naming the fields; pointers to any of these (nil
// for None); *Ref, or an interface it implements, from a remote reference; any (or brine.Tuple
// etc.) as is.
//
// A proxied container (a Python list, tuple, dict, set, frozenset, bytearray, deque,
// OrderedDict, defaultdict or Counter, arriving as a *Ref) that T needs as a value — As[[]T],
// As[map[K]V], As[Struct], As[[]byte] on a bytearray — is copied first with [Copy]: in one
// repr() request for most data (at most a few for long lists), with any service, whatever its
// configuration. When T accepts the value as it is (any, *Ref), nothing is copied.
//
// Copying sends requests: As bounds each by the connection's request timeout; [AsContext] takes
// a context. Anything that does not convert fails with a *[ConvertError], which wraps
// ErrConvert and says what was received.
func As[T any](v any, err error) (T, error) {
	return AsContext[T](context.Background(), v, err)
}

// AsContext is [As] with the context under which a proxied container is copied.
func AsContext[T any](ctx context.Context, v any, err error) (T, error) {
	var zero T
	if err != nil {
		return zero, err
	}
	if t, ok := v.(T); ok {
		return t, nil
	}
	var out T
	dst := reflect.ValueOf(&out).Elem()
	cerr := convert.Assign(dst, v)
	if cerr == nil {
		return out, nil
	}
	if !holdsCopyable(v, 0) {
		return zero, cerr
	}
	cp, err := Copy(ctx, v)
	if err != nil {
		return zero, fmt.Errorf("rpyc: copying the remote value: %w", err)
	}
	dst.SetZero()
	if cerr := convert.Assign(dst, cp); cerr != nil {
		return zero, cerr
	}
	return out, nil
}
