package pickle

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"slices"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gorpyc/rpyc/brine"
)

// batchSize is how many list items, dict items or set members one APPENDS, SETITEMS or ADDITEMS
// carries (CPython's own batch size).
const batchSize = 1000

// Encoder writes pickles. The zero value is ready to use.
type Encoder struct {
	// FieldName gives the dict key for a Go struct field, or ok=false to leave the field out.
	// Nil uses the field's Go name. Unexported fields are always left out.
	FieldName func(f reflect.StructField) (name string, ok bool)
}

// Dumps returns the protocol-4 pickle of v; see the package documentation for the Go types it
// accepts.
func Dumps(v any) ([]byte, error) {
	var e Encoder
	return e.Append(nil, v)
}

// Append appends the protocol-4 pickle of v to dst and returns the extended buffer. On error dst
// is returned unchanged (its spare capacity may have been written).
func (e *Encoder) Append(dst []byte, v any) ([]byte, error) {
	w := writer{enc: e, buf: append(dst, opProto, Protocol)}
	if err := w.value(v, 0); err != nil {
		return dst, err
	}
	return append(w.buf, opStop), nil
}

type writer struct {
	enc *Encoder
	buf []byte
}

func (w *writer) op(op byte) { w.buf = append(w.buf, op) }

func unsupportedGo(v any, why string) error {
	if why != "" {
		why = ": " + why
	}
	return fmt.Errorf("%w: cannot pickle Go %T%s", ErrUnsupported, v, why)
}

func (w *writer) value(v any, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("%w: nesting deeper than %d (or a Go value that contains itself)", ErrUnsupported, maxDepth)
	}
	switch x := v.(type) {
	case nil:
		w.op(opNone)
	case bool:
		if x {
			w.op(opNewTrue)
		} else {
			w.op(opNewFalse)
		}
	case int:
		w.int(int64(x))
	case int8:
		w.int(int64(x))
	case int16:
		w.int(int64(x))
	case int32:
		w.int(int64(x))
	case int64:
		w.int(x)
	case uint:
		w.uint(uint64(x))
	case uint8:
		w.int(int64(x))
	case uint16:
		w.int(int64(x))
	case uint32:
		w.int(int64(x))
	case uint64:
		w.uint(x)
	case uintptr:
		w.uint(uint64(x))
	case *big.Int:
		if x == nil {
			w.op(opNone)
			return nil
		}
		w.bigInt(x)
	case float64:
		w.float(x)
	case float32:
		w.float(float64(x))
	case complex128:
		w.complex(x)
	case complex64:
		w.complex(complex128(x))
	case string:
		return w.str(x)
	case []byte:
		w.bytes(x)
	case ByteArray:
		w.global("builtins", "bytearray")
		w.bytes(x)
		w.op(opTuple1)
		w.op(opReduce)
	case brine.Tuple:
		return w.tuple(x, depth)
	case []any:
		return w.list(len(x), func(i int) any { return x[i] }, depth)
	case Dict:
		return w.dict(x, depth)
	case Set:
		if err := checkHashable(x, depth, "set member"); err != nil {
			return err
		}
		w.op(opEmptySet)
		return w.batches(len(x), opAddItems, 0, func(i int) error { return w.value(x[i], depth+1) })
	case brine.FrozenSet:
		if err := checkHashable(x, depth, "frozenset member"); err != nil {
			return err
		}
		w.op(opMark)
		for _, it := range x {
			if err := w.value(it, depth+1); err != nil {
				return err
			}
		}
		w.op(opFrozenSet)
	case brine.Slice:
		w.global("builtins", "slice")
		if err := w.tuple(brine.Tuple{x.Start, x.Stop, x.Step}, depth); err != nil {
			return err
		}
		w.op(opReduce)
	case brine.Singleton:
		switch x {
		case brine.Ellipsis:
			w.global("builtins", "Ellipsis")
		case brine.NotImplemented:
			w.global("builtins", "NotImplemented")
		default:
			return unsupportedGo(v, "invalid singleton")
		}
		return nil
	case Decimal:
		w.global("decimal", "Decimal")
		if err := w.str(string(x)); err != nil {
			return err
		}
		w.op(opTuple1)
		w.op(opReduce)
	case Date:
		if err := checkDate(x.Year, x.Month, x.Day); err != nil {
			return err
		}
		w.global("datetime", "date")
		w.bytes([]byte{byte(x.Year >> 8), byte(x.Year), byte(x.Month), byte(x.Day)})
		w.op(opTuple1)
		w.op(opReduce)
	case TimeOfDay:
		return w.timeOfDay(x)
	case time.Time:
		return w.dateTime(x)
	case time.Duration:
		w.timedelta(x)
	case *time.Location:
		return w.location(x)
	default:
		return w.reflected(v, depth)
	}
	return nil
}

