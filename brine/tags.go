package brine

import "fmt"

// Tag is the first byte of every brine value. Its constants carry Go names; [Tag.String] prints
// the name Python's rpyc uses (TAG_EMPTY_STR, TAG_TUP_L1, ...), which is what traces should show.
type Tag byte

// The brine tag table. Python names its bytes tags "STR" (a Python 2 heritage); this package calls
// them Bytes so that they are never confused with TagStr (Python 3 str, "UNICODE" upstream).
const (
	TagNone           Tag = 0x00 // None
	TagEmptyBytes     Tag = 0x01 // b""  (TAG_EMPTY_STR)
	TagEmptyTuple     Tag = 0x02 // ()
	TagTrue           Tag = 0x03 // True
	TagFalse          Tag = 0x04 // False
	TagNotImplemented Tag = 0x05 // NotImplemented
	TagEllipsis       Tag = 0x06 // Ellipsis
	TagStr            Tag = 0x08 // str: one nested bytes value holding UTF-8 (TAG_UNICODE)
	TagLong           Tag = 0x09 // Python 2 long; refused by rpyc 5.0+ and by this package
	TagBytes1         Tag = 0x0a // bytes of length 1 (TAG_STR1)
	TagBytes2         Tag = 0x0b // bytes of length 2
	TagBytes3         Tag = 0x0c // bytes of length 3
	TagBytes4         Tag = 0x0d // bytes of length 4
	TagBytesL1        Tag = 0x0e // u8 length, then bytes (TAG_STR_L1)
	TagBytesL4        Tag = 0x0f // u32be length, then bytes (TAG_STR_L4)
	TagTup1           Tag = 0x10 // 1-tuple
	TagTup2           Tag = 0x11 // 2-tuple
	TagTup3           Tag = 0x12 // 3-tuple
	TagTup4           Tag = 0x13 // 4-tuple
	TagTupL1          Tag = 0x14 // u8 count, then items
	TagTupL4          Tag = 0x15 // u32be count, then items
	TagIntL1          Tag = 0x16 // u8 length, then ASCII decimal text
	TagIntL4          Tag = 0x17 // u32be length, then ASCII decimal text
	TagFloat          Tag = 0x18 // IEEE-754 binary64, big-endian
	TagSlice          Tag = 0x19 // one nested 3-tuple (start, stop, step)
	TagFrozenSet      Tag = 0x1a // one nested tuple of members
	TagComplex        Tag = 0x1b // real, imaginary: two binary64, big-endian

	// TagImmFirst..TagImmLast are immediate ints: the value is tag - ImmBias.
	TagImmFirst Tag = 0x20
	TagImmLast  Tag = 0xef
)

// Immediate integer range: ints in [ImmMin, ImmMax] are encoded as the single byte value+ImmBias.
const (
	ImmMin  = -0x30
	ImmMax  = 0x9f
	ImmBias = 0x50
)

var tagNames = [...]string{
	TagNone: "NONE", TagEmptyBytes: "EMPTY_STR", TagEmptyTuple: "EMPTY_TUPLE", TagTrue: "TRUE",
	TagFalse: "FALSE", TagNotImplemented: "NOT_IMPLEMENTED", TagEllipsis: "ELLIPSIS",
	TagStr: "UNICODE", TagLong: "LONG", TagBytes1: "STR1", TagBytes2: "STR2", TagBytes3: "STR3",
	TagBytes4: "STR4", TagBytesL1: "STR_L1", TagBytesL4: "STR_L4", TagTup1: "TUP1", TagTup2: "TUP2",
	TagTup3: "TUP3", TagTup4: "TUP4", TagTupL1: "TUP_L1", TagTupL4: "TUP_L4", TagIntL1: "INT_L1",
	TagIntL4: "INT_L4", TagFloat: "FLOAT", TagSlice: "SLICE", TagFrozenSet: "FSET", TagComplex: "COMPLEX",
}

// String returns Python's name for the tag ("TUP3", "IMM_INT(-1)", "UNKNOWN_TAG_0x07").
func (t Tag) String() string {
	if t >= TagImmFirst && t <= TagImmLast {
		return fmt.Sprintf("IMM_INT(%d)", int(t)-ImmBias)
	}
	if int(t) < len(tagNames) && tagNames[t] != "" {
		return tagNames[t]
	}
	return fmt.Sprintf("UNKNOWN_TAG_0x%02x", byte(t))
}
