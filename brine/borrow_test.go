package brine_test

import (
	"bytes"
	"strings"
	"testing"
	"unsafe"

	"github.com/gorpyc/rpyc/brine"
)

// aliases reports whether b points into in.
func aliases(b, in []byte) bool {
	if len(b) == 0 {
		return false
	}
	p, lo := uintptr(unsafe.Pointer(&b[0])), uintptr(unsafe.Pointer(&in[0]))
	return p >= lo && p < lo+uintptr(len(in))
}

// BorrowBytes aliases bytes values of BorrowMin bytes or more, only when set, never str values,
// and leaves the accounting alone.
func TestBorrowBytes(t *testing.T) {
	v := brine.Tuple{
		bytes.Repeat([]byte{'a'}, brine.BorrowMin-1),
		bytes.Repeat([]byte{'b'}, brine.BorrowMin),
		strings.Repeat("c", 2*brine.BorrowMin),
		bytes.Repeat([]byte{'d'}, 3*brine.BorrowMin),
		[]byte("short"),
	}
	in := mustDump(t, v)
	wantAlias := []bool{false, true, false, true, false}
	for _, borrow := range []bool{false, true} {
		got, size, err := brine.Decoder{BorrowBytes: borrow}.LoadSized(in)
		if err != nil || !brine.Equal(got, v) {
			t.Fatalf("borrow %v: %v", borrow, err)
		}
		_, plain, _ := brine.Decoder{}.LoadSized(in)
		if size != plain {
			t.Errorf("borrow %v: size %d, without borrowing %d", borrow, size, plain)
		}
		for i, item := range got.(brine.Tuple) {
			var b []byte
			switch x := item.(type) {
			case []byte:
				b = x
				if cap(x) != len(x) && borrow && wantAlias[i] {
					t.Errorf("item %d: borrowed with capacity %d > length %d", i, cap(x), len(x))
				}
			case string:
				b = unsafe.Slice(unsafe.StringData(x), len(x))
			}
			if a := aliases(b, in); a != (borrow && wantAlias[i]) {
				t.Errorf("borrow %v, item %d (%d bytes): aliases input %v", borrow, i, len(b), a)
			}
		}
	}
	// Appending to a borrowed value never writes into the input.
	got, _ := brine.Decoder{BorrowBytes: true}.Load(in)
	b := got.(brine.Tuple)[1].([]byte)
	_ = append(b, 'x')
	if again, _ := brine.Load(in); !brine.Equal(again, v) {
		t.Fatal("appending to a borrowed value changed the input")
	}
}
