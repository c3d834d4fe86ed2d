package classic

import (
	"context"
	"fmt"
	"reflect"

	"github.com/gorpyc/rpyc/brine"
	"github.com/gorpyc/rpyc/compat"
	"github.com/gorpyc/rpyc/internal/convert"
	"github.com/gorpyc/rpyc/internal/pickle"
	"github.com/gorpyc/rpyc/netref"
)

// The Go types of the value model that [Obtain] returns and [Client.Deliver] accepts, besides
// Go's own (see the package documentation for the whole mapping).
type (
	// Dict is a Python dict: its items in insertion order (keys need not be Go-comparable).
	Dict = pickle.Dict
	// Item is one key/value pair of a Dict.
	Item = pickle.Item
	// Set is a Python set; Obtain returns its members sorted.
	Set = pickle.Set
	// ByteArray is a Python bytearray.
	ByteArray = pickle.ByteArray
	// Decimal is a Python decimal.Decimal, as its exact text.
	Decimal = pickle.Decimal
	// Date is a Python datetime.date.
	Date = pickle.Date
	// TimeOfDay is a Python datetime.time (Zone nil when naive).
	TimeOfDay = pickle.TimeOfDay
)

// Naive is the location of a time.Time standing for a naive Python datetime (no tzinfo).
var Naive = pickle.Naive

// Errors of the value model, wrapped by Obtain and Deliver: test with errors.Is.
var (
	// ErrUnsupported: the value has no counterpart in the value model (the error names the
	// Python class or the Go type).
	ErrUnsupported = pickle.ErrUnsupported
	// ErrRecursive: a Python container contains itself.
	ErrRecursive = pickle.ErrRecursive
)

// PickleProtocol is the pickle protocol Obtain asks the server for, the one Python's own obtain
// uses (CPython 3.8+ defaults to it; every Python 3 that rpyc 4.1+ supports can write it).
const PickleProtocol = pickle.Protocol

// Obtain copies a remote object into Go by value, like Python's rpyc.classic.obtain: the server
// pickles it (HANDLE_PICKLE, protocol 4) and the pickle is decoded into the value model:
//
//	None → nil; bool; int → int64 (*big.Int beyond); float → float64; complex → complex128;
//	str → string; bytes → []byte; bytearray → ByteArray; tuple → brine.Tuple; list → []any;
//	dict, OrderedDict, defaultdict → Dict; set → Set; frozenset → brine.FrozenSet;
//	slice → brine.Slice; Ellipsis, NotImplemented → brine.Singleton;
//	datetime.datetime → time.Time (naive ones in location Naive); date → Date;
//	time → TimeOfDay; timedelta → time.Duration; timezone, ZoneInfo → *time.Location;
//	decimal.Decimal → Decimal.
//
// Other classes fail with an error wrapping [ErrUnsupported] that names the class. v may also be
// a value already received by value (returned as is) or a tuple holding references (each copied).
// The server must allow pickling, which classic servers do. Obtain does not release v.
func Obtain(ctx context.Context, v any) (any, error) {
	switch x := v.(type) {
	case *netref.Ref:
		raw, err := x.Conn().Request(ctx, compat.HandlePickle, x, int64(pickle.Protocol))
		if err != nil {
			return nil, fmt.Errorf("classic: obtain %s: %w", x.TypeName(), err)
		}
		data, ok := raw.([]byte)
		if !ok {
			return nil, fmt.Errorf("classic: obtain %s: the server pickled it as %T, not bytes", x.TypeName(), raw)
		}
		out, err := pickle.Loads(data)
		if err != nil {
			return nil, fmt.Errorf("classic: obtain %s: %w", x.TypeName(), err)
		}
		return out, nil
	case brine.Tuple:
		out := make(brine.Tuple, len(x))
		for i, it := range x {
			got, err := Obtain(ctx, it)
			if err != nil {
				return nil, err
			}
			out[i] = got
		}
		return out, nil
	}
	return v, nil
}

// ObtainAs obtains v like [Obtain] and converts the result to T:
//
//   - T = any, or the value's own type: as is;
//   - integer, float, complex, string, bool and []byte types: from the matching Python value,
//     with range checks (a Python int fits a float, a bool fits an int as 0 or 1, the ints 0
//     and 1 fit a bool; bytes and bytearray fit []byte; a Decimal fits a string);
//   - slices and arrays: from a list, tuple, set or frozenset, element by element;
//   - maps: from a dict, keys and values converted;
//   - structs: from a dict with str keys, matched to fields by the `rpyc` tag, the snake_case
//     form of the field name (UserID → user_id) or the field name itself, ignoring case
//     (keys without a field are ignored), or from a tuple or list, one item per field in order;
//   - pointers: allocated (nil for None); *netref.Ref: v itself, without obtaining it.
//
// These are the conversions of netref.As and of the arguments of Go functions called by Python,
// applied to the obtained copy. Errors are a *netref.ConvertError, which wraps netref.ErrConvert
// and says where in the value the mismatch is ("[1].name").
func ObtainAs[T any](ctx context.Context, v any) (T, error) {
	var zero T
	if r, ok := v.(*netref.Ref); ok {
		if want, ok := any(r).(T); ok && reflect.TypeFor[T]() == reflect.TypeFor[*netref.Ref]() {
			return want, nil
		}
	}
	got, err := Obtain(ctx, v)
	if err != nil {
		return zero, err
	}
	var out T
	if err := convert.Assign(reflect.ValueOf(&out).Elem(), got); err != nil {
		return zero, err
	}
	return out, nil
}

// Deliver copies a Go value to the server by value, like Python's rpyc.classic.deliver: it is
// pickled here and unpickled there with pickle.loads. It accepts the value model of [Obtain]
// plus every Go integer and float type, Go slices and arrays (→ list; byte slices and arrays →
// bytes), maps (→ dict, keys sorted), structs (→ dict keyed like fields are exposed to Python:
// the `rpyc` tag or the snake_case name), pointers (→ the value or None) and time.Time in any
// location (→ an aware datetime with that instant's offset, or a naive one in [Naive]).
//
// The result is what the server's pickle.loads returned: a *netref.Ref for a list, dict, set
// or other mutable object, a Go value for immutable values brine carries (int, str, tuple...).
func (c *Client) Deliver(ctx context.Context, v any) (any, error) {
	enc := pickle.Encoder{FieldName: fieldName}
	data, err := enc.Append(nil, v)
	if err != nil {
		return nil, fmt.Errorf("classic: deliver: %w", err)
	}
	mod, err := c.Module(ctx, "pickle")
	if err != nil {
		return nil, fmt.Errorf("classic: deliver: %w", err)
	}
	out, err := mod.CallMethod(ctx, "loads", data)
	if err != nil {
		return nil, fmt.Errorf("classic: deliver: %w", err)
	}
	return out, nil
}

// fieldName names struct fields the way gorpyc exposes them to Python.
func fieldName(f reflect.StructField) (string, bool) { return convert.FieldName(f) }
