package brine_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"math"
	"math/big"
	"strings"
	"testing"

	"github.com/gorpyc/rpyc/brine"
)

func mustDump(t *testing.T, v any) []byte {
	t.Helper()
	b, err := brine.Dump(v)
	if err != nil {
		t.Fatalf("Dump(%#v): %v", v, err)
	}
	return b
}

// Hand-written encodings of Go types that have no Python counterpart in the golden catalogue.
func TestEncodeGoTypes(t *testing.T) {
	maxU64, _ := new(big.Int).SetString("18446744073709551615", 10)
	tests := []struct {
		name string
		v    any
		hex  string
	}{
		{"int", int(5), "55"},
		{"int8 min", int8(math.MinInt8), "16042d313238"},
		{"int16", int16(-48), "20"},
		{"int32", int32(160), "1603313630"},
		{"uint8 max", uint8(255), "1603323535"},
		{"uint16", uint16(159), "ef"},
		{"uint32 max", uint32(math.MaxUint32), "160a34323934393637323935"},
		{"uint64 max", uint64(math.MaxUint64), "16143138343436373434303733373039353531363135"},
		{"uint", uint(0), "50"},
		{"uintptr", uintptr(1), "51"},
		{"big int64-sized", big.NewInt(-1), "4f"},
		{"big uint64 max", maxU64, "16143138343436373434303733373039353531363135"},
		{"float32", float32(1.5), "183ff8000000000000"},
		{"complex64", complex64(1 + 2i), "1b3ff00000000000004000000000000000"},
		{"nil tuple", brine.Tuple(nil), "02"},
		{"nil bytes", []byte(nil), "01"},
		{"nil frozenset", brine.FrozenSet(nil), "1a02"},
		{"slice of nils", brine.Slice{}, "1912000000"},
		{"int64 min", int64(math.MinInt64), "16142d39323233333732303336383534373735383038"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := hex.EncodeToString(mustDump(t, tc.v))
			if got != tc.hex {
				t.Fatalf("Dump(%#v) = %s, want %s", tc.v, got, tc.hex)
			}
			back, err := brine.Load(mustDump(t, tc.v))
			if err != nil {
				t.Fatal(err)
			}
			if !brine.Equal(back, tc.v) {
				t.Fatalf("Load(Dump(%#v)) = %#v", tc.v, back)
			}
		})
	}
}

func TestDecodeTypes(t *testing.T) {
	// Decoded ints are int64 when they fit, *big.Int otherwise.
	v, _ := brine.Load(mustDump(t, int64(math.MaxInt64)))
	if _, ok := v.(int64); !ok {
		t.Fatalf("MaxInt64 decoded as %T", v)
	}
	v, _ = brine.Load(mustDump(t, uint64(math.MaxUint64)))
	if _, ok := v.(*big.Int); !ok {
		t.Fatalf("MaxUint64 decoded as %T", v)
	}
	v, _ = brine.Load([]byte{0x01})
	if b, ok := v.([]byte); !ok || b == nil || len(b) != 0 {
		t.Fatalf("empty bytes decoded as %#v", v)
	}
	v, _ = brine.Load([]byte{0x02})
	if tup, ok := v.(brine.Tuple); !ok || tup == nil {
		t.Fatalf("empty tuple decoded as %#v", v)
	}
	// Decoded bytes never alias the input.
	in := []byte{0x0a, 'x'}
	v, _ = brine.Load(in)
	in[1] = 'y'
	if !bytes.Equal(v.([]byte), []byte("x")) {
		t.Fatal("decoded bytes alias the input buffer")
	}
}

func TestEncodeErrors(t *testing.T) {
	type myInt int
	self := brine.Tuple{nil}
	self[0] = self
	tests := []struct {
		name string
		v    any
		want error
		path string
	}{
		{"list", []any{1}, brine.ErrNotDumpable, ""},
		{"int slice", []int{1}, brine.ErrNotDumpable, ""},
		{"map", map[string]int{}, brine.ErrNotDumpable, ""},
		{"named int", myInt(1), brine.ErrNotDumpable, ""},
		{"struct", struct{}{}, brine.ErrNotDumpable, ""},
		{"nil big", (*big.Int)(nil), brine.ErrNotDumpable, ""},
		{"bad singleton", brine.Singleton(9), brine.ErrNotDumpable, ""},
		{"invalid utf8", "\xff", brine.ErrInvalidUTF8, ""},
		{"nested list", brine.Tuple{1, brine.Tuple{2, []any{}}}, brine.ErrNotDumpable, "[1][1]"},
		{"slice member", brine.Slice{Stop: []any{}}, brine.ErrNotDumpable, ".Stop"},
		{"frozenset member", brine.FrozenSet{map[int]int{}}, brine.ErrNotDumpable, "[0]"},
		{"cycle", self, brine.ErrTooDeep, strings.Repeat("[0]", brine.MaxDepth)},
		{"huge int", new(big.Int).Exp(big.NewInt(10), big.NewInt(4300), nil), brine.ErrIntTooLarge, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dst := []byte("prefix")
			out, err := brine.Append(dst, tc.v)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Append(%T) error = %v, want %v", tc.v, err, tc.want)
			}
			var ee *brine.EncodeError
			if !errors.As(err, &ee) || ee.Path != tc.path {
				t.Fatalf("error %v: want *EncodeError with path %q", err, tc.path)
			}
			if string(out) != "prefix" {
				t.Fatalf("Append returned %q on error, want the original dst", out)
			}
			if brine.Dumpable(tc.v) {
				t.Fatalf("Dumpable(%T) = true", tc.v)
			}
		})
	}
}

