package convert

import (
	"errors"
	"fmt"
	"math/big"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gorpyc/rpyc/brine"
)

// ErrConvert is matched, with errors.Is, by every conversion error ([*Error]).
var ErrConvert = errors.New("rpyc: cannot convert")

// ErrLength is wrapped by an [*Error] when a sequence has not as many items as the Go array has
// elements or the Go struct has fields.
var ErrLength = errors.New("wrong number of items")

var (
	errNotBool    = errors.New("only 0 and 1 convert to bool")
	errKeyNotStr  = errors.New("only str keys name struct fields")
	errUnhashable = errors.New("the key is not comparable in Go")
	errUnsettable = errors.New("the field is promoted through a nil pointer to an unexported struct")
	bigIntPtrType = reflect.TypeFor[*big.Int]()
	bigIntType    = reflect.TypeFor[big.Int]()
)

// reprItemBudget is about how many bytes of a value's repr a message shows.
const reprItemBudget = 60

// Sequence is implemented by received containers other than tuples (brine.Tuple), frozensets
// (brine.FrozenSet) and lists ([]any) whose items fill Go slices and arrays: the pickle model's
// set.
type Sequence interface {
	PySequence() []any
}

// Mapping is implemented by received dicts (the pickle model's Dict): their items, in order,
// fill Go maps and structs.
type Mapping interface {
	PyItems() [][2]any
}

// Typed is implemented by received values that name their Python type in messages ("dict",
// "bytearray", "Decimal").
type Typed interface {
	PyTypeName() string
}

// Remote is how a proxy of a remote object (*netref.Ref) is recognised: it is never converted,
// only assigned to its own type or to an interface it implements, and messages name its remote
// type.
type Remote interface {
	TypeName() string
	IsClass() bool
}

// Error is a received value that does not convert to a Go type. It matches [ErrConvert] with
// errors.Is, and unwraps to its reason when there is one ([ErrOverflow], [ErrNegative],
// [ErrLength], ...).
type Error struct {
	// Value is the received value that did not convert: the whole value, or the item at Path.
	Value any
	// Type is the Go type Value was to become.
	Type reflect.Type
	// Path says where Value is inside the received value, in Python's notation: "" for the value
	// itself, "[2]" for a sequence item (or a struct field filled by position), ".name" for a
	// struct field filled from a dict key, "['k']" for a dict value, "key 'k'" for the dict key
	// itself; nested, "[2].name" or "['k'][0]".
	Path string
	// Err is the reason beyond a type mismatch, or nil.
	Err error
}

