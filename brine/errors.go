package brine

import (
	"errors"
	"fmt"
	"io"
)

// Sentinel errors. Decoding and encoding errors wrap one of these; test with [errors.Is].
var (
	// ErrTruncated means the input ended inside a value. It wraps [io.ErrUnexpectedEOF].
	ErrTruncated = fmt.Errorf("brine: truncated input: %w", io.ErrUnexpectedEOF)
	// ErrUnknownTag means a tag byte that brine does not define (0x07, 0x09, 0x1c-0x1f, 0xf0-0xff).
	ErrUnknownTag = errors.New("brine: unknown tag")
	// ErrTrailingData means [Load] found bytes after one complete value.
	ErrTrailingData = errors.New("brine: trailing data after value")
	// ErrTooDeep means tuples nested deeper than the decoder's or encoder's depth limit.
	ErrTooDeep = errors.New("brine: nesting too deep")
	// ErrIntTooLarge means an integer with more decimal digits than the limit (Python's own
	// int_max_str_digits, 4300 by default, refuses the same values).
	ErrIntTooLarge = errors.New("brine: integer too large")
	// ErrInvalidInt means integer text that Python's int() would not accept.
	ErrInvalidInt = errors.New("brine: invalid integer text")
	// ErrInvalidUTF8 means a str value whose bytes are not valid UTF-8.
	ErrInvalidUTF8 = errors.New("brine: str is not valid UTF-8")
	// ErrMalformed means a structurally wrong value: a str tag not followed by bytes, a slice not
	// followed by a 3-tuple, a frozenset not followed by a tuple.
	ErrMalformed = errors.New("brine: malformed value")
	// ErrNotDumpable means a Go value that brine cannot carry by value (see [Dumpable]).
	ErrNotDumpable = errors.New("brine: value is not dumpable")
	// ErrTooLong means a bytes, str or tuple longer than the 32-bit length field allows.
	ErrTooLong = errors.New("brine: value too long")
	// ErrTooLarge means a decoded value would occupy more Go memory than the decoder's budget
	// (Decoder.MaxDecodedSize, [DefaultMaxDecodedSize] by default). The decoder reports it before
	// allocating the part that does not fit.
	ErrTooLarge = errors.New("brine: decoded value too large")
)

// SyntaxError reports malformed input: what was wrong and where. Unwrap gives the sentinel.
type SyntaxError struct {
	Offset int   // byte offset of the value's tag in the input
	Tag    Tag   // tag of the value being decoded
	Err    error // one of the sentinel errors above
	Detail string
}

// Error describes what was wrong and where.
func (e *SyntaxError) Error() string {
	msg := e.Err.Error()
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return fmt.Sprintf("%s (tag %s at offset %d)", msg, e.Tag, e.Offset)
}

// Unwrap returns the sentinel error.
func (e *SyntaxError) Unwrap() error { return e.Err }

// EncodeError reports a Go value that could not be encoded, with its path inside the value
// (for example "[2][0]" for the first item of the third item of a tuple).
type EncodeError struct {
	Path string // location inside the value; "" for the value itself
	Type string // Go type of the offending value
	Err  error
}

// Error names the problem, the Go type and its path inside the value.
func (e *EncodeError) Error() string {
	where := ""
	if e.Path != "" {
		where = " at " + e.Path
	}
	return fmt.Sprintf("%v: %s%s", e.Err, e.Type, where)
}

// Unwrap returns the sentinel error.
func (e *EncodeError) Unwrap() error { return e.Err }

var (
	_ error = (*SyntaxError)(nil)
	_ error = (*EncodeError)(nil)
)
