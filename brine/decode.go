package brine

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"unicode/utf8"
	"unsafe"
)

// DefaultMaxDecodedSize is the default decoded-size budget of a [Decoder] (Decoder.MaxDecodedSize
// 0): 64 MiB of Go memory per decoded message.
//
// Why 64 MiB: it is the default wire size limit of the channel layer (channel.DefaultMaxFrameSize),
// so a str or bytes value nearly as large as the biggest incompressible frame a default reader
// accepts still decodes, while the values a hostile frame can amplify into are bounded by the
// same figure. A tuple item costs 16 bytes of Go memory for one byte of input and zlib expands
// about 1000-fold, so without a budget a 200 KB compressed frame carrying a tuple of 200 million
// one-byte ints decodes to over 3 GiB; with it the decoder refuses such a tuple from its header
// alone, and four connections decoding hostile messages at once build at most 256 MiB of values
// (a small machine survives that; a wider, shared budget is the caller's, see
// [Decoder.LoadSized]). Python's rpyc has no such limit: it decodes whatever fits in memory.
const DefaultMaxDecodedSize = 64 << 20

// Decoder decodes brine with configurable limits. The zero value uses [MaxDepth], [MaxIntDigits]
// and [DefaultMaxDecodedSize]. A Decoder holds no state between calls and is safe for concurrent
// use.
type Decoder struct {
	// MaxDepth limits tuple, slice and frozenset nesting; 0 means [MaxDepth].
	MaxDepth int
	// MaxIntDigits limits the decimal digits of an integer; 0 means [MaxIntDigits].
	MaxIntDigits int
	// MaxDecodedSize is the decoded-size budget: the most Go memory, in bytes, one decode may
	// build. 0 means [DefaultMaxDecodedSize] (64 MiB); a negative value means no limit. (0 is not
	// "nothing": a caller handing out what is left of a larger budget should stop at 1.)
	//
	// Memory is counted as the value is built, before each allocation, in the sizes the decoded Go
	// values occupy on a 64-bit platform (see [Decoder.LoadSized]), so a value over the budget is
	// refused with [ErrTooLarge] before its large part is allocated: a tuple from its count, a str
	// or bytes from its length, whatever the input still holds. A failed decode has built at most
	// the budget (and that memory is garbage).
	MaxDecodedSize int64
	// BorrowBytes lets bytes values of at least 4 KiB ([BorrowMin]) alias data instead of being
	// copied; the caller promises not to modify or reuse data while the decoded value is alive.
	// Such a value's capacity is capped at its length, so appending to it never writes into data.
	// str values and shorter bytes values are copied as usual, and the decoded-size accounting is
	// unchanged (a borrowed value still keeps its bytes alive). Meant for bulk transfers, where
	// the input is a frame buffer the caller owns and hands over.
	BorrowBytes bool
}

// BorrowMin is the smallest bytes value that [Decoder.BorrowBytes] lets alias the input.
const BorrowMin = 4096

// Load decodes exactly one brine value from data, with the default limits. Unlike Python, which
// ignores them, trailing bytes are an error ([ErrTrailingData]); so is a bytes value shorter than
// its declared length, which Python would silently return short.
//
// The result never aliases data: strings and byte slices are copied (a [Decoder] with
// BorrowBytes set may borrow large bytes values instead).
func Load(data []byte) (any, error) {
	return Decoder{}.Load(data)
}

// Decode decodes one brine value from the start of data and reports how many bytes it used. Bytes
// after the value are left alone.
func Decode(data []byte) (v any, n int, err error) {
	return Decoder{}.Decode(data)
}

// Load is like the package-level [Load], with d's limits.
func (d Decoder) Load(data []byte) (any, error) {
	v, _, err := d.LoadSized(data)
	return v, err
}

