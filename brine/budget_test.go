package brine_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/big"
	"runtime"
	"testing"

	"github.com/gorpyc/rpyc/brine"
)

// decodeAllocated reports the bytes allocated on the heap while f runs.
func decodeAllocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// tupleOf returns the encoding of a tuple of n copies of the encoded item.
func tupleOf(n int, item []byte) []byte {
	b := binary.BigEndian.AppendUint32([]byte{byte(brine.TagTupL4)}, uint32(n))
	return append(b, bytes.Repeat(item, n)...)
}

// LoadSized reports the documented accounting.
func TestDecodedSizeAccounting(t *testing.T) {
	big30 := new(big.Int).Exp(big.NewInt(10), big.NewInt(30), nil) // 31 digits: 2 words
	cases := []struct {
		name string
		v    any
		size int64
	}{
		{"None", nil, 0},
		{"True", true, 0},
		{"immediate int", int64(159), 0},
		{"int", int64(160), 8},
		{"negative int", int64(-1 << 40), 8},
		{"big int", big30, 32 + 8*(2+4)},
		{"float", 1.5, 8},
		{"complex", complex(1, 2), 16},
		{"empty str", "", 24},
		{"str", "héllo", 24 + 6},
		{"empty bytes", []byte{}, 24},
		{"bytes", []byte("abc"), 24 + 3},
		{"empty tuple", brine.Tuple{}, 0},
		{"tuple", brine.Tuple{int64(1), "ab"}, 24 + 2*16 + 24 + 2},
		{"nested tuple", brine.Tuple{brine.Tuple{int64(1000)}}, 24 + 16 + 24 + 16 + 8},
		{"empty frozenset", brine.FrozenSet{}, 0},
		{"frozenset", brine.FrozenSet{int64(1), int64(2)}, 24 + 2*16},
		{"slice", brine.Slice{Start: nil, Stop: int64(5), Step: nil}, 24 + 3*16},
		{"singletons", brine.Tuple{brine.NotImplemented, brine.Ellipsis}, 24 + 2*16},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data := mustDump(t, c.v)
			v, size, err := brine.Decoder{}.LoadSized(data)
			if err != nil || !brine.Equal(v, c.v) {
				t.Fatalf("LoadSized = %#v, %v", v, err)
			}
			if size != c.size {
				t.Fatalf("size %d, want %d", size, c.size)
			}
			if c.size == 0 {
				return
			}
			// The budget is inclusive: exactly the size passes, one byte less does not.
			if _, err := (brine.Decoder{MaxDecodedSize: c.size}).Load(data); err != nil {
				t.Fatalf("budget %d: %v", c.size, err)
			}
			_, size, err = brine.Decoder{MaxDecodedSize: c.size - 1}.LoadSized(data)
			var se *brine.SyntaxError
			if !errors.Is(err, brine.ErrTooLarge) || !errors.As(err, &se) || size != 0 {
				t.Fatalf("budget %d: size %d, %v; want ErrTooLarge", c.size-1, size, err)
			}
		})
	}
	// Errors report no size; trailing data is an error as for Load.
	if _, size, err := (brine.Decoder{}).LoadSized([]byte{0x51, 0x51}); !errors.Is(err, brine.ErrTrailingData) || size != 0 {
		t.Fatalf("trailing data: %d, %v", size, err)
	}
}

// The default budget is DefaultMaxDecodedSize, and the package-level functions use it; a
// negative budget is unlimited. Tuple counts are checked against the budget from the header
// alone, so these inputs need no items (they then fail as truncated or too large).
func TestDecodedSizeDefaults(t *testing.T) {
	fits := (brine.DefaultMaxDecodedSize - 24) / 16
	header := func(n int) []byte {
		return binary.BigEndian.AppendUint32([]byte{byte(brine.TagTupL4)}, uint32(n))
	}
	check := func(name string, err error, want error) {
		t.Helper()
		if !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", name, err, want)
		}
	}
	_, err := brine.Load(header(fits))
	check("Load, count within the default", err, brine.ErrTruncated)
	_, err = brine.Load(header(fits + 1))
	check("Load, count over the default", err, brine.ErrTooLarge)
	_, _, err = brine.Decode(header(fits + 1))
	check("Decode, count over the default", err, brine.ErrTooLarge)
	_, err = brine.Decoder{MaxDecodedSize: 0}.Load(header(fits + 1))
	check("zero budget means the default", err, brine.ErrTooLarge)
	_, err = brine.Decoder{MaxDecodedSize: -1}.Load(header(fits + 1))
	check("negative budget is unlimited", err, brine.ErrTruncated)
	_, err = brine.Decoder{MaxDecodedSize: 1}.Load([]byte{0x02})
	if err != nil {
		t.Errorf("budget 1, empty tuple: %v", err)
	}
}

