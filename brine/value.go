package brine

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