// reflected handles Go types that are not in the value model proper: named scalar types,
// pointers, slices, arrays, maps and structs.
func (w *writer) reflected(v any, depth int) error {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			w.op(opNone)
			return nil
		}
		return w.value(rv.Elem().Interface(), depth+1)
	case reflect.Bool:
		return w.value(rv.Bool(), depth)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		w.int(rv.Int())
		return nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		w.uint(rv.Uint())
		return nil
	case reflect.Float32, reflect.Float64:
		w.float(rv.Float())
		return nil
	case reflect.Complex64, reflect.Complex128:
		w.complex(rv.Complex())
		return nil
	case reflect.String:
		return w.str(rv.String())
	case reflect.Slice, reflect.Array:
		if rv.Type().Elem().Kind() == reflect.Uint8 {
			b := make([]byte, rv.Len())
			reflect.Copy(reflect.ValueOf(b), rv)
			w.bytes(b)
			return nil
		}
		if rv.Kind() == reflect.Slice && rv.IsNil() {
			w.op(opEmptyList)
			return nil
		}
		return w.list(rv.Len(), func(i int) any { return rv.Index(i).Interface() }, depth)
	case reflect.Map:
		return w.goMap(rv, depth)
	case reflect.Struct:
		return w.goStruct(rv, depth)
	}
	return unsupportedGo(v, "")
}

func (w *writer) int(i int64) {
	switch {
	case i >= 0 && i <= 0xff:
		w.buf = append(w.buf, opBinInt1, byte(i))
	case i >= 0 && i <= 0xffff:
		w.buf = append(w.buf, opBinInt2, byte(i), byte(i>>8))
	case i >= math.MinInt32 && i <= math.MaxInt32:
		w.buf = binary.LittleEndian.AppendUint32(append(w.buf, opBinInt), uint32(int32(i)))
	default:
		w.bigInt(big.NewInt(i))
	}
}

func (w *writer) uint(u uint64) {
	if u <= math.MaxInt64 {
		w.int(int64(u))
		return
	}
	w.bigInt(new(big.Int).SetUint64(u))
}

// bigInt writes LONG1 or LONG4 with the minimal little-endian two's-complement encoding.
func (w *writer) bigInt(x *big.Int) {
	if x.IsInt64() {
		if i := x.Int64(); i >= math.MinInt32 && i <= math.MaxInt32 {
			w.int(i)
			return
		}
	}
	// n bytes hold a signed value v when -2^(8n-1) <= v < 2^(8n-1).
	n := x.BitLen()/8 + 1
	if x.Sign() < 0 {
		// -2^k needs only k+1 bits; other negatives need BitLen()+1.
		m := new(big.Int).Neg(x)
		m.Sub(m, big.NewInt(1))
		n = m.BitLen()/8 + 1
	}
	mag := new(big.Int).Set(x)
	if x.Sign() < 0 {
		mag.Add(mag, new(big.Int).Lsh(big.NewInt(1), uint(8*n))) // two's complement
	}
	be := mag.FillBytes(make([]byte, n))
	slices.Reverse(be)
	if n < 256 {
		w.buf = append(w.buf, opLong1, byte(n))
	} else {
		w.buf = binary.LittleEndian.AppendUint32(append(w.buf, opLong4), uint32(n))
	}
	w.buf = append(w.buf, be...)
}

func (w *writer) float(f float64) {
	w.buf = binary.BigEndian.AppendUint64(append(w.buf, opBinFloat), math.Float64bits(f))
}

func (w *writer) complex(c complex128) {
	w.global("builtins", "complex")
	w.float(real(c))
	w.float(imag(c))
	w.op(opTuple2)
	w.op(opReduce)
}

func (w *writer) str(s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: string %.40q is not valid UTF-8", ErrUnsupported, s)
	}
	switch n := len(s); {
	case n < 256:
		w.buf = append(w.buf, opShortBinUnicode, byte(n))
	case n <= math.MaxUint32:
		w.buf = binary.LittleEndian.AppendUint32(append(w.buf, opBinUnicode), uint32(n))
	default:
		w.buf = binary.LittleEndian.AppendUint64(append(w.buf, opBinUnicode8), uint64(n))
	}
	w.buf = append(w.buf, s...)
	return nil
}

func (w *writer) bytes(b []byte) {
	switch n := len(b); {
	case n < 256:
		w.buf = append(w.buf, opShortBinBytes, byte(n))
	case n <= math.MaxUint32:
		w.buf = binary.LittleEndian.AppendUint32(append(w.buf, opBinBytes), uint32(n))
	default:
		w.buf = binary.LittleEndian.AppendUint64(append(w.buf, opBinBytes8), uint64(n))
	}
	w.buf = append(w.buf, b...)
}