// LoadSized is like [Decoder.Load] and also reports size, the Go memory the decoded value
// occupies as counted against MaxDecodedSize (0 on error). Callers use it to charge the value to a
// wider budget, for example one per connection.
//
// The accounting, in bytes, with the sizes of a 64-bit platform (the Go values behind an any):
//
//	tuple, n items                24 + 16n (slice header, one interface slot per item)
//	frozenset                     24, plus its tuple
//	str, n bytes of UTF-8         16 + n
//	bytes, n bytes                24 + n
//	int beyond the immediates     8, or 32 + 8*(words+4) for a *big.Int (words: 64-bit words
//	                              its decimal digits can need)
//	float                         8
//	complex                       16
//	slice                         48, plus its 3-tuple (72)
//	None, bool, immediate ints,   0 (shared, never allocated)
//	(), NotImplemented, Ellipsis
//
// Nested values add up. What the allocator hands out stays within about 15% of the count (size
// classes, and the shared chunks small tuples and strings are carved from); scratch space that is
// garbage once parsing is done, such as a big integer's intermediate results, is not counted.
func (d Decoder) LoadSized(data []byte) (v any, size int64, err error) {
	st := d.state(data)
	v, err = st.value(0)
	if err != nil {
		return nil, 0, err
	}
	if st.pos != len(data) {
		return nil, 0, &SyntaxError{Offset: st.pos, Tag: Tag(data[st.pos]), Err: ErrTrailingData,
			Detail: itoa(len(data)-st.pos) + " bytes left"}
	}
	return v, st.used, nil
}

// Decode is like the package-level [Decode], with d's limits.
func (d Decoder) Decode(data []byte) (v any, n int, err error) {
	st := d.state(data)
	v, err = st.value(0)
	if err != nil {
		return nil, 0, err
	}
	return v, st.pos, nil
}

func (d Decoder) state(data []byte) decodeState {
	st := decodeState{data: data, maxDepth: d.MaxDepth, maxDigits: d.MaxIntDigits, budget: d.MaxDecodedSize,
		borrow: d.BorrowBytes}
	if st.maxDepth <= 0 {
		st.maxDepth = MaxDepth
	}
	if st.maxDigits <= 0 {
		st.maxDigits = MaxIntDigits
	}
	switch {
	case st.budget == 0:
		st.budget = DefaultMaxDecodedSize
	case st.budget < 0:
		st.budget = math.MaxInt64
	}
	return st
}

// Decoded sizes of Go values on a 64-bit platform (see Decoder.LoadSized).
const (
	sizeSlot      = 16 // an interface value: a tuple item
	sizeSliceHdr  = 24 // a boxed slice header: Tuple, FrozenSet, []byte
	sizeStringHdr = 16 // a boxed string header
	sizeWord      = 8  // a boxed int64 or float64, a big.Int word
	sizeComplex   = 16
	sizeSlice     = 48 // a boxed Slice: three interfaces
	sizeBigInt    = 32 // big.Int itself: sign and nat header
	bigIntSpare   = 4  // words big.nat allocates beyond the need
)

type decodeState struct {
	data      []byte
	pos       int
	maxDepth  int
	maxDigits int
	used      int64 // decoded size so far
	budget    int64 // limit on used
	borrow    bool  // Decoder.BorrowBytes

	// Slabs: small tuples, strings and byte slices of one decode are carved from shared chunks,
	// which turns thousands of small allocations into a few. Values carved from a slab have their
	// capacity capped, so appending to one never writes into another. A slab chunk is written once
	// and never modified, which is what makes the strings built over strSlab immutable.
	tupSlab   []any
	strSlab   []byte
	bytesSlab []byte
}

const (
	tupSlabItems = 256  // items per tuple chunk
	smallValue   = 64   // strings and bytes up to this length go to a slab
	byteSlabSize = 4096 // bytes per string or bytes chunk
)

func (st *decodeState) newTuple(n int) Tuple {
	if n > tupSlabItems/4 {
		return make(Tuple, n)
	}
	if len(st.tupSlab) < n {
		// Size the chunk by what the rest of the input could still hold (an item takes at least a
		// byte, a typical one about four), so small messages do not pay for a big chunk.
		size := min(max((len(st.data)-st.pos)/4, n, 8), tupSlabItems)
		st.tupSlab = make([]any, size)
	}
	t := st.tupSlab[:n:n]
	st.tupSlab = st.tupSlab[n:]
	return t
}

