package brine

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
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
	// the budget, plus the unused ends of the chunks it carves values from (under 40 KiB), and
	// that memory is garbage.
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
//	frozenset                     its tuple (the tuple's header becomes the frozenset's)
//	str, n bytes of UTF-8         24 + n (its header takes a 24-byte slot)
//	bytes, n bytes                24 + n
//	int beyond the immediates     8, or 32 + 8*(words+4) for a *big.Int (words: 64-bit words
//	                              its decimal digits can need)
//	float                         8
//	complex                       16
//	slice                         its 3-tuple, 72 (the tuple's items become the slice's fields)
//	None, bool, immediate ints,   0 (shared, never allocated)
//	(), NotImplemented, Ellipsis
//
// Nested values add up. The decoder carves these values from a few shared chunks per decode
// rather than allocating each one, and for a value of some kilobytes or more what it allocates
// stays within about 15% of the count (the unused end of each chunk, size classes). Chunks are
// sized from the input left to decode, so a small message's unused chunk ends are small too
// (about 400 bytes for a 100-byte request). Scratch space that is garbage once parsing is done,
// such as a big integer's intermediate results, is not counted.
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
	sizeSlot    = 16 // an interface value: a tuple item
	sizeHeader  = 24 // a header slot: Tuple, FrozenSet, []byte or string (see arena.go)
	sizeWord    = 8  // a boxed int64 or float64, a big.Int word
	sizeComplex = 16
	sizeBigInt  = 32 // big.Int itself: sign and nat header
	bigIntSpare = 4  // words counted beyond the need
)

type decodeState struct {
	data      []byte
	pos       int
	maxDepth  int
	maxDigits int
	used      int64 // decoded size so far
	budget    int64 // limit on used
	borrow    bool  // Decoder.BorrowBytes
	arena
}

// immInts holds the values of the immediate ints, indexed by tag; constants boxes them.
var immInts [256]int64

// constants holds the value of every tag that stands alone: the immediate ints (boxed, from a
// table, so that decoding them never allocates), None, the booleans, (), NotImplemented and
// Ellipsis. isConstant marks those tags (None's value is nil).
var constants, isConstant = func() (v [256]any, is [256]bool) {
	for tag := int(TagImmFirst); tag <= int(TagImmLast); tag++ {
		// Boxed in place in a global array rather than on the heap: the collector then has
		// nothing to do with the pointers to them that decoded tuples hold.
		immInts[tag] = int64(tag - ImmBias)
		v[tag], is[tag] = makeAny(typeInt64, unsafe.Pointer(&immInts[tag])), true
	}
	for tag, c := range map[Tag]any{TagNone: nil, TagTrue: true, TagFalse: false,
		TagEmptyTuple: emptyTupleValue, TagNotImplemented: NotImplemented, TagEllipsis: Ellipsis} {
		v[tag], is[tag] = c, true
	}
	return v, is
}()

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

func (st *decodeState) truncated(n int, at int, tag Tag) error {
	return st.fail(at, tag, ErrTruncated, "need "+itoa(n)+" bytes, have "+itoa(len(st.data)-st.pos))
}

// need returns the next n bytes, or a truncation error attributed to the value at `at`.
func (st *decodeState) need(n int, at int, tag Tag) ([]byte, error) {
	if n < 0 || n > len(st.data)-st.pos {
		return nil, st.truncated(n, at, tag)
	}
	b := st.data[st.pos : st.pos+n]
	st.pos += n
	return b, nil
}

// value decodes the value at st.pos.
func (st *decodeState) value(depth int) (any, error) {
	var v [1]any
	err := st.fill(v[:], depth)
	return v[0], err
}

// fill decodes len(t) values into t, each at the given nesting depth. It is the decoder's one
// loop: the common tags are handled inline, and only a nested tuple recurses.
func (st *decodeState) fill(t []any, depth int) error {
	data := st.data
	for i := range t {
		at := st.pos
		if at >= len(data) {
			if at == 0 {
				return st.fail(at, TagNone, ErrTruncated, "empty input")
			}
			return st.fail(at, TagNone, ErrTruncated, "value expected")
		}
		tag := Tag(data[at])
		st.pos++
		if isConstant[tag] {
			t[i] = constants[tag]
			continue
		}
		switch tag {
		case TagTup1, TagTup2, TagTup3, TagTup4, TagTupL1, TagTupL4:
			n := int(tag-TagTup1) + 1
			if tag == TagTupL1 {
				if st.pos >= len(data) {
					return st.truncated(1, at, tag)
				}
				n = int(data[st.pos])
				st.pos++
			} else if tag == TagTupL4 {
				b, err := st.need(4, at, tag)
				if err != nil {
					return err
				}
				n = int(binary.BigEndian.Uint32(b))
			}
			v, err := st.tuple(n, depth, at, tag)
			if err != nil {
				return err
			}
			t[i] = v
		case TagIntL1:
			if st.pos >= len(data) {
				return st.truncated(1, at, tag)
			}
			n := int(data[st.pos])
			st.pos++
			// Canonical text of up to 18 digits: an int64 without overflow checks.
			if n > 0 && n <= 18 && n <= len(data)-st.pos && n <= st.maxDigits {
				if v, ok := smallDecimal(data[st.pos : st.pos+n]); ok {
					if sizeWord > st.budget-st.used {
						return st.tooLarge(sizeWord, at, tag)
					}
					st.used += sizeWord
					st.pos += n
					t[i] = st.boxInt(v)
					continue
				}
			}
			v, err := st.intText(n, at, tag)
			if err != nil {
				return err
			}
			t[i] = v
		case TagStr:
			if st.pos >= len(data) {
				return st.fail(at, tag, ErrTruncated, "str without its bytes")
			}
			inner := Tag(data[st.pos])
			if !isBytesTag(inner) {
				return st.fail(at, tag, ErrMalformed, "str must hold a bytes value, found "+inner.String())
			}
			st.pos++
			b, err := st.bytesBody(inner, at)
			if err != nil {
				return err
			}
			if !validUTF8(b) {
				return st.fail(at, tag, ErrInvalidUTF8, "")
			}
			t[i] = st.boxString(b)
		case TagEmptyBytes, TagBytes1, TagBytes2, TagBytes3, TagBytes4, TagBytesL1, TagBytesL4:
			b, err := st.bytesBody(tag, at)
			if err != nil {
				return err
			}
			if st.borrow && len(b) >= BorrowMin {
				t[i] = st.boxBytesHeader(b[:len(b):len(b)])
			} else {
				t[i] = st.boxBytes(b)
			}
		case TagFloat:
			if len(data)-st.pos < 8 {
				return st.truncated(8, at, tag)
			}
			if err := st.charge(sizeWord, at, tag); err != nil {
				return err
			}
			p := st.newWords(1)
			*(*uint64)(p) = binary.BigEndian.Uint64(data[st.pos:])
			st.pos += 8
			t[i] = makeAny(typeFloat64, p)
		default:
			v, err := st.rare(tag, at, depth)
			if err != nil {
				return err
			}
			t[i] = v
		}
	}
	return nil
}