// Error returns "cannot convert <what was received> to <Go type>[ at <path>][: <reason>]", e.g.
// "cannot convert Python int 300 to int8 at [1]: overflow".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("cannot convert ")
	b.WriteString(describe(e.Value))
	b.WriteString(" to ")
	if e.Type != nil {
		b.WriteString(e.Type.String())
	} else {
		b.WriteString("<nil>")
	}
	if e.Path != "" {
		b.WriteString(" at ")
		b.WriteString(e.Path)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the reason, or nil.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is [ErrConvert].
func (e *Error) Is(target error) bool { return target == ErrConvert }

// at prefixes the error's path with seg and returns the error.
func (e *Error) at(seg string) *Error {
	e.Path = seg + e.Path
	return e
}

// Value returns v converted to t: v itself, not copied, when its type is assignable to t (so the
// result's type may be v's own, assignable to t), else a new value filled by [Assign].
func Value(v any, t reflect.Type) (reflect.Value, error) {
	if v != nil {
		if rv := reflect.ValueOf(v); rv.Type().AssignableTo(t) {
			return rv, nil
		}
	}
	out := reflect.New(t).Elem()
	if err := Assign(out, v); err != nil {
		return reflect.Value{}, err
	}
	return out, nil
}

// Assign stores v, a value received from Python, into dst, which must be settable. It is the
// conversion that call arguments, netref.As and classic.ObtainAs share:
//
//   - None: the zero value of pointers, interfaces, slices, maps, funcs and channels;
//   - a value assignable to dst's type (any, *netref.Ref and the interfaces it implements,
//     brine.Tuple, the value's own type): as is, not copied;
//   - integer types: a Python int in range; a bool as 0 or 1 (Python's int(True) is 1);
//     *big.Int and big.Int: any int or bool;
//   - float types: a float, an int or a bool; complex types: a complex too. Python's float()
//     range applies: an int beyond float64 is an overflow;
//   - bool: a bool, or the ints 0 and 1 (Python would take any value's truth; gorpyc takes
//     only those two, so that a count or an id passed by mistake is refused);
//   - string kinds: str (and the string kinds of the pickle model, such as Decimal);
//   - byte slices: bytes or bytearray, copied; byte arrays: bytes of exactly their length;
//   - other slices: a tuple, list, set or frozenset ([Sequence]), item by item; arrays: the
//     same with exactly their length;
//   - maps: a dict ([Mapping]), keys and values converted;
//   - structs: a tuple or list, one item per field in order, or a dict with str keys naming
//     fields (see below), keys without a field ignored;
//   - pointers: a new value converted from v (nil for None).
//
// A struct's fields are its exported fields, those of embedded structs included, minus those
// hidden from Python (`rpyc:"-"`, or renamed to "" by an RPyCNames() map[string]string method).
// A dict key names a field by its Python name (the rpyc tag, the RPyCNames rename, or the
// snake_case form of the Go name), else by any of those or the Go name ignoring case.
//
// Numbers that do not fit fail with an [*Error] wrapping [ErrOverflow] or [ErrNegative]; a
// float never becomes an int, and neither str and bytes nor ints and str convert to each other.
// A Python list, dict or set passed over the connection arrives as a remote reference, which
// only an interface or *netref.Ref accepts; only tuples and frozensets (and obtained values)
// are values here. On error, the error is an [*Error] and dst may be partly set.
func Assign(dst reflect.Value, v any) error {
	if e := assign(dst, v); e != nil {
		e.Path = strings.TrimPrefix(e.Path, " ")
		return e
	}
	return nil
}

func assign(dst reflect.Value, v any) *Error {
	t := dst.Type()
	if v == nil {
		switch t.Kind() {
		case reflect.Pointer, reflect.Interface, reflect.Slice, reflect.Map, reflect.Func, reflect.Chan:
			dst.SetZero()
			return nil
		}
		return &Error{Value: v, Type: t}
	}
	rv := reflect.ValueOf(v)
	if rv.Type().AssignableTo(t) {
		dst.Set(rv)
		return nil
	}
	if t == bigIntPtrType || t == bigIntType {
		n, ok := bigOf(v)
		if !ok {
			return &Error{Value: v, Type: t}
		}
		if t == bigIntPtrType {
			dst.Set(reflect.ValueOf(n))
		} else {
			dst.Set(reflect.ValueOf(n).Elem())
		}
		return nil
	}
	k := t.Kind()
	if IsNumberKind(k) {
		if ok, err := Number(dst, v); !ok || err != nil {
			return &Error{Value: v, Type: t, Err: err}
		}
		return nil
	}
	switch k {
	case reflect.Bool:
		if rv.Kind() == reflect.Bool {
			dst.SetBool(rv.Bool())
			return nil
		}
		switch x := normalize(v).(type) {
		case int64:
			if x == 0 || x == 1 {
				dst.SetBool(x == 1)
				return nil
			}
			return &Error{Value: v, Type: t, Err: errNotBool}
		case *big.Int:
			return &Error{Value: v, Type: t, Err: errNotBool}
		}
	case reflect.String:
		if rv.Kind() == reflect.String {
			dst.SetString(rv.String())
			return nil
		}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			if b, ok := bytesOf(rv); ok {
				dst.SetBytes(append(make([]byte, 0, len(b)), b...))
				return nil
			}
		}
		if items, ok := sequence(v); ok {
			s := reflect.MakeSlice(t, len(items), len(items))
			for i, it := range items {
				if e := assign(s.Index(i), it); e != nil {
					return e.at(index(i))
				}
			}
			dst.Set(s)
			return nil
		}
	case reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			if b, ok := bytesOf(rv); ok {
				if len(b) != t.Len() {
					return &Error{Value: v, Type: t, Err: lengthErr(len(b), t.Len())}
				}
				for i, c := range b {
					dst.Index(i).SetUint(uint64(c))
				}
				return nil
			}
		}
		if items, ok := sequence(v); ok {
			if len(items) != t.Len() {
				return &Error{Value: v, Type: t, Err: lengthErr(len(items), t.Len())}
			}
			for i, it := range items {
				if e := assign(dst.Index(i), it); e != nil {
					return e.at(index(i))
				}
			}
			return nil
		}
	case reflect.Map:
		if m, ok := v.(Mapping); ok {
			return assignMap(dst, m)
		}
	case reflect.Struct:
		if items, ok := ordered(v); ok {
			return assignFields(dst, v, items)
		}
		if m, ok := v.(Mapping); ok {
			return assignStruct(dst, m)
		}
	case reflect.Pointer:
		p := reflect.New(t.Elem())
		if e := assign(p.Elem(), v); e != nil {
			if e.Path == "" && e.Type == t.Elem() {
				e.Type = t
			}
			return e
		}
		dst.Set(p)
		return nil
	}
	return &Error{Value: v, Type: t}
}

