package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/gorpyc/rpyc/brine"
	"github.com/gorpyc/rpyc/classic"
)

// pyRepr renders a value received by value the way Python's repr() does.
func pyRepr(v any) string {
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
	case brine.Tuple:
		parts := make([]string, len(x))
		for i, it := range x {
			parts[i] = pyRepr(it)
		}
		if len(parts) == 1 {
			return "(" + parts[0] + ",)"
		}
		return "(" + strings.Join(parts, ", ") + ")"
	case brine.FrozenSet:
		if len(x) == 0 {
			return "frozenset()"
		}
		parts := make([]string, len(x))
		for i, it := range x {
			parts[i] = pyRepr(it)
		}
		return "frozenset({" + strings.Join(parts, ", ") + "})"
	case brine.Slice:
		return "slice(" + pyRepr(x.Start) + ", " + pyRepr(x.Stop) + ", " + pyRepr(x.Step) + ")"
	case brine.Singleton:
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

// jsonValue converts a value of the classic value model (or a brine value) to what
// encoding/json writes: lists, tuples and sets → arrays; dicts → objects when every key is a
// str, arrays of [key, value] pairs otherwise; bytes → base64 text; big ints → numbers; floats
// that JSON lacks (NaN, ±Infinity) → those names as strings; datetimes → RFC 3339 text (naive
// ones without an offset); dates and times → ISO text; timedeltas → seconds; decimals → text;
// complex → {"real": r, "imag": i}.
func jsonValue(v any) (any, error) {
	switch x := v.(type) {
	case nil, bool, int64, string:
		return x, nil
	case *big.Int:
		return json.Number(x.String()), nil
	case float64:
		switch {
		case math.IsNaN(x):
			return "NaN", nil
		case math.IsInf(x, 1):
			return "Infinity", nil
		case math.IsInf(x, -1):
			return "-Infinity", nil
		}
		return x, nil
	case complex128:
		re, _ := jsonValue(real(x))
		im, _ := jsonValue(imag(x))
		return map[string]any{"real": re, "imag": im}, nil
	case []byte:
		return base64.StdEncoding.EncodeToString(x), nil
	case classic.ByteArray:
		return base64.StdEncoding.EncodeToString(x), nil
	case brine.Tuple:
		return jsonSeq(x)
	case []any:
		return jsonSeq(x)
	case classic.Set:
		return jsonSeq(x)
	case brine.FrozenSet:
		return jsonSeq(x)
	case classic.Dict:
		if m, ok := x.StringMap(); ok {
			out := make(map[string]any, len(m))
			for k, it := range m {
				j, err := jsonValue(it)
				if err != nil {
					return nil, err
				}
				out[k] = j
			}
			return orderedObject{keys: x.Keys(), m: out}, nil
		}
		pairs := make([]any, len(x))
		for i, it := range x {
			k, err := jsonValue(it.Key)
			if err != nil {
				return nil, err
			}
			val, err := jsonValue(it.Value)
			if err != nil {
				return nil, err
			}
			pairs[i] = []any{k, val}
		}
		return pairs, nil
	case brine.Slice:
		return jsonSeq([]any{x.Start, x.Stop, x.Step})
	case brine.Singleton:
		return x.String(), nil
	case classic.Decimal:
		return string(x), nil
	case classic.Date:
		return x.String(), nil
	case classic.TimeOfDay:
		return x.String(), nil
	case time.Time:
		if x.Location() == classic.Naive {
			return x.Format("2006-01-02T15:04:05.999999"), nil
		}
		return x.Format(time.RFC3339Nano), nil
	case time.Duration:
		return x.Seconds(), nil
	case *time.Location:
		return x.String(), nil
	}
	return nil, fmt.Errorf("no JSON form for %T", v)
}

func jsonSeq(items []any) (any, error) {
	out := make([]any, len(items))
	for i, it := range items {
		j, err := jsonValue(it)
		if err != nil {
			return nil, err
		}
		out[i] = j
	}
	return out, nil
}

// orderedObject is a JSON object that keeps the dict's key order.
type orderedObject struct {
	keys []any
	m    map[string]any
}

func (o orderedObject) MarshalJSON() ([]byte, error) {
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		key, _ := json.Marshal(k.(string))
		val, err := json.Marshal(o.m[k.(string)])
		if err != nil {
			return nil, err
		}
		b.Write(key)
		b.WriteByte(':')
		b.Write(val)
	}
	b.WriteByte('}')
	return []byte(b.String()), nil
}

// humanBytes formats a byte count with binary-free SI units, as transfer summaries show them.
func humanBytes(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.1f GB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%d B", n)
}
