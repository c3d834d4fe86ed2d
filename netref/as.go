package netref

import (
	"errors"
	"fmt"
	"math/big"
	"reflect"

	"github.com/gorpyc/rpyc/brine"
	conv "github.com/gorpyc/rpyc/internal/convert"
)

// ErrConvert is wrapped by every conversion error of [As].
var ErrConvert = errors.New("rpyc: cannot convert")

// As converts a result to the Go type T, passing an error through. It is written to wrap a call:
//
//	n, err := netref.As[int](root.CallMethod(ctx, "add", 1, 2))
//
// Conversions: any Go integer type from a Python int (with an overflow check); float32/float64
// from a float or an int; string from str; []byte from bytes; bool from bool; complex128 from
// complex; slices and arrays from a tuple, element-wise; *Ref from a remote reference; any
// (or brine.Tuple etc.) as is. Anything else wraps ErrConvert with what was received.
func As[T any](v any, err error) (T, error) {
	var zero T
	if err != nil {
		return zero, err
	}
	if t, ok := v.(T); ok {
		return t, nil
	}
	out := reflect.New(reflect.TypeFor[T]()).Elem()
	if cerr := convert(v, out); cerr != nil {
		return zero, cerr
	}
	return out.Interface().(T), nil
}

func convert(v any, out reflect.Value) error {
	t := out.Type()
	fail := func(why string) error {
		return fmt.Errorf("%w %s (%T %v) to %s%s", ErrConvert, describe(v), v, short(v), t, why)
	}
	if v == nil {
		switch t.Kind() {
		case reflect.Pointer, reflect.Interface, reflect.Slice, reflect.Map:
			return nil
		}
		return fail("")
	}
	rv := reflect.ValueOf(v)
	if rv.Type().AssignableTo(t) {
		out.Set(rv)
		return nil
	}
	if conv.IsNumberKind(t.Kind()) {
		ok, err := conv.Number(out, v)
		switch {
		case !ok:
			return fail("")
		case err != nil:
			return fail(": " + err.Error())
		}
		return nil
	}
	switch t.Kind() {
	case reflect.String:
		if s, ok := v.(string); ok {
			out.SetString(s)
			return nil
		}
	case reflect.Bool:
		if b, ok := v.(bool); ok {
			out.SetBool(b)
			return nil
		}
	case reflect.Slice:
		if b, ok := v.([]byte); ok && t.Elem().Kind() == reflect.Uint8 {
			out.SetBytes(append([]byte(nil), b...))
			return nil
		}
		var items []any
		switch x := v.(type) {
		case brine.Tuple:
			items = x
		case brine.FrozenSet:
			items = x
		default:
			return fail("")
		}
		s := reflect.MakeSlice(t, len(items), len(items))
		for i, it := range items {
			if err := convert(it, s.Index(i)); err != nil {
				return fmt.Errorf("item %d: %w", i, err)
			}
		}
		out.Set(s)
		return nil
	case reflect.Array:
		if tup, ok := v.(brine.Tuple); ok && len(tup) == t.Len() {
			for i, it := range tup {
				if err := convert(it, out.Index(i)); err != nil {
					return fmt.Errorf("item %d: %w", i, err)
				}
			}
			return nil
		}
	}
	return fail("")
}

func describe(v any) string {
	switch x := v.(type) {
	case *Ref:
		return "remote " + x.TypeName()
	case string:
		return "str"
	case []byte:
		return "bytes"
	case brine.Tuple:
		return "tuple"
	case int64, *big.Int:
		return "int"
	case float64:
		return "float"
	}
	return "value"
}

func short(v any) string {
	s := fmt.Sprint(v)
	if len(s) > 40 {
		return s[:37] + "..."
	}
	return s
}
