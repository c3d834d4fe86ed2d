package pickle

import (
	"encoding/hex"
	"errors"
	"testing"

	"github.com/gorpyc/rpyc/brine"
)

func unhex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// pickle.dumps({'a': [1, (2, b'x')], 'b': {3}}, 4) (CPython 3.11, with its FRAME and MEMOIZE).
const sample = "80049521000000000000007d94288c0161945d94284b014b0243017894869465" +
	"8c0162948f94284b0390752e"

func TestLoadsSample(t *testing.T) {
	got, err := Loads(unhex(sample))
	if err != nil {
		t.Fatal(err)
	}
	want := Dict{{"a", []any{int64(1), brine.Tuple{int64(2), []byte("x")}}}, {"b", Set{int64(3)}}}
	if !Equal(got, want) {
		t.Fatalf("Loads = %#v", got)
	}
}

func TestLoadsTruncated(t *testing.T) {
	data := unhex(sample)
	for i := range len(data) - 1 {
		if _, err := Loads(data[:i]); !errors.Is(err, ErrMalformed) {
			t.Errorf("Loads(first %d bytes) = %v, want ErrMalformed", i, err)
		}
	}
}

func TestLoadsHostile(t *testing.T) {
	for _, c := range []struct {
		name, hex string
		want      error
	}{
		{"unknown opcode", "8004ff2e", ErrMalformed},
		{"protocol 6", "80064e2e", ErrMalformed},
		{"BINBYTES8 of 2^62 bytes", "80048e00000000000000402e", ErrMalformed},
		{"BINUNICODE8 of 2^64-1 bytes", "80048dffffffffffffffff2e", ErrMalformed},
		{"BINBYTES beyond the data", "800442ffffff7f2e", ErrMalformed},
		{"negative BINSTRING", "800254ffffffff2e", ErrMalformed},
		{"FRAME beyond the data", "8004950010000000000000" + "4e2e", ErrMalformed},
		{"BINGET of nothing", "8004680a2e", ErrMalformed},
		{"LONG_BINGET of nothing", "80046a000000012e", ErrMalformed},
		{"no STOP", "80044e", ErrMalformed},
		{"empty stack", "80042e", ErrMalformed},
		{"unterminated GLOBAL", "8002636f730a", ErrMalformed},
		{"LONG1 of zero bytes", "80048a002e", ErrUnsupported},
		{"APPEND to an int", "80044b014b01612e", ErrMalformed},
		{"REDUCE of a non-tuple", "80048c086275696c74696e738c07636f6d706c6578934b01522e", ErrMalformed},
		{"persistent id", "8004285d516e2e", ErrMalformed},
		{"unhashable frozenset member", "800428430178912e", ErrUnsupported},
	} {
		_, err := Loads(unhex(c.hex))
		if !errors.Is(err, c.want) {
			t.Errorf("%s: Loads = %v, want %v", c.name, err, c.want)
		}
	}
}

func TestScanLength(t *testing.T) {
	data := append(unhex(sample), "trailing"...)
	n, err := Scan(data)
	if err != nil || n != len(data)-len("trailing") {
		t.Fatalf("Scan = %d, %v", n, err)
	}
}

// FuzzLoads: Loads must not panic on any input, and a value it returns must survive
// Dumps/Loads unchanged when Dumps accepts it.
func FuzzLoads(f *testing.F) {
	f.Add(unhex(sample))
	for _, g := range dumpGoldens {
		f.Add(unhex(g.hex))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := Loads(data)
		if err != nil {
			return
		}
		out, err := Dumps(v)
		if err != nil {
			return
		}
		back, err := Loads(out)
		if err != nil {
			t.Fatalf("Loads(Dumps(%#v)): %v", v, err)
		}
		if !Equal(v, back) {
			t.Fatalf("round trip changed %#v into %#v", v, back)
		}
	})
}
