package brine

import (
	"encoding/binary"
	"math/bits"
	"unsafe"
)

// validUTF8 reports whether b is valid UTF-8, with the rules of Python's strict codec (and of
// unicode/utf8.Valid): shortest forms only, no surrogates, nothing beyond U+10FFFF. ASCII is
// skipped eight bytes at a time, also between the non-ASCII characters of mostly-ASCII text.
func validUTF8(b []byte) bool {
	n := len(b)
	i := 0
	for i < n {
		c := b[i]
		if c < 0x80 {
			if i+8 > n {
				i++
				continue
			}
			m := binary.LittleEndian.Uint64(b[i:]) & highBits
			if m == 0 {
				i += 8
				continue
			}
			i += bits.TrailingZeros64(m) >> 3
			c = b[i]
		}
		switch {
		case c < 0xc2:
			return false // a continuation byte, or an overlong two-byte form
		case c < 0xe0:
			if i+1 >= n || b[i+1]&0xc0 != 0x80 {
				return false
			}
			i += 2
		case c < 0xf0:
			if i+2 >= n || b[i+2]&0xc0 != 0x80 {
				return false
			}
			lo, hi := byte(0x80), byte(0xbf)
			if c == 0xe0 {
				lo = 0xa0 // overlong
			} else if c == 0xed {
				hi = 0x9f // surrogates
			}
			if b[i+1] < lo || b[i+1] > hi {
				return false
			}
			i += 3
		case c < 0xf5:
			if i+3 >= n || b[i+2]&0xc0 != 0x80 || b[i+3]&0xc0 != 0x80 {
				return false
			}
			lo, hi := byte(0x80), byte(0xbf)
			if c == 0xf0 {
				lo = 0x90 // overlong
			} else if c == 0xf4 {
				hi = 0x8f // beyond U+10FFFF
			}
			if b[i+1] < lo || b[i+1] > hi {
				return false
			}
			i += 4
		default:
			return false
		}
	}
	return true
}

// validUTF8String is validUTF8 for a string, without copying it.
func validUTF8String(s string) bool {
	return validUTF8(unsafe.Slice(unsafe.StringData(s), len(s)))
}
