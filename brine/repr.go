package brine

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode"
)

// Repr renders a value of the model the way Python's repr() does: None, True, 1.5, 1e+16,
// (1+2j), 'text' with Python's quoting and escapes, b'\x00', (1,), frozenset({1}),
// slice(None, 5, None), Ellipsis. A Go value outside the model is printed with fmt.Sprint.
func Repr(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case int64:
		return strconv.FormatInt(x, 10)
	case *big.Int:
		return x.String()
	case float64:
		return pyFloat(x)
	case complex128:
		return pyComplex(x)
	case string:
		return pyQuote(x, false)
	case []byte:
		return "b" + pyQuote(string(x), true)
	case Tuple:
		parts := make([]string, len(x))
		for i, it := range x {
			parts[i] = Repr(it)
		}
		if len(parts) == 1 {
			return "(" + parts[0] + ",)"
		}
		return "(" + strings.Join(parts, ", ") + ")"
	case FrozenSet:
		if len(x) == 0 {
			return "frozenset()"
		}
		parts := make([]string, len(x))
		for i, it := range x {
			parts[i] = Repr(it)
		}
		return "frozenset({" + strings.Join(parts, ", ") + "})"
	case Slice:
		return "slice(" + Repr(x.Start) + ", " + Repr(x.Stop) + ", " + Repr(x.Step) + ")"
	case Singleton:
		return x.String()
	}
	return fmt.Sprint(v)
}

// pyFloat formats like Python's float repr: the shortest text that reads back, in positional
// notation for exponents -4 to 15 (with at least one decimal), scientific otherwise.
func pyFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64) // d.ddde±XX
	mant, expText, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(expText)
	if exp < -4 || exp >= 16 {
		sign := "+"
		if exp < 0 {
			sign, exp = "-", -exp
		}
		return fmt.Sprintf("%se%s%02d", mant, sign, exp)
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".") {
		s += ".0"
	}
	return s
}

// pyComplex formats like Python's complex repr: 2j, (1+2j), (1.5-0j).
func pyComplex(c complex128) string {
	im := func(f float64) string {
		s := pyFloat(f)
		return strings.TrimSuffix(s, ".0")
	}
	re, imv := real(c), imag(c)
	if re == 0 && !math.Signbit(re) {
		return im(imv) + "j"
	}
	sign := "+"
	if math.Signbit(imv) && !math.IsNaN(imv) {
		sign = "-"
		imv = -imv
	}
	return "(" + im(re) + sign + im(imv) + "j)"
}

// pyQuote quotes text like Python's repr of a str (or, with bytes, of a bytes object whose
// bytes are the string's bytes).
func pyQuote(s string, bytes bool) string {
	quote := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		quote = '"'
	}
	var b strings.Builder
	b.WriteByte(quote)
	write := func(r rune, raw byte, isByte bool) {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == rune(quote):
			b.WriteByte('\\')
			b.WriteByte(quote)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case isByte && (raw < 0x20 || raw >= 0x7f):
			fmt.Fprintf(&b, `\x%02x`, raw)
		case !isByte && r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case !isByte && !unicode.IsPrint(r) && r != ' ':
			switch {
			case r <= 0xff:
				fmt.Fprintf(&b, `\x%02x`, r)
			case r <= 0xffff:
				fmt.Fprintf(&b, `\u%04x`, r)
			default:
				fmt.Fprintf(&b, `\U%08x`, r)
			}
		default:
			b.WriteRune(r)
		}
	}
	if bytes {
		for i := 0; i < len(s); i++ {
			write(rune(s[i]), s[i], true)
		}
	} else {
		for _, r := range s {
			write(r, 0, false)
		}
	}
	b.WriteByte(quote)
	return b.String()
}
