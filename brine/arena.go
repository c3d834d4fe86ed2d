package brine

import "unsafe"

// Decoding without an allocation per value.
//
// A decoded value is an interface, and putting a slice, string, int64 or float64 into an
// interface normally allocates a box for it. The decoder instead carves those boxes, and the
// tuple items, from a few chunks per decode (an arena) and builds each interface value from its
// type word and a pointer into a chunk, as the compiler's own boxing would, with the type word of
// a prototype value of the same type. Three kinds of chunk keep the garbage collector's view of
// every word exact:
//
//   - items []any: tuple items (and, three in a row, the fields of a Slice);
//   - hdrs []Tuple: 24-byte header slots, a pointer then two integers: the header of a Tuple,
//     FrozenSet or []byte, or, in its first 16 bytes, of a string;
//   - raw: pointer-free memory (allocated as []uint64, so 8-aligned): int64, float64 and
//     complex128 values, and the bytes of short strings and bytes values.
//
// An interface's data pointer may point into the middle of a chunk; the collector keeps the whole
// chunk alive while any value carved from it is. Every slot is written once, before its value is
// returned, and never again: boxed values are immutable, as the runtime expects. Values carved
// from a chunk have their capacity capped, so appending to one never writes into another.
type arena struct {
	items []any
	hdrs  []Tuple
	raw   []byte // len: bytes used; cap: the chunk
}

const (
	itemsChunkMax = 1024 // items per chunk; longer tuples get their own array
	hdrsChunkMax  = 512  // header slots per chunk
	rawChunkMax   = 8192 // bytes per raw chunk
	smallValue    = 64   // strings and bytes up to this length are copied into a raw chunk
)

type eface struct {
	typ  unsafe.Pointer
	data unsafe.Pointer
}

func typeWord(v any) unsafe.Pointer { return (*eface)(unsafe.Pointer(&v)).typ }

func dataWord(v any) unsafe.Pointer { return (*eface)(unsafe.Pointer(&v)).data }

// makeAny returns the interface value of dynamic type typ whose value is stored at data.
func makeAny(typ, data unsafe.Pointer) (v any) {
	*(*eface)(unsafe.Pointer(&v)) = eface{typ: typ, data: data}
	return v
}

var (
	typeTuple     = typeWord(Tuple(nil))
	typeFrozenSet = typeWord(FrozenSet(nil))
	typeBytes     = typeWord([]byte(nil))
	typeString    = typeWord("")
	typeInt64     = typeWord(int64(0))
	typeFloat64   = typeWord(float64(0))
	typeComplex   = typeWord(complex128(0))
	typeSlice     = typeWord(Slice{})
	typeBool      = typeWord(false)
)

// Shared values that cost nothing to decode.
var (
	emptyTupleValue any = Tuple{}
	emptyBytesValue any = []byte{}
	emptyStrValue   any = ""
)

func (st *decodeState) remaining() int { return len(st.data) - st.pos }

// newItems returns n item slots. Chunks are sized by what the rest of the input could still
// hold (an item takes at least one byte, a typical one two or more), so small messages do not pay
// for a big chunk.
func (st *decodeState) newItems(n int) []any {
	if len(st.items) < n {
		if n > itemsChunkMax/4 {
			return make([]any, n)
		}
		st.items = make([]any, min(max(st.remaining()*2/5, n, 4), itemsChunkMax))
	}
	t := st.items[:n:n]
	st.items = st.items[n:]
	return t
}

// newHeader returns a header slot.
func (st *decodeState) newHeader() *Tuple {
	if len(st.hdrs) == 0 {
		st.hdrs = make([]Tuple, min(max(st.remaining()/7, 2), hdrsChunkMax))
	}
	h := &st.hdrs[0]
	st.hdrs = st.hdrs[1:]
	return h
}

// newRaw returns n bytes of pointer-free memory, 8-aligned if align.
func (st *decodeState) newRaw(n int, align bool) unsafe.Pointer {
	off := len(st.raw)
	if align {
		off = (off + 7) &^ 7
	}
	if off+n > cap(st.raw) {
		st.refillRaw(n)
		off = 0
	}
	st.raw = st.raw[:off+n]
	return unsafe.Add(unsafe.Pointer(unsafe.SliceData(st.raw)), off)
}

func (st *decodeState) refillRaw(n int) {
	size := (min(max(st.remaining()+n, 64), rawChunkMax) + 7) &^ 7
	if n > size {
		size = n
	}
	w := make([]uint64, (size+7)/8)
	st.raw = unsafe.Slice((*byte)(unsafe.Pointer(&w[0])), size)[:0]
}

// newWords returns n 8-byte words of pointer-free memory.
func (st *decodeState) newWords(n int) unsafe.Pointer { return st.newRaw(8*n, true) }

func (st *decodeState) boxInt(v int64) any {
	p := st.newWords(1)
	*(*int64)(p) = v
	return makeAny(typeInt64, p)
}

// boxString returns a copy of b as a string value.
func (st *decodeState) boxString(b []byte) any {
	if len(b) == 0 {
		return emptyStrValue
	}
	h := st.newHeader()
	s := (*string)(unsafe.Pointer(h))
	if len(b) <= smallValue {
		p := (*byte)(st.newRaw(len(b), false))
		copy(unsafe.Slice(p, len(b)), b)
		*s = unsafe.String(p, len(b))
	} else {
		*s = string(b)
	}
	return makeAny(typeString, unsafe.Pointer(h))
}

// boxBytes returns a copy of b as a bytes value.
func (st *decodeState) boxBytes(b []byte) any {
	if len(b) == 0 {
		return emptyBytesValue
	}
	if len(b) <= smallValue {
		p := (*byte)(st.newRaw(len(b), false))
		c := unsafe.Slice(p, len(b))
		copy(c, b)
		return st.boxBytesHeader(c)
	}
	return st.boxBytesHeader(append([]byte(nil), b...))
}

// boxBytesHeader returns b itself as a bytes value.
func (st *decodeState) boxBytesHeader(b []byte) any {
	h := st.newHeader()
	*(*[]byte)(unsafe.Pointer(h)) = b
	return makeAny(typeBytes, unsafe.Pointer(h))
}
