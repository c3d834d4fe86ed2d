package pickle

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// Errors returned by this package, always wrapped with context: test with errors.Is.
var (
	// ErrMalformed means the data is not a well-formed pickle (truncated, an unknown opcode, a
	// length beyond the data, a memo reference to nothing).
	ErrMalformed = errors.New("pickle: malformed pickle")
	// ErrUnsupported means the pickle (or the Go value) holds something outside the value model:
	// the error names the Python class or the Go type.
	ErrUnsupported = errors.New("pickle: unsupported value")
	// ErrRecursive means a container contains itself.
	ErrRecursive = errors.New("pickle: recursive structure")
)

// Scan checks that data starts with one well-formed pickle and returns its length (up to and
// including STOP): every opcode is known, every inline argument and frame lies within data,
// every memo read refers to an entry written before, and the protocol is at most
// [HighestProtocol]. It does not interpret the pickle; it guarantees that decoding it allocates
// no more than len(data) bytes for strings and bytes.
func Scan(data []byte) (int, error) {
	memo := map[uint64]struct{}{}
	memoNext := uint64(0)
	bad := func(off int, format string, args ...any) (int, error) {
		return 0, fmt.Errorf("%w: offset %d: %s", ErrMalformed, off, fmt.Sprintf(format, args...))
	}
	for off := 0; off < len(data); {
		op := data[off]
		info := opTable[op]
		if info.name == "" {
			return bad(off, "unknown opcode 0x%02x", op)
		}
		argOff := off + 1
		var arg []byte
		switch info.kind {
		case argNone:
		case argFixed:
			if len(data)-argOff < info.fixed {
				return bad(off, "%s: truncated argument", info.name)
			}
			arg = data[argOff : argOff+info.fixed]
			argOff += info.fixed
		case argLine, argTwoLines:
			lines := 1
			if info.kind == argTwoLines {
				lines = 2
			}
			start := argOff
			for range lines {
				i := bytes.IndexByte(data[argOff:], '\n')
				if i < 0 {
					return bad(off, "%s: unterminated line", info.name)
				}
				argOff += i + 1
			}
			arg = data[start:argOff]
		case argLen1, argLen4, argLen8:
			width := map[argKind]int{argLen1: 1, argLen4: 4, argLen8: 8}[info.kind]
			if len(data)-argOff < width {
				return bad(off, "%s: truncated length", info.name)
			}
			var n uint64
			switch width {
			case 1:
				n = uint64(data[argOff])
			case 4:
				u := binary.LittleEndian.Uint32(data[argOff:])
				if (op == opBinString || op == opLong4) && int32(u) < 0 {
					return bad(off, "%s: negative length", info.name)
				}
				n = uint64(u)
			case 8:
				n = binary.LittleEndian.Uint64(data[argOff:])
			}
			argOff += width
			if n > uint64(len(data)-argOff) {
				return bad(off, "%s: length %d beyond the end of the data", info.name, n)
			}
			if (op == opLong1 || op == opLong4) && n == 0 {
				// Valid (it means 0) but never written by Python, and gopickle cannot read it.
				return 0, fmt.Errorf("%w: offset %d: %s with no bytes", ErrUnsupported, off, info.name)
			}
			arg = data[argOff : argOff+int(n)]
			argOff += int(n)
		}
		switch op {
		case opStop:
			return off + 1, nil
		case opProto:
			if arg[0] > HighestProtocol {
				return bad(off, "protocol %d is newer than %d", arg[0], HighestProtocol)
			}
		case opFrame:
			if n := binary.LittleEndian.Uint64(arg); n > uint64(len(data)-argOff) {
				return bad(off, "FRAME of %d bytes beyond the end of the data", n)
			}
		case opMemoize:
			memo[memoNext] = struct{}{}
			memoNext = uint64(len(memo))
		case opBinPut, opLongBinPut, opPut, opBinGet, opLongBinGet, opGet:
			var idx uint64
			switch op {
			case opBinPut, opBinGet:
				idx = uint64(arg[0])
			case opLongBinPut, opLongBinGet:
				idx = uint64(binary.LittleEndian.Uint32(arg))
			default:
				if _, err := fmt.Sscanf(string(arg), "%d\n", &idx); err != nil {
					return bad(off, "%s: bad index %q", info.name, arg)
				}
			}
			if op == opBinPut || op == opLongBinPut || op == opPut {
				memo[idx] = struct{}{}
				memoNext = uint64(len(memo))
			} else if _, ok := memo[idx]; !ok {
				return bad(off, "%s %d: no such memo entry", info.name, idx)
			}
		}
		off = argOff
	}
	return bad(len(data), "no STOP opcode")
}