// global pushes module.name with STACK_GLOBAL (both names are short ASCII here).
func (w *writer) global(module, name string) {
	_ = w.str(module)
	_ = w.str(name)
	w.op(opStackGlobal)
}

func (w *writer) tuple(t brine.Tuple, depth int) error {
	if len(t) == 0 {
		w.op(opEmptyTuple)
		return nil
	}
	if len(t) > 3 {
		w.op(opMark)
	}
	for _, it := range t {
		if err := w.value(it, depth+1); err != nil {
			return err
		}
	}
	switch len(t) {
	case 1:
		w.op(opTuple1)
	case 2:
		w.op(opTuple2)
	case 3:
		w.op(opTuple3)
	default:
		w.op(opTuple)
	}
	return nil
}

// batches writes n items in groups of up to batchSize: MARK items... multi. A group of one item
// is written as the item and then single, when single is non-zero (CPython does the same).
func (w *writer) batches(n int, multi, single byte, item func(i int) error) error {
	for start := 0; start < n; start += batchSize {
		end := min(start+batchSize, n)
		if end-start == 1 && single != 0 {
			if err := item(start); err != nil {
				return err
			}
			w.op(single)
			continue
		}
		w.op(opMark)
		for i := start; i < end; i++ {
			if err := item(i); err != nil {
				return err
			}
		}
		w.op(multi)
	}
	return nil
}

func (w *writer) list(n int, at func(i int) any, depth int) error {
	w.op(opEmptyList)
	return w.batches(n, opAppends, opAppend, func(i int) error { return w.value(at(i), depth+1) })
}

func (w *writer) dict(d Dict, depth int) error {
	for _, it := range d {
		if err := checkHashable([]any{it.Key}, depth, "dict key"); err != nil {
			return err
		}
	}
	w.op(opEmptyDict)
	return w.batches(len(d), opSetItems, opSetItem, func(i int) error {
		if err := w.value(d[i].Key, depth+1); err != nil {
			return err
		}
		return w.value(d[i].Value, depth+1)
	})
}

// goMap writes a Go map as a dict, keys in a stable order (sorted when they are strings or
// numbers, by their printed form otherwise).
func (w *writer) goMap(rv reflect.Value, depth int) error {
	if rv.IsNil() {
		w.op(opEmptyDict)
		return nil
	}
	keys := rv.MapKeys()
	slices.SortFunc(keys, compareKeys)
	d := make(Dict, len(keys))
	for i, k := range keys {
		d[i] = Item{Key: k.Interface(), Value: rv.MapIndex(k).Interface()}
	}
	return w.dict(d, depth)
}

func compareKeys(a, b reflect.Value) int {
	switch {
	case a.Kind() == reflect.String && b.Kind() == reflect.String:
		return cmp.Compare(a.String(), b.String())
	case a.CanInt() && b.CanInt():
		return cmp.Compare(a.Int(), b.Int())
	case a.CanUint() && b.CanUint():
		return cmp.Compare(a.Uint(), b.Uint())
	case a.CanFloat() && b.CanFloat():
		return cmp.Compare(a.Float(), b.Float())
	}
	return cmp.Compare(fmt.Sprintf("%T %v", a.Interface(), a.Interface()),
		fmt.Sprintf("%T %v", b.Interface(), b.Interface()))
}

// goStruct writes a Go struct as a dict of its exported fields (promoted fields included).
func (w *writer) goStruct(rv reflect.Value, depth int) error {
	var d Dict
	for _, f := range reflect.VisibleFields(rv.Type()) {
		if !f.IsExported() || f.Anonymous {
			continue
		}
		name, ok := f.Name, true
		if w.enc != nil && w.enc.FieldName != nil {
			name, ok = w.enc.FieldName(f)
		}
		if !ok {
			continue
		}
		fv, err := rv.FieldByIndexErr(f.Index)
		if err != nil {
			continue // a field promoted through a nil embedded pointer
		}
		d = append(d, Item{Key: name, Value: fv.Interface()})
	}
	return w.dict(d, depth)
}

// checkHashable refuses set members and dict keys that Python cannot hash, before Python does
// with a less helpful message.
func checkHashable(items []any, depth int, what string) error {
	for _, it := range items {
		if !hashable(it, depth) {
			return fmt.Errorf("%w: %s of Go type %T is unhashable in Python (use a tuple or frozenset)", ErrUnsupported, what, it)
		}
	}
	return nil
}

