package brine

import "math/big"

// Tuple is a Python tuple: an ordered, fixed sequence of brine values. It is the only container
// that brine carries by value. A nil Tuple encodes as the empty tuple; decoding always produces a
// non-nil Tuple.
type Tuple []any

// Slice is a Python slice object, slice(Start, Stop, Step). Each field is any dumpable value,
// usually nil or an integer.
type Slice struct {
	Start, Stop, Step any
}

// FrozenSet is a Python frozenset. Its members are kept in wire order (Python sends them in its
// hash-iteration order, which is not meaningful); use [Equal] to compare two sets regardless of
// order. Decoding keeps duplicate members as sent; Python would collapse them.
type FrozenSet []any

// Singleton is the Go type of Python's two built-in singletons other than None.
type Singleton uint8

const (
	// NotImplemented is Python's NotImplemented, returned by comparisons that do not apply.
	NotImplemented Singleton = 1
	// Ellipsis is Python's Ellipsis ("...").
	Ellipsis Singleton = 2
)

// String returns the Python spelling of the singleton.
func (s Singleton) String() string {
	switch s {
	case NotImplemented:
		return "NotImplemented"
	case Ellipsis:
		return "Ellipsis"
	}
	return "Singleton(invalid)"
}

// TypeName returns the Python type name of a value of the model ("NoneType", "int", "str",
// "bytes", "tuple", ...), and "" for a Go value outside it. Messages use it to say what a peer
// sent in Python's terms.
func TypeName(v any) string {
	switch x := v.(type) {
	case nil:
		return "NoneType"
	case bool:
		return "bool"
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, uintptr, *big.Int:
		return "int"
	case float64, float32:
		return "float"
	case complex128, complex64:
		return "complex"
	case string:
		return "str"
	case []byte:
		return "bytes"
	case Tuple:
		return "tuple"
	case FrozenSet:
		return "frozenset"
	case Slice:
		return "slice"
	case Singleton:
		if x == Ellipsis {
			return "ellipsis"
		}
		return "NotImplementedType"
	}
	return ""
}
