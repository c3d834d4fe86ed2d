package brine

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"slices"
	"strconv"
	"sync"
	"unsafe"
)

// MaxDepth is the default limit on tuple nesting, for both encoding and decoding. Python's own
// brine recurses twice per level and hits the interpreter's recursion limit (1000) at about 495
// levels, so no value a Python peer can produce or read is refused by this limit.
const MaxDepth = 500

// MaxIntDigits is the default limit on the decimal digits of an integer. It equals CPython's
// default sys.int_max_str_digits: a Python peer refuses longer integers itself.
const MaxIntDigits = 4300

// Dump returns the brine encoding of v in a new slice (its capacity capped at its length). A
// small value is encoded straight into a new 256-byte buffer; a large one (a tuple of many items,
// a long str or bytes at the top) into a pooled buffer first, so that it does not pay for
// repeated growth, and is then copied out.
func Dump(v any) ([]byte, error) {
	if !largeValue(v) {
		out, err := appendValue(make([]byte, 0, dumpSmall), v, 0)
		if err != nil {
			return nil, err
		}
		return out[:len(out):len(out)], nil
	}
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

// dumpSmall is the buffer Dump starts a small value in: a typical request or reply fits.
const dumpSmall = 256

// largeValue reports whether v is, at its top level, likely too large for dumpSmall bytes. (A
// small tuple holding a large value grows the buffer once, by the large value's size.)
func largeValue(v any) bool {
	switch x := v.(type) {
	case Tuple:
		return len(x) > dumpSmall/8
	case FrozenSet:
		return len(x) > dumpSmall/8
	case string:
		return len(x) > dumpSmall
	case []byte:
		return len(x) > dumpSmall
	}
	return false
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

// appendValue appends v.
func appendValue(dst []byte, v any, depth int) ([]byte, error) {
	dst, _, err := appendItems(dst, unsafe.Slice(&v, 1), depth)
	return dst, err
}

// appendItems appends each of items, at nesting depth depth, and on error reports which item
// failed. It is the encoder's one loop: the commonest types are told apart by their type word,
// which is quicker than a type switch's search over all of them, and handled inline; only a
// nested tuple recurses.
func appendItems(dst []byte, items []any, depth int) (_ []byte, failed int, err error) {
	for i := range items {
		e := (*eface)(unsafe.Pointer(&items[i]))
		switch e.typ {
		case typeInt64:
			if x := *(*int64)(e.data); uint64(x-ImmMin) <= ImmMax-ImmMin {
				dst = append(dst, byte(x+ImmBias))
			} else {
				dst = appendIntText(dst, x)
			}
		case typeTuple:
			dst, err = appendTuple(dst, *(*Tuple)(e.data), depth)
		case typeString:
			dst, err = appendString(dst, *(*string)(e.data))
		case nil:
			dst = append(dst, byte(TagNone))
		case typeBool:
			dst = append(dst, byte(TagFalse)-*(*byte)(e.data))
		case typeFloat64:
			dst = appendFloat(dst, *(*float64)(e.data))
		case typeBytes:
			dst, err = appendBytes(dst, *(*[]byte)(e.data))
		default:
			dst, err = appendOther(dst, items[i], depth)
		}
		if err != nil {
			return dst, i, err
		}
	}
	return dst, 0, nil
}

// appendOther appends the values of the less common types.
func appendOther(dst []byte, v any, depth int) ([]byte, error) {
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
		return appendString(dst, x)
	case []byte:
		return appendBytes(dst, x)
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

func appendString(dst []byte, s string) ([]byte, error) {
	if !validUTF8String(s) {
		return dst, &EncodeError{Type: "string", Err: ErrInvalidUTF8}
	}
	if uint64(len(s)) > math.MaxUint32 {
		return dst, &EncodeError{Type: "string", Err: ErrTooLong}
	}
	return append(appendBytesHeader(append(dst, byte(TagStr)), len(s)), s...), nil
}

func appendBytes(dst []byte, b []byte) ([]byte, error) {
	if uint64(len(b)) > math.MaxUint32 {
		return dst, &EncodeError{Type: "[]byte", Err: ErrTooLong}
	}
	return append(appendBytesHeader(dst, len(b)), b...), nil
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
	if uint64(v-ImmMin) <= ImmMax-ImmMin {
		return append(dst, byte(v+ImmBias))
	}
	return appendIntText(dst, v)
}

func appendIntText(dst []byte, v int64) []byte {
	if v < 0 {
		return appendDecimal(dst, uint64(-v), true) // -MinInt64 wraps to its magnitude
	}
	return appendDecimal(dst, uint64(v), false)
}

func appendUint(dst []byte, v uint64) []byte {
	if v <= math.MaxInt64 {
		return appendInt(dst, int64(v))
	}
	return appendDecimal(dst, v, false)
}

// pow10 holds 10^i; decimalLen uses it to count digits.
var pow10 = func() (t [20]uint64) {
	t[0] = 1
	for i := 1; i < len(t); i++ {
		t[i] = t[i-1] * 10
	}
	return t
}()

// decimalLen returns the number of decimal digits of u (1 for 0).
func decimalLen(u uint64) int {
	n := (bits.Len64(u) * 1233) >> 12 // about log10(2) * bits: n or n-1 digits less one
	if n < len(pow10) && u >= pow10[n] {
		n++
	}
	return max(n, 1)
}

const digitPairs = "00010203040506070809101112131415161718192021222324252627282930313233343536373839" +
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879" +
	"8081828384858687888990919293949596979899"

// appendDecimal appends an INT_L1 value: the magnitude u as decimal text, with a '-' if neg.
func appendDecimal(dst []byte, u uint64, neg bool) []byte {
	d := decimalLen(u)
	if neg {
		return appendDigits(append(dst, byte(TagIntL1), byte(d+1), '-'), u, d)
	}
	return appendDigits(append(dst, byte(TagIntL1), byte(d)), u, d)
}

// maxIntWords is the most 64-bit words an integer of MaxIntDigits digits takes.
const maxIntWords = MaxIntDigits*3322/1000/64 + 1

func appendBig(dst []byte, x *big.Int) ([]byte, error) {
	if x.IsInt64() {
		return appendInt(dst, x.Int64()), nil
	}
	words := x.Bits()
	if len(words) > maxIntWords {
		return dst, &EncodeError{Type: "*big.Int", Err: ErrIntTooLarge}
	}
	// Base 10^19 limbs, least significant first: divide a copy of the words by 10^19 until
	// nothing is left, one 128-by-64-bit division per word and pass.
	var q [maxIntWords]uint64
	var limbs [maxIntWords*64*30103/100000/19 + 2]uint64
	nq := len(words)
	for i, w := range words {
		q[i] = uint64(w)
	}
	nl := 0
	for nq > 0 {
		var r uint64
		for i := nq - 1; i >= 0; i-- {
			q[i], r = bits.Div64(r, q[i], 1e19)
		}
		limbs[nl] = r
		nl++
		for nq > 0 && q[nq-1] == 0 {
			nq--
		}
	}
	top := limbs[nl-1]
	digits := decimalLen(top) + 19*(nl-1)
	if digits > MaxIntDigits {
		return dst, &EncodeError{Type: "*big.Int", Err: ErrIntTooLarge}
	}
	n := digits
	if x.Sign() < 0 {
		n++
	}
	if n < 256 {
		dst = append(dst, byte(TagIntL1), byte(n))
	} else {
		dst = binary.BigEndian.AppendUint32(append(dst, byte(TagIntL4)), uint32(n))
	}
	if x.Sign() < 0 {
		dst = append(dst, '-')
	}
	dst = appendDigits(dst, top, decimalLen(top))
	for i := nl - 2; i >= 0; i-- {
		// Three independent parts (3, 8 and 8 digits) format faster than one long chain.
		u := limbs[i]
		hi, mid, lo := u/1e16, u/1e8%1e8, u%1e8
		dst = appendDigits(appendDigits(appendDigits(dst, hi, 3), mid, 8), lo, 8)
	}
	return dst, nil
}

// appendDigits appends the last n (at most 20) decimal digits of u, with leading zeros. It
// writes in place, eight digits at a time in independent groups of four, then two at a time.
func appendDigits(dst []byte, u uint64, n int) []byte {
	start := len(dst)
	dst = slices.Grow(dst, n)[:start+n]
	b := dst[start:]
	for ; n > 8; n -= 8 {
		lo := u % 1e8
		u /= 1e8
		hi4, lo4 := lo/1e4, lo%1e4
		put4(b[n-8:n-4], hi4)
		put4(b[n-4:n], lo4)
	}
	for ; n >= 2; n -= 2 {
		r := (u % 100) * 2
		u /= 100
		b[n-2], b[n-1] = digitPairs[r], digitPairs[r+1]
	}
	if n == 1 {
		b[0] = byte('0' + u%10)
	}
	return dst
}

// put4 writes the four decimal digits of v < 10000 into b.
func put4(b []byte, v uint64) {
	hi, lo := v/100*2, v%100*2
	_ = b[3]
	b[0], b[1], b[2], b[3] = digitPairs[hi], digitPairs[hi+1], digitPairs[lo], digitPairs[lo+1]
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
	dst, i, err := appendItems(dst, t, depth+1)
	if err != nil {
		return dst, wrapPath(err, "["+strconv.Itoa(i)+"]")
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
