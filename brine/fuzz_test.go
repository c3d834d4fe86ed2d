package brine_test

import (
	"encoding/hex"
	"testing"

	"github.com/gorpyc/rpyc/brine"
)

// FuzzLoad checks that the decoder never panics, and that whatever it accepts re-encodes to bytes
// that decode to an equal value. The seeds are every golden vector made by Python rpyc, plus the
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
	})
}
