// Package brine implements brine, the value serializer of Python's RPyC, byte for byte as rpyc
// 4.1 through 6.0 write it. Brine encodes every RPyC message body, registry datagram and exception
// payload. It carries a closed set of immutable Python values; lists, dicts, sets and objects never
// travel by value (the protocol sends references to them instead).
//
// # Format
//
// Every value starts with a one-byte [Tag]:
//
//	00 None   01 b""   02 ()   03 True   04 False   05 NotImplemented   06 Ellipsis
//	08 str: a nested bytes value holding UTF-8
//	0a..0d bytes of length 1..4, then the bytes
//	0e u8 length, then bytes (5..255)      0f u32be length, then bytes (256+)
//	10..13 tuple of 1..4 items, then the items
//	14 u8 count, then items (5..255)       15 u32be count, then items (256+)
//	16 u8 length, then ASCII decimal       17 u32be length (text of 256+ characters)
//	18 float: binary64 big-endian          1b complex: real, imaginary binary64
//	19 slice: a 3-tuple (start, stop, step)
//	1a frozenset: a tuple of members
//	20..ef immediate int: value = tag - 0x50, covering -48..159
//
// Integers outside the immediate range are written as their decimal text, never in binary, so
// they have no size limit beyond CPython's own (4300 digits, [MaxIntDigits]). Lengths and counts
// pick the shortest form, and the str tag wraps a complete bytes value.
//
// An annotated dump of the 3-tuple (1, 160, 'héllo'):
//
//	12                    TUP3: three items follow
//	51                    immediate int: 0x51 - 0x50 = 1
//	16 03 31 36 30        INT_L1: 3 characters, "160"
//	08                    UNICODE: a bytes value follows
//	0e 06 68 c3 a9 6c 6c 6f   STR_L1: 6 bytes, UTF-8 for "héllo"
//
// # Go values
//
// [Load] returns, and [Append] accepts:
//
//	Python            Go (decoded)           Go (also accepted when encoding)
//	None              nil
//	bool              bool
//	int               int64, or *big.Int     int, int8..int32, uint..uint64, uintptr
//	                  beyond int64
//	float             float64                float32
//	complex           complex128             complex64
//	str               string                 (must be valid UTF-8)
//	bytes             []byte
//	tuple             Tuple
//	slice             Slice
//	frozenset         FrozenSet
//	NotImplemented    NotImplemented (a Singleton)
//	Ellipsis          Ellipsis (a Singleton)
//
// str and bytes are different types on the wire and stay different in Go: string is always str,
// []byte is always bytes. Other Go types are not dumpable; see [Dumpable].
//
// # Untrusted input
//
// The decoder treats its input as hostile: it checks every declared length and count against the
// bytes actually present before allocating, limits nesting ([MaxDepth]) and integer size
// ([MaxIntDigits]), and reports each problem as a [*SyntaxError] naming the offset and tag,
// wrapping a sentinel such as [ErrTruncated] or [ErrUnknownTag]. It never panics. It is stricter
// than Python's loader in two places, both documented at [Load]: trailing bytes and short bytes
// bodies are errors. Decoded values never alias the input buffer, unless the caller asks a
// [Decoder] to borrow large bytes values (Decoder.BorrowBytes).
//
// Checking lengths against the input is not enough, because decoded values are larger than their
// encoding: a one-byte tuple item becomes a 16-byte interface value, so a 200 KB zlib frame of
// one-byte ints would decode to over 3 GiB. Each decode therefore has a decoded-size budget,
// Decoder.MaxDecodedSize, [DefaultMaxDecodedSize] (64 MiB) unless set, counted in bytes of Go
// memory as the value is built and checked before each allocation: a value the budget cannot pay
// for fails with [ErrTooLarge] before its large part is allocated (a tuple from its count, a str
// or bytes from its length). [Decoder.LoadSized] reports what a successful decode counted, so that
// callers can charge it to a wider budget, and documents the accounting. The package-level [Load]
// and [Decode] use the default. Python's rpyc has no such limit.
//
// The limits and their defaults:
//
//	limit                    default                  Python
//	nesting depth            500 ([MaxDepth])         none (its recursion limit, ~495 levels)
//	integer digits           4300 ([MaxIntDigits])    sys.int_max_str_digits, 4300
//	decoded size             64 MiB                   none
//	                         ([DefaultMaxDecodedSize])
package brine