func TestMaxIntDigitsBoundary(t *testing.T) {
	ten := big.NewInt(10)
	ok := new(big.Int).Exp(ten, big.NewInt(4299), nil) // 4300 digits
	neg := new(big.Int).Neg(ok)
	for _, v := range []*big.Int{ok, neg} {
		b := mustDump(t, v)
		back, err := brine.Load(b)
		if err != nil || !brine.Equal(back, v) {
			t.Fatalf("4300-digit int does not round-trip: %v", err)
		}
		if !brine.Dumpable(v) {
			t.Fatal("4300-digit int not dumpable")
		}
	}
}

func TestDecodeLimits(t *testing.T) {
	deep := func(n int) []byte { return append(bytes.Repeat([]byte{0x10}, n), 0x00) }
	if _, err := brine.Load(deep(brine.MaxDepth)); err != nil {
		t.Fatalf("depth %d refused: %v", brine.MaxDepth, err)
	}
	_, err := brine.Load(deep(brine.MaxDepth + 1))
	if !errors.Is(err, brine.ErrTooDeep) {
		t.Fatalf("depth %d: %v, want ErrTooDeep", brine.MaxDepth+1, err)
	}
	d := brine.Decoder{MaxDepth: 3, MaxIntDigits: 5}
	if _, err := d.Load(deep(4)); !errors.Is(err, brine.ErrTooDeep) {
		t.Fatalf("custom depth: %v", err)
	}
	if _, err := d.Load(mustDump(t, new(big.Int).Lsh(big.NewInt(1), 100))); !errors.Is(err, brine.ErrIntTooLarge) {
		t.Fatalf("custom digit limit: %v", err)
	}
	// Slices and frozensets count towards depth too.
	nestedSlice := append(bytes.Repeat([]byte{0x19, 0x12}, 600), 0x00)
	if _, err := brine.Load(nestedSlice); !errors.Is(err, brine.ErrTooDeep) {
		t.Fatalf("nested slices: %v", err)
	}
}

// Declared lengths beyond the input must fail before any allocation of that size: with no
// decoded-size budget as truncated input, with the default budget as too large when the budget
// cannot pay for them.
func TestHostileLengths(t *testing.T) {
	cases := map[string]struct {
		hex      string
		overSize bool // beyond the default decoded-size budget
	}{
		"tuple 4G items":  {"15ffffffff51", true},
		"bytes 4G":        {"0fffffffff61", true},
		"str 4G":          {"080fffffffff61", true},
		"int text 4G":     {"17ffffffff31", false},
		"tuple 255 items": {"14ff5151", false},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			h := c.hex
			in, _ := hex.DecodeString(h)
			var err error
			allocs := testing.AllocsPerRun(10, func() { _, err = brine.Load(in) })
			if c.overSize {
				if !errors.Is(err, brine.ErrTooLarge) {
					t.Fatalf("Load(%s) = %v, want ErrTooLarge", h, err)
				}
			} else if !errors.Is(err, brine.ErrTruncated) || !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("Load(%s) = %v, want ErrTruncated", h, err)
			}
			if allocs > 10 {
				t.Fatalf("Load(%s) made %.0f allocations", h, allocs)
			}
			unlimited := brine.Decoder{MaxDecodedSize: -1}
			allocs = testing.AllocsPerRun(10, func() { _, err = unlimited.Load(in) })
			if !errors.Is(err, brine.ErrTruncated) || !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("unlimited Load(%s) = %v, want ErrTruncated", h, err)
			}
			if allocs > 10 {
				t.Fatalf("Load(%s) made %.0f allocations", h, allocs)
			}
		})
	}
}

// Every proper prefix of a valid encoding is a truncation error, never a panic or a value.
func TestTruncationSweep(t *testing.T) {
	g := readGolden(t)
	checked := 0
	for _, c := range g.Values {
		full, _ := hex.DecodeString(c.Hex)
		if len(full) > 4096 {
			continue // quadratic; the large cases are covered by the fuzzer
		}
		for i := range len(full) {
			if _, err := brine.Load(full[:i]); !errors.Is(err, brine.ErrTruncated) {
				t.Fatalf("%s: prefix of %d bytes: %v, want ErrTruncated", c.Name, i, err)
			}
		}
		checked++
	}
	if checked < 300 {
		t.Fatalf("only %d cases swept", checked)
	}
}

