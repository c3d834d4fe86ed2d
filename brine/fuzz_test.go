package brine_test

import (
	"encoding/hex"
	"errors"
	"testing"

	"github.com/gorpyc/rpyc/brine"
)

// FuzzLoad checks that the decoder never panics, that whatever it accepts re-encodes to bytes
// that decode to an equal value, and that the decoded size it counts is exactly the budget the
// value needs. The seeds are every golden vector made by Python rpyc, plus the
// corpus in testdata/fuzz/FuzzLoad.
func FuzzLoad(f *testing.F) {
	g := readGolden(f)
	for _, c := range g.Values {
		b, _ := hex.DecodeString(c.Hex)
		f.Add(b)
	}
	for _, c := range g.Loads {
		b, _ := hex.DecodeString(c.Hex)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := brine.Load(data)
		if err != nil {
			return
		}
		if !brine.Dumpable(v) {
			t.Fatalf("decoded value %#v is not dumpable", v)
		}
		re, err := brine.Dump(v)
		if err != nil {
			t.Fatalf("re-encoding %#v: %v", v, err)
		}
		v2, err := brine.Load(re)
		if err != nil {
			t.Fatalf("re-encoded bytes %x do not decode: %v", re, err)
		}
		if !brine.Equal(v, v2) {
			t.Fatalf("round trip changed the value: %#v -> %#v", v, v2)
		}
		// The decoded-size budget is exact: the size LoadSized reports passes, one byte less fails.
		_, size, err := brine.Decoder{}.LoadSized(data)
		if err != nil || size < 0 {
			t.Fatalf("LoadSized after Load succeeded: %d, %v", size, err)
		}
		if size > 0 {
			if _, err := (brine.Decoder{MaxDecodedSize: size}).Load(data); err != nil {
				t.Fatalf("budget %d (the counted size): %v", size, err)
			}
			if _, err := (brine.Decoder{MaxDecodedSize: size - 1}).Load(data); !errors.Is(err, brine.ErrTooLarge) {
				t.Fatalf("budget %d (one less than counted): %v, want ErrTooLarge", size-1, err)
			}
		}
	})
}