// carve copies b into a chunk of *slab and returns the copy with its capacity capped.
func carve(slab *[]byte, b []byte, remaining int) []byte {
	if cap(*slab)-len(*slab) < len(b) {
		*slab = make([]byte, 0, min(max(remaining+len(b), smallValue), byteSlabSize))
	}
	start := len(*slab)
	*slab = append(*slab, b...)
	return (*slab)[start:len(*slab):len(*slab)]
}

func (st *decodeState) newString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > smallValue {
		return string(b)
	}
	c := carve(&st.strSlab, b, len(st.data)-st.pos)
	return unsafe.String(&c[0], len(c))
}

func (st *decodeState) newBytes(b []byte) []byte {
	if len(b) > smallValue || len(b) == 0 {
		return append([]byte{}, b...)
	}
	return carve(&st.bytesSlab, b, len(st.data)-st.pos)
}

// immediates holds the boxed int64 for every immediate tag, so decoding them never allocates.
var immediates = func() (t [256]any) {
	for tag := int(TagImmFirst); tag <= int(TagImmLast); tag++ {
		t[tag] = int64(tag - ImmBias)
	}
	return t
}()

var emptyTuple = Tuple{}

func (st *decodeState) fail(at int, tag Tag, err error, detail string) error {
	return &SyntaxError{Offset: at, Tag: tag, Err: err, Detail: detail}
}

// charge counts n more bytes of decoded memory against the budget, before they are allocated.
func (st *decodeState) charge(n int64, at int, tag Tag) error {
	if n > st.budget-st.used {
		return st.tooLarge(n, at, tag)
	}
	st.used += n
	return nil
}

func (st *decodeState) tooLarge(n int64, at int, tag Tag) error {
	return st.fail(at, tag, ErrTooLarge, "value needs "+strconv.FormatInt(n, 10)+" more bytes, "+
		strconv.FormatInt(st.used, 10)+" of the "+strconv.FormatInt(st.budget, 10)+"-byte budget used")
}

// need returns the next n bytes, or a truncation error attributed to the value at `at`.
func (st *decodeState) need(n int, at int, tag Tag) ([]byte, error) {
	if n < 0 || n > len(st.data)-st.pos {
		return nil, st.fail(at, tag, ErrTruncated, "need "+itoa(n)+" bytes, have "+itoa(len(st.data)-st.pos))
	}
	b := st.data[st.pos : st.pos+n]
	st.pos += n
	return b, nil
}