func TestDecodePrefix(t *testing.T) {
	in := []byte{0x11, 0x51, 0x52, 0xff, 0xff}
	v, n, err := brine.Decode(in)
	if err != nil || n != 3 || !brine.Equal(v, brine.Tuple{int64(1), int64(2)}) {
		t.Fatalf("Decode = %#v, %d, %v", v, n, err)
	}
	_, err = brine.Load(in)
	var se *brine.SyntaxError
	if !errors.As(err, &se) || se.Offset != 3 || !errors.Is(err, brine.ErrTrailingData) {
		t.Fatalf("Load with trailing data: %v", err)
	}
}

func TestSyntaxErrorMessage(t *testing.T) {
	_, err := brine.Load([]byte{0x11, 0x51, 0x07})
	want := "brine: unknown tag (tag UNKNOWN_TAG_0x07 at offset 2)"
	if err == nil || err.Error() != want {
		t.Fatalf("error = %q, want %q", err, want)
	}
}

func TestEqual(t *testing.T) {
	nan := math.NaN()
	eq := []struct{ a, b any }{
		{int64(1), int(1)}, {uint8(7), big.NewInt(7)}, {nan, nan},
		{brine.FrozenSet{"a", "b"}, brine.FrozenSet{"b", "a"}},
		{brine.Tuple{}, brine.Tuple(nil)}, {[]byte{}, []byte(nil)},
	}
	for _, c := range eq {
		if !brine.Equal(c.a, c.b) {
			t.Errorf("Equal(%#v, %#v) = false", c.a, c.b)
		}
	}
	ne := []struct{ a, b any }{
		{true, int64(1)}, {"a", []byte("a")}, {0.0, math.Copysign(0, -1)}, {int64(1), 1.0},
		{brine.Tuple{1}, brine.FrozenSet{1}}, {brine.FrozenSet{"a", "a"}, brine.FrozenSet{"a", "b"}},
		{[]any{1}, []any{1}}, {brine.NotImplemented, brine.Ellipsis}, {nil, brine.Tuple{}},
	}
	for _, c := range ne {
		if brine.Equal(c.a, c.b) {
			t.Errorf("Equal(%#v, %#v) = true", c.a, c.b)
		}
	}
}

func TestTagString(t *testing.T) {
	for tag, want := range map[brine.Tag]string{
		brine.TagTup3: "TUP3", brine.TagEmptyBytes: "EMPTY_STR", brine.TagStr: "UNICODE",
		0x4f: "IMM_INT(-1)", 0x07: "UNKNOWN_TAG_0x07", 0xff: "UNKNOWN_TAG_0xff",
	} {
		if got := tag.String(); got != want {
			t.Errorf("Tag(0x%02x).String() = %q, want %q", byte(tag), got, want)
		}
	}
}

// Appending a small request tuple to a buffer with room must not allocate.
func TestAppendAllocs(t *testing.T) {
	var msg any = brine.Tuple{int64(1), int64(12345), brine.Tuple{int64(8), brine.Tuple{int64(2),
		brine.Tuple{brine.Tuple{int64(3), brine.Tuple{"svc.MyService", int64(608496832), int64(140207253238928)}},
			brine.Tuple{int64(1), "get_status"}, brine.Tuple{int64(1), brine.Tuple{1.5, true, nil}}}}}}
	buf := make([]byte, 0, 256)
	var err error
	allocs := testing.AllocsPerRun(100, func() { buf, err = brine.Append(buf[:0], msg) })
	if err != nil {
		t.Fatal(err)
	}
	if allocs != 0 {
		t.Fatalf("Append of a request tuple: %.1f allocations, want 0", allocs)
	}
}

func TestTypeName(t *testing.T) {
	for v, want := range map[any]string{
		nil: "NoneType", true: "bool", int64(1): "int", uint8(1): "int", 1.5: "float", "s": "str",
		brine.Ellipsis: "ellipsis", brine.NotImplemented: "NotImplementedType", 1i: "complex",
	} {
		if got := brine.TypeName(v); got != want {
			t.Errorf("TypeName(%#v) = %q, want %q", v, got, want)
		}
	}
	for _, c := range []struct {
		v    any
		want string
	}{{[]byte("b"), "bytes"}, {brine.Tuple{}, "tuple"}, {brine.FrozenSet{}, "frozenset"},
		{brine.Slice{}, "slice"}, {big.NewInt(1), "int"}, {[]any{}, ""}, {struct{}{}, ""}} {
		if got := brine.TypeName(c.v); got != c.want {
			t.Errorf("TypeName(%#v) = %q, want %q", c.v, got, c.want)
		}
	}
}
