package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strings"
	"time"

	"github.com/gorpyc/rpyc/brine"
	"github.com/gorpyc/rpyc/classic"
)

// pyRepr renders a value received by value the way Python's repr() does.
func pyRepr(v any) string { return brine.Repr(v) }

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
