package brine

import (
	"encoding/binary"
	"math/big"
	"math/bits"
)

// bigText parses integer text that the int64 fast paths did not take: more than 18 digits, or
// text that is not canonical. Canonical text (an optional '-' and digits, what every encoder
// writes) is parsed in place; anything else goes through Python's int() grammar first.
func (st *decodeState) bigText(b []byte, at int, tag Tag) (any, error) {
	neg := len(b) > 0 && b[0] == '-'
	digits := b
	if neg {
		digits = b[1:]
	}
	if len(digits) == 0 || !allDigits(digits) {
		var err error
		if digits, neg, err = st.pythonIntText(b, at, tag); err != nil {
			return nil, err
		}
	}
	nd := len(digits)
	if nd > st.maxDigits {
		return nil, st.fail(at, tag, ErrIntTooLarge, itoa(nd)+" digits, limit "+itoa(st.maxDigits))
	}
	if nd <= 18 {
		if err := st.charge(sizeWord, at, tag); err != nil {
			return nil, err
		}
		v := int64(parseDigits(digits))
		if neg {
			v = -v
		}
		return st.boxInt(v), nil
	}
	// log2(10) < 3.322 bits per digit.
	words := nd*3322/1000/64 + 1
	if err := st.charge(sizeBigInt+sizeWord*int64(words+bigIntSpare), at, tag); err != nil {
		return nil, err
	}
	x := new(big.Int).SetBits(decimalWords(digits, words))
	if neg {
		x.Neg(x)
	}
	if x.IsInt64() {
		return st.boxInt(x.Int64()), nil
	}
	return x, nil
}

// pythonIntText applies the grammar of Python's int() on bytes: optional surrounding ASCII
// whitespace, an optional sign, decimal digits with single underscores between them. It returns
// the digits alone, in a new buffer.
func (st *decodeState) pythonIntText(b []byte, at int, tag Tag) (digits []byte, neg bool, err error) {
	isSpace := func(c byte) bool { return c == ' ' || (c >= '\t' && c <= '\r') }
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		b = b[1:]
	}
	if len(b) == 0 {
		return nil, false, st.fail(at, tag, ErrInvalidInt, "no digits")
	}
	digits = make([]byte, 0, len(b))
	prevDigit := false
	for i, c := range b {
		switch {
		case c >= '0' && c <= '9':
			digits = append(digits, c)
			prevDigit = true
		case c == '_' && prevDigit && i+1 < len(b) && b[i+1] >= '0' && b[i+1] <= '9':
			prevDigit = false
		default:
			return nil, false, st.fail(at, tag, ErrInvalidInt, "unexpected byte "+quoteByte(c))
		}
	}
	return digits, neg, nil
}

const (
	ascii0s  = 0x3030303030303030
	highBits = 0x8080808080808080
)

// allDigits reports whether b is all ASCII decimal digits, eight bytes at a time.
func allDigits(b []byte) bool {
	for len(b) >= 8 {
		w := binary.LittleEndian.Uint64(b)
		// A byte is a digit if subtracting '0' does not borrow and adding 0x46 ('9'+0x46 = 0x7f)
		// does not reach the high bit.
		if ((w-ascii0s)|(w+0x4646464646464646))&highBits != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c-'0' > 9 {
			return false
		}
	}
	return true
}

// eightDigits returns the value of eight ASCII digits (validated by the caller).
func eightDigits(b []byte) uint64 {
	w := binary.LittleEndian.Uint64(b) - ascii0s
	w = (w*10 + w>>8) & 0x00ff00ff00ff00ff
	w = (w*100 + w>>16) & 0x0000ffff0000ffff
	return (w*10000 + w>>32) & 0xffffffff
}

// parseDigits returns the value of at most 19 validated ASCII digits.
func parseDigits(b []byte) uint64 {
	var v uint64
	for len(b) >= 8 {
		v = v*1e8 + eightDigits(b)
		b = b[8:]
	}
	for _, c := range b {
		v = v*10 + uint64(c-'0')
	}
	return v
}

// decimalWords returns the magnitude of validated decimal digits as big.Int words (little-endian),
// 19 digits (one multiply-add pass over the words) at a time. words is the expected length.
func decimalWords(digits []byte, words int) []big.Word {
	z := make([]big.Word, 0, words)
	first := len(digits) % 19
	if first == 0 {
		first = 19
	}
	for chunk := digits[:first]; ; {
		carry := uint64(parseDigits(chunk))
		for i, w := range z {
			hi, lo := bits.Mul64(uint64(w), 1e19)
			lo, c := bits.Add64(lo, carry, 0)
			z[i] = big.Word(lo)
			carry = hi + c
		}
		if carry != 0 || len(z) == 0 {
			z = append(z, big.Word(carry))
		}
		digits = digits[len(chunk):]
		if len(digits) == 0 {
			break
		}
		chunk = digits[:19]
	}
	return z
}
