package brine

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"sync"
)

// MaxDepth is the default limit on tuple nesting, for both encoding and decoding. Python's own
// brine recurses twice per level and hits the interpreter's recursion limit (1000) at about 495
// levels, so no value a Python peer can produce or read is refused by this limit.
const MaxDepth = 500

// MaxIntDigits is the default limit on the decimal digits of an integer. It equals CPython's
// default sys.int_max_str_digits: a Python peer refuses longer integers itself.
const MaxIntDigits = 4300

// Dump returns the brine encoding of v in a new slice of exactly its length. It encodes into a
// pooled buffer first, so that large values do not pay for repeated growth.
func Dump(v any) ([]byte, error) {
	bp := dumpPool.Get().(*[]byte)
	out, err := Append((*bp)[:0], v)
	if err != nil {
		dumpPool.Put(bp)
		return nil, err
	}
	res := make([]byte, len(out))
	copy(res, out)
	if cap(out) <= maxPooled {
		*bp = out
	}
	dumpPool.Put(bp)
	return res, nil
}

// maxPooled is the largest buffer Dump keeps for reuse.
const maxPooled = 4 << 20

var dumpPool = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

// Append appends the brine encoding of v to dst and returns the extended buffer. On error dst is
// returned unchanged in length (its spare capacity may have been written). Appending a value made
// only of nil, bools, ints, floats, complex numbers, singletons and tuples of them to a buffer with
// enough capacity does not allocate.
//
// Accepted Go types: nil, bool, int, int8..int64, uint, uint8..uint64, uintptr, *big.Int,
// float32, float64, complex64, complex128, string (must be valid UTF-8), []byte, [Tuple], [Slice],
// [FrozenSet] and [Singleton]. Any other type, including named types defined on these and Go
// slices, arrays and maps, is not dumpable: like Python, which sends lists and dicts by
// reference, the protocol layer boxes such values as references.
func Append(dst []byte, v any) ([]byte, error) {
	out, err := appendValue(dst, v, 0)
	if err != nil {
		return dst, err
	}
	return out, nil
}

func appendValue(dst []byte, v any, depth int) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(dst, byte(TagNone)), nil
	case bool:
		if x {
			return append(dst, byte(TagTrue)), nil
		}
		return append(dst, byte(TagFalse)), nil
	case int:
		return appendInt(dst, int64(x)), nil
	case int64:
		return appendInt(dst, x), nil
	case int32:
		return appendInt(dst, int64(x)), nil
	case int16:
		return appendInt(dst, int64(x)), nil
	case int8:
		return appendInt(dst, int64(x)), nil
	case uint:
		return appendUint(dst, uint64(x)), nil
	case uint64:
		return appendUint(dst, x), nil
	case uint32:
		return appendInt(dst, int64(x)), nil
	case uint16:
		return appendInt(dst, int64(x)), nil
	case uint8:
		return appendInt(dst, int64(x)), nil
	case uintptr:
		return appendUint(dst, uint64(x)), nil
	case *big.Int:
		if x == nil {
			return dst, &EncodeError{Type: "*big.Int(nil)", Err: ErrNotDumpable}
		}
		return appendBig(dst, x)
	case float64:
		return appendFloat(dst, x), nil
	case float32:
		return appendFloat(dst, float64(x)), nil
	case complex128:
		return appendComplex(dst, x), nil
	case complex64:
		return appendComplex(dst, complex128(x)), nil
	case string:
		if !validUTF8String(x) {
			return dst, &EncodeError{Type: "string", Err: ErrInvalidUTF8}
		}
		if uint64(len(x)) > math.MaxUint32 {
			return dst, &EncodeError{Type: "string", Err: ErrTooLong}
		}
		return append(appendBytesHeader(append(dst, byte(TagStr)), len(x)), x...), nil
	case []byte:
		if uint64(len(x)) > math.MaxUint32 {
			return dst, &EncodeError{Type: "[]byte", Err: ErrTooLong}
		}
		return append(appendBytesHeader(dst, len(x)), x...), nil
	case Tuple:
		return appendTuple(dst, x, depth)
	case Slice:
		if depth >= MaxDepth {
			return dst, &EncodeError{Type: "brine.Slice", Err: ErrTooDeep}
		}
		dst = append(dst, byte(TagSlice), byte(TagTup3))
		var err error
		for i, f := range [3]any{x.Start, x.Stop, x.Step} {
			if dst, err = appendValue(dst, f, depth+1); err != nil {
				return dst, wrapPath(err, [3]string{".Start", ".Stop", ".Step"}[i])
			}
		}
		return dst, nil
	case FrozenSet:
		return appendTuple(append(dst, byte(TagFrozenSet)), Tuple(x), depth)
	case Singleton:
		switch x {
		case NotImplemented:
			return append(dst, byte(TagNotImplemented)), nil
		case Ellipsis:
			return append(dst, byte(TagEllipsis)), nil
		}
	}
	return dst, &EncodeError{Type: fmt.Sprintf("%T", v), Err: ErrNotDumpable}
}

// appendBytesHeader appends the bytes tag and length for n bytes. For strings the caller appends
// the text itself, which keeps string encoding free of allocations.
func appendBytesHeader(dst []byte, n int) []byte {
	switch {
	case n == 0:
		return append(dst, byte(TagEmptyBytes))
	case n <= 4:
		return append(dst, byte(TagBytes1)+byte(n-1))
	case n <= 0xff:
		return append(dst, byte(TagBytesL1), byte(n))
	default:
		return binary.BigEndian.AppendUint32(append(dst, byte(TagBytesL4)), uint32(n))
	}
}