func assignMap(dst reflect.Value, m Mapping) *Error {
	t := dst.Type()
	items := m.PyItems()
	out := reflect.MakeMapWithSize(t, len(items))
	for _, kv := range items {
		key := reflect.New(t.Key()).Elem()
		if e := assign(key, kv[0]); e != nil {
			return e.at(" key " + repr(kv[0]))
		}
		if !key.Comparable() {
			return &Error{Value: kv[0], Type: t.Key(), Path: " key " + repr(kv[0]), Err: errUnhashable}
		}
		val := reflect.New(t.Elem()).Elem()
		if e := assign(val, kv[1]); e != nil {
			return e.at("[" + repr(kv[0]) + "]")
		}
		out.SetMapIndex(key, val)
	}
	dst.Set(out)
	return nil
}

// assignFields fills a struct's fields in order from a tuple or list.
func assignFields(dst reflect.Value, v any, items []any) *Error {
	t := dst.Type()
	si := infoOf(t)
	if len(items) != len(si.fields) {
		return &Error{Value: v, Type: t, Err: lengthErr(len(items), len(si.fields))}
	}
	dst.SetZero()
	for i, it := range items {
		f, err := fieldFor(dst, si.fields[i].index)
		if err != nil {
			return &Error{Value: it, Type: t, Path: index(i), Err: err}
		}
		if e := assign(f, it); e != nil {
			return e.at(index(i))
		}
	}
	return nil
}

// assignStruct fills a struct's fields from a dict with str keys.
func assignStruct(dst reflect.Value, m Mapping) *Error {
	t := dst.Type()
	si := infoOf(t)
	dst.SetZero()
	for _, kv := range m.PyItems() {
		key, ok := kv[0].(string)
		if !ok {
			return &Error{Value: kv[0], Type: t, Path: " key " + repr(kv[0]), Err: errKeyNotStr}
		}
		fd, ok := si.lookup(key)
		if !ok {
			continue
		}
		f, err := fieldFor(dst, fd.index)
		if err != nil {
			return &Error{Value: kv[1], Type: t, Path: attr(key), Err: err}
		}
		if e := assign(f, kv[1]); e != nil {
			return e.at(attr(key))
		}
	}
	return nil
}