func hashable(v any, depth int) bool {
	if depth > maxDepth {
		return false
	}
	switch x := v.(type) {
	case nil, bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, uintptr,
		*big.Int, float32, float64, complex64, complex128, string, []byte, brine.Singleton,
		Decimal, Date, TimeOfDay, time.Time, time.Duration:
		return true
	case brine.Tuple:
		for _, it := range x {
			if !hashable(it, depth+1) {
				return false
			}
		}
		return true
	case brine.FrozenSet:
		return true // its members were checked when it was written, or will be
	case []any, Dict, Set, ByteArray, brine.Slice:
		return false
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer, reflect.Interface:
		return rv.IsNil() || hashable(rv.Elem().Interface(), depth+1)
	case reflect.Slice, reflect.Array:
		return rv.Type().Elem().Kind() == reflect.Uint8 // bytes
	case reflect.Map, reflect.Struct:
		return false
	}
	return true
}

func checkDate(year int, month time.Month, day int) error {
	if year < 1 || year > 9999 || month < 1 || month > 12 || day < 1 ||
		day > time.Date(year, month+1, 0, 0, 0, 0, 0, time.UTC).Day() {
		return fmt.Errorf("%w: date %04d-%02d-%02d is outside Python's range (years 1-9999)", ErrUnsupported, year, int(month), day)
	}
	return nil
}

func (w *writer) timeOfDay(t TimeOfDay) error {
	if t.Hour < 0 || t.Hour > 23 || t.Minute < 0 || t.Minute > 59 || t.Second < 0 || t.Second > 59 ||
		t.Microsecond < 0 || t.Microsecond > 999999 {
		return fmt.Errorf("%w: time %02d:%02d:%02d.%06d is out of range", ErrUnsupported, t.Hour, t.Minute, t.Second, t.Microsecond)
	}
	w.global("datetime", "time")
	us := t.Microsecond
	w.bytes([]byte{byte(t.Hour), byte(t.Minute), byte(t.Second), byte(us >> 16), byte(us >> 8), byte(us)})
	if t.Zone == nil {
		w.op(opTuple1)
	} else {
		if err := w.location(t.Zone); err != nil {
			return err
		}
		w.op(opTuple2)
	}
	w.op(opReduce)
	return nil
}

func (w *writer) dateTime(t time.Time) error {
	if err := checkDate(t.Year(), t.Month(), t.Day()); err != nil {
		return err
	}
	w.global("datetime", "datetime")
	y, us := t.Year(), t.Nanosecond()/1000
	w.bytes([]byte{byte(y >> 8), byte(y), byte(t.Month()), byte(t.Day()), byte(t.Hour()),
		byte(t.Minute()), byte(t.Second()), byte(us >> 16), byte(us >> 8), byte(us)})
	if t.Location() == Naive {
		w.op(opTuple1)
	} else {
		name, off := t.Zone()
		w.timezone(off, name, t.Location() == time.UTC)
		w.op(opTuple2)
	}
	w.op(opReduce)
	return nil
}

// timezone writes datetime.timezone(timedelta(seconds=off)[, name]). The name is kept when it
// is an abbreviation with letters other than plain "UTC" at offset 0, which is timezone.utc.
func (w *writer) timezone(off int, name string, utc bool) {
	w.global("datetime", "timezone")
	w.timedelta(time.Duration(off) * time.Second)
	hasLetter := false
	for _, r := range name {
		hasLetter = hasLetter || unicode.IsLetter(r)
	}
	if utc || (off == 0 && name == "UTC") || !hasLetter {
		w.op(opTuple1)
	} else {
		_ = w.str(name)
		w.op(opTuple2)
	}
	w.op(opReduce)
}

// location writes a standalone *time.Location as a datetime.timezone; only zones with a fixed
// offset have one.
func (w *writer) location(loc *time.Location) error {
	if loc == Naive {
		w.op(opNone)
		return nil
	}
	ref := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	name, off := ref.In(loc).Zone()
	for _, m := range []time.Month{4, 7, 10} {
		if n, o := time.Date(2001, m, 1, 0, 0, 0, 0, time.UTC).In(loc).Zone(); n != name || o != off {
			return fmt.Errorf("%w: location %q has no fixed offset (send a time.Time, which carries its instant's offset)", ErrUnsupported, loc)
		}
	}
	w.timezone(off, name, loc == time.UTC)
	return nil
}

// timedelta writes datetime.timedelta(days, seconds, microseconds), normalised as Python keeps
// it; nanoseconds are truncated toward zero.
func (w *writer) timedelta(d time.Duration) {
	us := int64(d / time.Microsecond)
	const day = 86400 * 1_000_000
	days := us / day
	rem := us % day
	if rem < 0 {
		rem += day
		days--
	}
	w.global("datetime", "timedelta")
	w.int(days)
	w.int(rem / 1_000_000)
	w.int(rem % 1_000_000)
	w.op(opTuple3)
	w.op(opReduce)
}