func (st *decodeState) value(depth int) (any, error) {
	at := st.pos
	if at >= len(st.data) {
		if at == 0 {
			return nil, st.fail(at, TagNone, ErrTruncated, "empty input")
		}
		return nil, st.fail(at, TagNone, ErrTruncated, "value expected")
	}
	tag := Tag(st.data[at])
	st.pos++
	if tag >= TagImmFirst && tag <= TagImmLast {
		return immediates[tag], nil
	}
	switch tag {
	case TagNone:
		return nil, nil
	case TagTrue:
		return true, nil
	case TagFalse:
		return false, nil
	case TagNotImplemented:
		return NotImplemented, nil
	case TagEllipsis:
		return Ellipsis, nil
	case TagEmptyTuple:
		return emptyTuple, nil
	case TagEmptyBytes, TagBytes1, TagBytes2, TagBytes3, TagBytes4, TagBytesL1, TagBytesL4:
		b, err := st.bytesBody(tag, at, sizeSliceHdr)
		if err != nil {
			return nil, err
		}
		if st.borrow && len(b) >= BorrowMin {
			return b[:len(b):len(b)], nil
		}
		return st.newBytes(b), nil
	case TagStr:
		if st.pos >= len(st.data) {
			return nil, st.fail(at, tag, ErrTruncated, "str without its bytes")
		}
		inner := Tag(st.data[st.pos])
		if !isBytesTag(inner) {
			return nil, st.fail(at, tag, ErrMalformed, "str must hold a bytes value, found "+inner.String())
		}
		st.pos++
		b, err := st.bytesBody(inner, at, sizeStringHdr)
		if err != nil {
			return nil, err
		}
		if !utf8.Valid(b) {
			return nil, st.fail(at, tag, ErrInvalidUTF8, "")
		}
		return st.newString(b), nil
	case TagTup1, TagTup2, TagTup3, TagTup4:
		return st.tuple(int(tag-TagTup1)+1, depth, at, tag)
	case TagTupL1:
		b, err := st.need(1, at, tag)
		if err != nil {
			return nil, err
		}
		return st.tuple(int(b[0]), depth, at, tag)
	case TagTupL4:
		b, err := st.need(4, at, tag)
		if err != nil {
			return nil, err
		}
		return st.tuple(int(binary.BigEndian.Uint32(b)), depth, at, tag)
	case TagIntL1:
		b, err := st.need(1, at, tag)
		if err != nil {
			return nil, err
		}
		return st.intText(int(b[0]), at, tag)
	case TagIntL4:
		b, err := st.need(4, at, tag)
		if err != nil {
			return nil, err
		}
		return st.intText(int(binary.BigEndian.Uint32(b)), at, tag)
	case TagFloat:
		b, err := st.need(8, at, tag)
		if err != nil {
			return nil, err
		}
		if err := st.charge(sizeWord, at, tag); err != nil {
			return nil, err
		}
		return math.Float64frombits(binary.BigEndian.Uint64(b)), nil
	case TagComplex:
		b, err := st.need(16, at, tag)
		if err != nil {
			return nil, err
		}
		if err := st.charge(sizeComplex, at, tag); err != nil {
			return nil, err
		}
		return complex(math.Float64frombits(binary.BigEndian.Uint64(b)),
			math.Float64frombits(binary.BigEndian.Uint64(b[8:]))), nil
	case TagSlice:
		if depth >= st.maxDepth {
			return nil, st.fail(at, tag, ErrTooDeep, "limit "+itoa(st.maxDepth))
		}
		inner, err := st.value(depth + 1)
		if err != nil {
			return nil, err
		}
		t, ok := inner.(Tuple)
		if !ok || len(t) != 3 {
			return nil, st.fail(at, tag, ErrMalformed, "slice must hold a 3-tuple")
		}
		if err := st.charge(sizeSlice, at, tag); err != nil {
			return nil, err
		}
		return Slice{Start: t[0], Stop: t[1], Step: t[2]}, nil
	case TagFrozenSet:
		if st.pos >= len(st.data) {
			return nil, st.fail(at, tag, ErrTruncated, "frozenset without its members")
		}
		if inner := Tag(st.data[st.pos]); !isTupleTag(inner) {
			return nil, st.fail(at, tag, ErrMalformed, "frozenset must hold a tuple, found "+inner.String())
		}
		inner, err := st.value(depth)
		if err != nil {
			return nil, err
		}
		t := inner.(Tuple)
		if err := st.charge(sizeSliceHdr, at, tag); err != nil {
			return nil, err
		}
		if len(t) == 0 {
			return FrozenSet{}, nil
		}
		return FrozenSet(t), nil
	}
	return nil, st.fail(at, tag, ErrUnknownTag, "")
}

func isBytesTag(t Tag) bool {
	return t == TagEmptyBytes || (t >= TagBytes1 && t <= TagBytesL4)
}

func isTupleTag(t Tag) bool {
	return t == TagEmptyTuple || (t >= TagTup1 && t <= TagTupL4)
}

// bytesBody reads the length (if any) and body of a bytes value whose tag was already consumed,
// charging hdr plus the length to the budget first. The result aliases the input.
func (st *decodeState) bytesBody(tag Tag, at int, hdr int64) ([]byte, error) {
	var n int
	switch tag {
	case TagEmptyBytes:
		return nil, st.charge(hdr, at, tag)
	case TagBytesL1:
		b, err := st.need(1, at, tag)
		if err != nil {
			return nil, err
		}
		n = int(b[0])
	case TagBytesL4:
		b, err := st.need(4, at, tag)
		if err != nil {
			return nil, err
		}
		n = int(binary.BigEndian.Uint32(b))
	default:
		n = int(tag-TagBytes1) + 1
	}
	if err := st.charge(hdr+int64(n), at, tag); err != nil {
		return nil, err
	}
	return st.need(n, at, tag)
}