// AppendTupleHeader appends the start of a tuple of n items: what [Append] writes before the
// items themselves, which the caller then appends (with Append, or further headers), so that a
// tuple can be encoded without building a Tuple. n == 0 appends the whole empty tuple.
func AppendTupleHeader(dst []byte, n int) ([]byte, error) {
	switch {
	case n == 0:
		return append(dst, byte(TagEmptyTuple)), nil
	case n <= 4:
		return append(dst, byte(TagTup1)+byte(n-1)), nil
	case n <= 0xff:
		return append(dst, byte(TagTupL1), byte(n)), nil
	case uint64(n) <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(dst, byte(TagTupL4)), uint32(n)), nil
	}
	return dst, &EncodeError{Type: "brine.Tuple", Err: ErrTooLong}
}

// AppendInt appends the encoding of the int v, as [Append] does for any Go integer, without
// boxing it into an interface.
func AppendInt(dst []byte, v int64) []byte { return appendInt(dst, v) }

func appendInt(dst []byte, v int64) []byte {
	if v >= ImmMin && v <= ImmMax {
		return append(dst, byte(v+ImmBias))
	}
	dst = append(dst, byte(TagIntL1), 0)
	start := len(dst)
	dst = strconv.AppendInt(dst, v, 10)
	dst[start-1] = byte(len(dst) - start)
	return dst
}

func appendUint(dst []byte, v uint64) []byte {
	if v <= math.MaxInt64 {
		return appendInt(dst, int64(v))
	}
	dst = append(dst, byte(TagIntL1), 0)
	start := len(dst)
	dst = strconv.AppendUint(dst, v, 10)
	dst[start-1] = byte(len(dst) - start)
	return dst
}

func appendBig(dst []byte, x *big.Int) ([]byte, error) {
	if x.IsInt64() {
		return appendInt(dst, x.Int64()), nil
	}
	// Reserve the longer header, then move the text if the short one suffices.
	dst = append(dst, byte(TagIntL4), 0, 0, 0, 0)
	start := len(dst)
	dst = x.Append(dst, 10)
	n := len(dst) - start
	digits := n
	if x.Sign() < 0 {
		digits--
	}
	if digits > MaxIntDigits {
		return dst[:start-5], &EncodeError{Type: "*big.Int", Err: ErrIntTooLarge}
	}
	if n < 256 {
		hdr := start - 5
		dst[hdr] = byte(TagIntL1)
		dst[hdr+1] = byte(n)
		copy(dst[hdr+2:], dst[start:])
		return dst[:len(dst)-3], nil
	}
	binary.BigEndian.PutUint32(dst[start-4:], uint32(n))
	return dst, nil
}

func appendFloat(dst []byte, f float64) []byte {
	return binary.BigEndian.AppendUint64(append(dst, byte(TagFloat)), math.Float64bits(f))
}

func appendComplex(dst []byte, c complex128) []byte {
	dst = binary.BigEndian.AppendUint64(append(dst, byte(TagComplex)), math.Float64bits(real(c)))
	return binary.BigEndian.AppendUint64(dst, math.Float64bits(imag(c)))
}

func appendTuple(dst []byte, t Tuple, depth int) ([]byte, error) {
	if depth >= MaxDepth {
		return dst, &EncodeError{Type: "brine.Tuple", Err: ErrTooDeep}
	}
	if len(t) == 0 {
		return append(dst, byte(TagEmptyTuple)), nil
	}
	dst, err := AppendTupleHeader(dst, len(t))
	if err != nil {
		return dst, err
	}
	for i, item := range t {
		if dst, err = appendValue(dst, item, depth+1); err != nil {
			return dst, wrapPath(err, "["+strconv.Itoa(i)+"]")
		}
	}
	return dst, nil
}

func wrapPath(err error, step string) error {
	if e, ok := err.(*EncodeError); ok {
		e.Path = step + e.Path
	}
	return err
}

// Dumpable reports whether v can be sent by value, with Python's rule: only the exact types listed
// at [Append], with tuples, frozensets and slices dumpable only when every member is. A Go
// slice, map, struct or named type is not dumpable (Python sends lists, dicts, sets and subclasses
// of the dumpable types by reference too). Strings must also be valid UTF-8, and nesting within
// [MaxDepth].
func Dumpable(v any) bool {
	return dumpable(v, 0)
}

func dumpable(v any, depth int) bool {
	switch x := v.(type) {
	case nil, bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, uintptr,
		float32, float64, complex64, complex128, []byte:
		return true
	case string:
		return validUTF8String(x)
	case *big.Int:
		if x == nil {
			return false
		}
		return bigDigits(x) <= MaxIntDigits
	case Singleton:
		return x == NotImplemented || x == Ellipsis
	case Tuple:
		return dumpableSeq(x, depth)
	case FrozenSet:
		return dumpableSeq(x, depth)
	case Slice:
		return depth < MaxDepth && dumpable(x.Start, depth+1) && dumpable(x.Stop, depth+1) &&
			dumpable(x.Step, depth+1)
	}
	return false
}

func dumpableSeq(t []any, depth int) bool {
	if depth >= MaxDepth {
		return false
	}
	for _, item := range t {
		if !dumpable(item, depth+1) {
			return false
		}
	}
	return true
}

// bigDigits returns the number of decimal digits of |x|, formatting only near the limit.
func bigDigits(x *big.Int) int {
	if bound := int(float64(x.BitLen())*0.30103) + 1; bound < MaxIntDigits {
		return bound // an upper bound is enough below the limit
	}
	n := len(x.Text(10))
	if x.Sign() < 0 {
		n--
	}
	return n
}