// rare decodes the values of the less common tags, whose tag at `at` was consumed.
func (st *decodeState) rare(tag Tag, at, depth int) (any, error) {
	switch tag {
	case TagIntL4:
		b, err := st.need(4, at, tag)
		if err != nil {
			return nil, err
		}
		return st.intText(int(binary.BigEndian.Uint32(b)), at, tag)
	case TagComplex:
		if len(st.data)-st.pos < 16 {
			return nil, st.truncated(16, at, tag)
		}
		if err := st.charge(sizeComplex, at, tag); err != nil {
			return nil, err
		}
		p := st.newWords(2)
		w := (*[2]uint64)(p)
		w[0] = binary.BigEndian.Uint64(st.data[st.pos:])
		w[1] = binary.BigEndian.Uint64(st.data[st.pos+8:])
		st.pos += 16
		return makeAny(typeComplex, p), nil
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
		// A Slice is three interfaces, laid out as the 3-tuple's items already are: the Slice
		// is those items, boxed as a Slice.
		return makeAny(typeSlice, unsafe.Pointer(&t[0])), nil
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
		// The tuple's header, boxed as a FrozenSet instead.
		return makeAny(typeFrozenSet, dataWord(inner)), nil
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
// charging a header slot plus the length to the budget first. The result aliases the input.
func (st *decodeState) bytesBody(tag Tag, at int) ([]byte, error) {
	var n int
	switch tag {
	case TagEmptyBytes:
		return nil, st.charge(sizeHeader, at, tag)
	case TagBytesL1:
		if st.pos >= len(st.data) {
			return nil, st.truncated(1, at, tag)
		}
		n = int(st.data[st.pos])
		st.pos++
	case TagBytesL4:
		b, err := st.need(4, at, tag)
		if err != nil {
			return nil, err
		}
		n = int(binary.BigEndian.Uint32(b))
	default:
		n = int(tag-TagBytes1) + 1
	}
	if err := st.charge(sizeHeader+int64(n), at, tag); err != nil {
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
	if err := st.charge(sizeHeader+sizeSlot*int64(n), at, tag); err != nil {
		return nil, err
	}
	if n > len(st.data)-st.pos {
		return nil, st.fail(at, tag, ErrTruncated, "tuple of "+itoa(n)+" items, only "+
			itoa(len(st.data)-st.pos)+" bytes left")
	}
	h := st.newHeader()
	t := st.newItems(n)
	if err := st.fill(t, depth+1); err != nil {
		return nil, err
	}
	*h = t
	return makeAny(typeTuple, unsafe.Pointer(h)), nil
}

// smallDecimal parses 1 to 18 bytes of canonical decimal text, with an optional leading '-'.
func smallDecimal(b []byte) (int64, bool) {
	neg := b[0] == '-'
	if neg {
		b = b[1:]
		if len(b) == 0 {
			return 0, false
		}
	}
	var v int64
	for _, c := range b {
		d := c - '0'
		if d > 9 {
			return 0, false
		}
		v = v*10 + int64(d)
	}
	if neg {
		v = -v
	}
	return v, true
}

// intText parses n bytes of integer text with the grammar of Python's int() on bytes: optional
// surrounding ASCII whitespace, an optional sign, decimal digits with single underscores between
// them.
func (st *decodeState) intText(n, at int, tag Tag) (any, error) {
	b, err := st.need(n, at, tag)
	if err != nil {
		return nil, err
	}
	if n > 0 && n <= 18 && n <= st.maxDigits {
		if v, ok := smallDecimal(b); ok {
			if err := st.charge(sizeWord, at, tag); err != nil {
				return nil, err
			}
			return st.boxInt(v), nil
		}
	}
	return st.bigText(b, at, tag)
}

func itoa(n int) string { return strconv.Itoa(n) }

func quoteByte(c byte) string { return fmt.Sprintf("0x%02x", c) }