func (st *decodeState) tuple(n, depth, at int, tag Tag) (any, error) {
	if depth >= st.maxDepth {
		return nil, st.fail(at, tag, ErrTooDeep, "limit "+itoa(st.maxDepth))
	}
	// Refuse counts the budget cannot pay for, then counts the input cannot hold (every item takes
	// at least one byte), before allocating: an item slot costs 16 times its smallest encoding.
	if err := st.charge(sizeSliceHdr+sizeSlot*int64(n), at, tag); err != nil {
		return nil, err
	}
	if n > len(st.data)-st.pos {
		return nil, st.fail(at, tag, ErrTruncated, "tuple of "+itoa(n)+" items, only "+
			itoa(len(st.data)-st.pos)+" bytes left")
	}
	t := st.newTuple(n)
	for i := range t {
		v, err := st.value(depth + 1)
		if err != nil {
			return nil, err
		}
		t[i] = v
	}
	return t, nil
}

// intText parses n bytes of integer text with the grammar of Python's int() on bytes: optional
// surrounding ASCII whitespace, an optional sign, decimal digits with single underscores between
// them. Canonical text (what every encoder emits) takes a fast path.
func (st *decodeState) intText(n, at int, tag Tag) (any, error) {
	b, err := st.need(n, at, tag)
	if err != nil {
		return nil, err
	}
	// Fast path: canonical, at most 18 digits, fits int64 without overflow checks.
	if len(b) > 0 && len(b) <= 19 {
		neg := b[0] == '-'
		digits := b
		if neg {
			digits = b[1:]
		}
		if len(digits) > 0 && len(digits) <= 18 && len(digits) <= st.maxDigits {
			var v int64
			ok := true
			for _, c := range digits {
				if c < '0' || c > '9' {
					ok = false
					break
				}
				v = v*10 + int64(c-'0')
			}
			if ok {
				if err := st.charge(sizeWord, at, tag); err != nil {
					return nil, err
				}
				if neg {
					v = -v
				}
				return v, nil
			}
		}
	}
	return st.slowInt(b, at, tag)
}

func (st *decodeState) slowInt(b []byte, at int, tag Tag) (any, error) {
	isSpace := func(c byte) bool { return c == ' ' || (c >= '\t' && c <= '\r') }
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	neg := false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		b = b[1:]
	}
	if len(b) == 0 {
		return nil, st.fail(at, tag, ErrInvalidInt, "no digits")
	}
	digits := make([]byte, 0, len(b)+1)
	if neg {
		digits = append(digits, '-')
	}
	prevDigit := false
	for i, c := range b {
		switch {
		case c >= '0' && c <= '9':
			digits = append(digits, c)
			prevDigit = true
		case c == '_' && prevDigit && i+1 < len(b) && b[i+1] >= '0' && b[i+1] <= '9':
			prevDigit = false
		default:
			return nil, st.fail(at, tag, ErrInvalidInt, "unexpected byte "+quoteByte(c))
		}
	}
	nd := len(digits)
	if neg {
		nd--
	}
	if nd > st.maxDigits {
		return nil, st.fail(at, tag, ErrIntTooLarge, itoa(nd)+" digits, limit "+itoa(st.maxDigits))
	}
	cost := int64(sizeWord)
	if nd > 18 {
		// log2(10) < 3.322 bits per digit.
		words := int64(nd)*3322/1000/64 + 1
		cost = sizeBigInt + sizeWord*(words+bigIntSpare)
	}
	if err := st.charge(cost, at, tag); err != nil {
		return nil, err
	}
	x, ok := new(big.Int).SetString(string(digits), 10)
	if !ok {
		return nil, st.fail(at, tag, ErrInvalidInt, "")
	}
	if x.IsInt64() {
		return x.Int64(), nil
	}
	return x, nil
}

func itoa(n int) string { return strconv.Itoa(n) }

func quoteByte(c byte) string { return fmt.Sprintf("0x%02x", c) }