// A 200-million-item tuple header (a 200 KB zlib frame can carry the items) is refused at once,
// before its 3.2 GB of item slots are allocated.
func TestRefuseHugeTupleHeader(t *testing.T) {
	in := binary.BigEndian.AppendUint32([]byte{byte(brine.TagTupL4)}, 200_000_000)
	in = append(in, 0x51, 0x51, 0x51)
	var err error
	n := decodeAllocated(func() { _, err = brine.Load(in) })
	if !errors.Is(err, brine.ErrTooLarge) {
		t.Fatalf("Load = %v, want ErrTooLarge", err)
	}
	t.Logf("refused: %d bytes allocated; %v", n, err)
	if n > 64<<10 {
		t.Errorf("refusing the header allocated %d bytes", n)
	}
	allocs := testing.AllocsPerRun(20, func() { _, err = brine.Load(in) })
	if allocs > 8 {
		t.Errorf("refusing the header took %.0f allocations", allocs)
	}

	// The same with the items present: 8 million one-byte ints (8 MB of input, 128 MB of Go
	// memory) fail before the items are decoded.
	in = tupleOf(8_000_000, []byte{0x51})
	n = decodeAllocated(func() { _, err = brine.Load(in) })
	if !errors.Is(err, brine.ErrTooLarge) {
		t.Fatalf("Load(8M ints) = %v, want ErrTooLarge", err)
	}
	if n > 64<<10 {
		t.Errorf("refusing 8M ints allocated %d bytes", n)
	}
}

// Amplifying inputs, small on the wire and large in memory, are refused once they have built
// their budget's worth, and decoding them costs no more than the budget.
func TestDecodedSizeAmplification(t *testing.T) {
	const budget = 1 << 20
	digits4300 := append([]byte{byte(brine.TagIntL4), 0, 0, 0x10, 0xcc}, bytes.Repeat([]byte{'7'}, 4300)...)
	cases := []struct {
		name string
		in   []byte
	}{
		// One tuple too large for the budget by itself: refused from its header.
		{"tuple of one-byte ints", tupleOf(100_000, []byte{0x51})},
		// Many small tuples: each fits, together they do not.
		{"nested tuples", tupleOf(30_000, []byte{byte(brine.TagTup4), 0x51, 0x52, 0x53, 0x54})},
		{"nested deep", tupleOf(10_000, []byte{0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x51})},
		{"short strings", tupleOf(60_000, []byte{byte(brine.TagStr), byte(brine.TagBytes1), 'a'})},
		{"short bytes", tupleOf(60_000, []byte{byte(brine.TagBytes1), 'a'})},
		{"frozensets", tupleOf(30_000, []byte{byte(brine.TagFrozenSet), byte(brine.TagTup2), 0x51, 0x52})},
		{"slices", tupleOf(30_000, []byte{byte(brine.TagSlice), byte(brine.TagTup3), 0, 0x55, 0})},
		{"floats", tupleOf(60_000, append([]byte{byte(brine.TagFloat)}, 1, 2, 3, 4, 5, 6, 7, 8))},
		{"ints", tupleOf(60_000, []byte{byte(brine.TagIntL1), 3, '5', '0', '0'})},
		{"big ints", tupleOf(1_000, digits4300)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// Unlimited, the value is over the budget.
			v, size, err := brine.Decoder{MaxDecodedSize: -1}.LoadSized(c.in)
			if err != nil {
				t.Fatalf("unlimited: %v", err)
			}
			runtime.KeepAlive(v)
			if size <= budget {
				t.Fatalf("decoded size %d is within the budget: not an amplification case", size)
			}
			v = nil
			d := brine.Decoder{MaxDecodedSize: budget}
			n := decodeAllocated(func() { _, err = d.Load(c.in) })
			var se *brine.SyntaxError
			if !errors.Is(err, brine.ErrTooLarge) || !errors.As(err, &se) {
				t.Fatalf("Load = %v, want a *SyntaxError with ErrTooLarge", err)
			}
			t.Logf("input %d bytes, decoded %d; refused after %d bytes allocated: %v", len(c.in), size, n, err)
			limit := uint64(budget + budget/4 + 16<<10)
			if c.name == "big ints" {
				limit = 64 << 20 // big.Int parsing makes garbage the budget does not count
			}
			if n > limit {
				t.Errorf("refusing allocated %d bytes, budget %d", n, budget)
			}
		})
	}
}

// What LoadSized counts is what the decoded value holds on the heap, within the documented
// margin.
func TestDecodedSizeMatchesHeap(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation sizes")
	}
	values := map[string][]byte{
		"ints":    tupleOf(100_000, []byte{0x51}),
		"strings": tupleOf(50_000, append([]byte{byte(brine.TagStr), byte(brine.TagBytesL1), 40}, bytes.Repeat([]byte{'s'}, 40)...)),
		"bytes":   tupleOf(1_000, append([]byte{byte(brine.TagBytesL4), 0, 0, 4, 0}, bytes.Repeat([]byte{'b'}, 1024)...)),
		"nested":  tupleOf(50_000, []byte{byte(brine.TagTup2), 0x51, byte(brine.TagTup1), 0x52}),
		"floats":  tupleOf(50_000, append([]byte{byte(brine.TagFloat)}, 1, 2, 3, 4, 5, 6, 7, 8)),
		// Rows of the large benchmark: ints, str, bytes, a float and a nested tuple each.
		"rows": tupleOf(20_000, mustDump(t, brine.Tuple{int64(1000), int64(-1000003000), "key-001000",
			bytes.Repeat([]byte{'v'}, 64), 250.0, brine.Tuple{nil, true, false}})),
	}
	for name, in := range values {
		var size int64
		var v any
		var err error
		n := decodeAllocated(func() { v, size, err = brine.Decoder{}.LoadSized(in) })
		runtime.KeepAlive(v)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		t.Logf("%s: counted %d, allocated %d (%.3f)", name, size, n, float64(n)/float64(size))
		if float64(n) > 1.2*float64(size)+16<<10 || float64(n) < 0.9*float64(size) {
			t.Errorf("%s: counted %d bytes, allocated %d", name, size, n)
		}
	}
}
