package pickle

import (
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/gorpyc/rpyc/brine"
)

// Dict is a Python dict: its items in insertion order. It is a slice rather than a Go map because
// Python keys need not be comparable in Go (a tuple key is a brine.Tuple, a slice).
type Dict []Item

// Item is one key/value pair of a [Dict].
type Item struct {
	Key, Value any
}

// Get returns the value for key, comparing keys with [Equal].
func (d Dict) Get(key any) (any, bool) {
	for _, it := range d {
		if Equal(it.Key, key) {
			return it.Value, true
		}
	}
	return nil, false
}

// Keys returns the keys in order.
func (d Dict) Keys() []any {
	keys := make([]any, len(d))
	for i, it := range d {
		keys[i] = it.Key
	}
	return keys
}

// StringMap returns the dict as a Go map when every key is a str; ok is false otherwise.
func (d Dict) StringMap() (m map[string]any, ok bool) {
	m = make(map[string]any, len(d))
	for _, it := range d {
		k, isStr := it.Key.(string)
		if !isStr {
			return nil, false
		}
		m[k] = it.Value
	}
	return m, true
}

// PyItems returns the items as key/value pairs, in order; gorpyc's conversions (ObtainAs) read
// a dict through it.
func (d Dict) PyItems() [][2]any {
	out := make([][2]any, len(d))
	for i, it := range d {
		out[i] = [2]any{it.Key, it.Value}
	}
	return out
}

// PyTypeName returns "dict".
func (Dict) PyTypeName() string { return "dict" }

// Set is a Python set. [Loads] returns its members sorted (see the package documentation).
type Set []any

// PySequence returns the members; gorpyc's conversions (ObtainAs) read a set through it.
func (s Set) PySequence() []any { return s }

// PyTypeName returns "set".
func (Set) PyTypeName() string { return "set" }

// ByteArray is a Python bytearray (a mutable bytes; []byte stands for bytes).
type ByteArray []byte

// PyTypeName returns "bytearray".
func (ByteArray) PyTypeName() string { return "bytearray" }

// Decimal is a Python decimal.Decimal, kept as its exact text ("1.50", "-Infinity", "NaN",
// "1E+3"); Python's own str() of the value.
type Decimal string

// PyTypeName returns "Decimal".
func (Decimal) PyTypeName() string { return "Decimal" }

// String returns the decimal's text.
func (d Decimal) String() string { return string(d) }

// Rat returns the decimal's value as an exact rational; ok is false for NaN and infinities.
func (d Decimal) Rat() (r *big.Rat, ok bool) {
	s := strings.ReplaceAll(string(d), "_", "")
	return new(big.Rat).SetString(s)
}

// Date is a Python datetime.date.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// PyTypeName returns "date".
func (Date) PyTypeName() string { return "date" }

// String returns the date as YYYY-MM-DD, like Python's str().
func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day) }

// TimeOfDay is a Python datetime.time. Zone is nil for a naive time.
type TimeOfDay struct {
	Hour, Minute, Second, Microsecond int
	Zone                              *time.Location
}

// PyTypeName returns "time".
func (TimeOfDay) PyTypeName() string { return "time" }

// String returns the time as HH:MM:SS[.ffffff], like Python's str() of a naive time.
func (t TimeOfDay) String() string {
	s := fmt.Sprintf("%02d:%02d:%02d", t.Hour, t.Minute, t.Second)
	if t.Microsecond != 0 {
		s += fmt.Sprintf(".%06d", t.Microsecond)
	}
	return s
}

// Naive is the location of a time.Time that stands for a naive Python datetime (one without
// tzinfo). Its offset is zero; the wall-clock fields are Python's.
var Naive = time.FixedZone("naive", 0)

// Equal reports whether two values of the model are equal: brine.Equal for scalars, tuples,
// frozensets and slices, element-wise for lists, dicts (in order) and sets (as multisets),
// value equality for the other types.
func Equal(a, b any) bool {
	return equal(a, b, 0)
}

func equal(a, b any, depth int) bool {
	if depth > maxDepth {
		return false
	}
	switch x := a.(type) {
	case []any:
		y, ok := b.([]any)
		return ok && equalSeq(x, y, depth)
	case brine.Tuple:
		y, ok := b.(brine.Tuple)
		return ok && equalSeq(x, y, depth)
	case Dict:
		y, ok := b.(Dict)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equal(x[i].Key, y[i].Key, depth+1) || !equal(x[i].Value, y[i].Value, depth+1) {
				return false
			}
		}
		return true
	case Set:
		y, ok := b.(Set)
		return ok && equalBag(x, y, depth)
	case brine.FrozenSet:
		y, ok := b.(brine.FrozenSet)
		return ok && equalBag(x, y, depth)
	case ByteArray:
		y, ok := b.(ByteArray)
		return ok && string(x) == string(y)
	case time.Time:
		y, ok := b.(time.Time)
		return ok && x.Equal(y) && (x.Location() == Naive) == (y.Location() == Naive)
	case TimeOfDay:
		y, ok := b.(TimeOfDay)
		return ok && x.Hour == y.Hour && x.Minute == y.Minute && x.Second == y.Second &&
			x.Microsecond == y.Microsecond && sameZone(x.Zone, y.Zone)
	case *time.Location:
		y, ok := b.(*time.Location)
		return ok && sameZone(x, y)
	case Date, Decimal, time.Duration:
		return a == b
	}
	return brine.Equal(a, b)
}

func sameZone(a, b *time.Location) bool {
	if a == nil || b == nil {
		return a == b
	}
	if a.String() != b.String() {
		return false
	}
	ref := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	_, oa := ref.In(a).Zone()
	_, ob := ref.In(b).Zone()
	return oa == ob
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

func equalBag(x, y []any, depth int) bool {
	if len(x) != len(y) {
		return false
	}
	used := make([]bool, len(y))
outer:
	for _, a := range x {
		for j, b := range y {
			if !used[j] && equal(a, b, depth+1) {
				used[j] = true
				continue outer
			}
		}
		return false
	}
	return true
}