// fieldFor returns the field at idx, allocating the embedded pointers on the way.
func fieldFor(v reflect.Value, idx []int) (reflect.Value, error) {
	for i, x := range idx {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				if !v.CanSet() {
					return reflect.Value{}, errUnsettable
				}
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	if !v.CanSet() {
		return reflect.Value{}, errUnsettable
	}
	return v, nil
}

func lengthErr(got, want int) error {
	return fmt.Errorf("%w: %d, want %d", ErrLength, got, want)
}

// sequence returns the items of a tuple, list, frozenset or other [Sequence].
func sequence(v any) ([]any, bool) {
	switch x := v.(type) {
	case brine.Tuple:
		return x, true
	case []any:
		return x, true
	case brine.FrozenSet:
		return x, true
	case Sequence:
		return x.PySequence(), true
	}
	return nil, false
}

// ordered returns the items of a tuple or list: the sequences whose order means something.
func ordered(v any) ([]any, bool) {
	switch x := v.(type) {
	case brine.Tuple:
		return x, true
	case []any:
		return x, true
	}
	return nil, false
}

// bytesOf returns the bytes of a bytes-like value (bytes, bytearray).
func bytesOf(rv reflect.Value) ([]byte, bool) {
	if rv.Kind() == reflect.Slice && rv.Type().Elem().Kind() == reflect.Uint8 {
		return rv.Bytes(), true
	}
	return nil, false
}

// bigOf returns a Python int (or bool) as a new *big.Int.
func bigOf(v any) (*big.Int, bool) {
	switch x := normalize(v).(type) {
	case int64:
		return big.NewInt(x), true
	case *big.Int:
		return new(big.Int).Set(x), true
	}
	return nil, false
}

func index(i int) string { return "[" + strconv.Itoa(i) + "]" }

// attr is the path segment of a struct field named by a dict key: ".name", or "['a b']" when
// the key is not an identifier.
func attr(key string) string {
	for i, r := range key {
		if !(r == '_' || unicode.IsLetter(r) || i > 0 && unicode.IsDigit(r)) {
			return "[" + repr(key) + "]"
		}
	}
	if key == "" {
		return "[" + repr(key) + "]"
	}
	return "." + key
}

// describe says what a received value is, for messages: "Python int 300", "Python None",
// "remote builtins.list", or "Go T value" for a Go value outside the model.
func describe(v any) string {
	if v == nil {
		return "Python None"
	}
	if r, ok := v.(Remote); ok {
		if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && rv.IsNil() {
			return fmt.Sprintf("nil %T", v)
		}
		if r.IsClass() {
			return "remote class " + r.TypeName()
		}
		return "remote " + r.TypeName()
	}
	if name := pyTypeName(v); name != "" {
		return "Python " + name + " " + repr(v)
	}
	return fmt.Sprintf("Go %T value %s", v, short(fmt.Sprint(v), reprItemBudget))
}

// pyTypeName names the Python type of a received value, "" for a value outside the models.
func pyTypeName(v any) string {
	switch x := v.(type) {
	case Typed:
		return x.PyTypeName()
	case []any:
		return "list"
	case time.Time:
		return "datetime"
	case time.Duration:
		return "timedelta"
	case *time.Location:
		return "timezone"
	}
	return brine.TypeName(v)
}

// repr renders a received value like Python's repr(), shortened for messages.
func repr(v any) string {
	var b strings.Builder
	writeRepr(&b, v, 0)
	return short(b.String(), reprItemBudget)
}

func writeRepr(b *strings.Builder, v any, depth int) {
	if b.Len() > reprItemBudget || depth > 8 {
		b.WriteString("...")
		return
	}
	items := func(open, close string, xs []any) {
		b.WriteString(open)
		for i, x := range xs {
			if i > 0 {
				b.WriteString(", ")
			}
			if b.Len() > reprItemBudget {
				b.WriteString("...")
				break
			}
			writeRepr(b, x, depth+1)
		}
		if len(xs) == 1 && open == "(" {
			b.WriteString(",")
		}
		b.WriteString(close)
	}
	switch x := v.(type) {
	case brine.Tuple:
		items("(", ")", x)
	case []any:
		items("[", "]", x)
	case brine.FrozenSet:
		items("frozenset({", "})", x)
	case Sequence:
		items("{", "}", x.PySequence())
	case Mapping:
		b.WriteString("{")
		for i, kv := range x.PyItems() {
			if i > 0 {
				b.WriteString(", ")
			}
			if b.Len() > reprItemBudget {
				b.WriteString("...")
				break
			}
			writeRepr(b, kv[0], depth+1)
			b.WriteString(": ")
			writeRepr(b, kv[1], depth+1)
		}
		b.WriteString("}")
	case *big.Int:
		if x.BitLen() > 1024 {
			// Python refuses to print ints this long too; do not spend time on the digits.
			fmt.Fprintf(b, "<%d-bit int>", x.BitLen())
		} else {
			b.WriteString(x.String())
		}
	case string:
		b.WriteString(brine.Repr(truncate(x)))
	case []byte:
		b.WriteString(brine.Repr([]byte(truncate(string(x)))))
	default:
		if brine.TypeName(v) != "" {
			b.WriteString(brine.Repr(v))
		} else {
			fmt.Fprint(b, v)
		}
	}
}

// truncate keeps the first bytes of s (at a rune boundary), enough for a message.
func truncate(s string) string {
	if len(s) <= reprItemBudget {
		return s
	}
	n := reprItemBudget
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// short cuts s to about n bytes, marking the cut with "...".
func short(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}
