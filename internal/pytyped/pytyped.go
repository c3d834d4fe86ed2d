// Package pytyped reads the typed JSON form in which the Python test scripts of tox-interop/
// (literal_cases.py, goclient_service.py) describe Python values exactly, for tests that compare
// what gorpyc copied with what Python had.
package pytyped

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strconv"

	"github.com/gorpyc/rpyc/brine"
	"github.com/gorpyc/rpyc/internal/pickle"
)

type typedJSON struct {
	T string          `json:"t"`
	V json.RawMessage `json:"v"`
}

// FromJSON decodes the typed form of tox-interop/literal_cases.py (typedvalue.py's, plus list,
// dict, set and bytearray) into the value model of netref.Copy and classic.Obtain.
func FromJSON(raw json.RawMessage) (any, error) {
	var tv typedJSON
	if err := json.Unmarshal(raw, &tv); err != nil {
		return nil, err
	}
	list := func() ([]any, error) {
		var items []json.RawMessage
		if err := json.Unmarshal(tv.V, &items); err != nil {
			return nil, err
		}
		out := make([]any, len(items))
		for i, it := range items {
			v, err := FromJSON(it)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	}
	var s string
	switch tv.T {
	case "none":
		return nil, nil
	case "bool":
		var b bool
		err := json.Unmarshal(tv.V, &b)
		return b, err
	case "int":
		if err := json.Unmarshal(tv.V, &s); err != nil {
			return nil, err
		}
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n, nil
		}
		b, ok := new(big.Int).SetString(s, 10)
		if !ok {
			return nil, fmt.Errorf("int %q", s)
		}
		return b, nil
	case "float":
		if err := json.Unmarshal(tv.V, &s); err != nil {
			return nil, err
		}
		return bitsOf(s)
	case "complex":
		var parts [2]string
		if err := json.Unmarshal(tv.V, &parts); err != nil {
			return nil, err
		}
		re, err := bitsOf(parts[0])
		if err != nil {
			return nil, err
		}
		im, err := bitsOf(parts[1])
		return complex(re, im), err
	case "str":
		err := json.Unmarshal(tv.V, &s)
		return s, err
	case "bytes", "bytearray":
		if err := json.Unmarshal(tv.V, &s); err != nil {
			return nil, err
		}
		b, err := hex.DecodeString(s)
		if tv.T == "bytearray" {
			return pickle.ByteArray(b), err
		}
		return b, err
	case "tuple":
		l, err := list()
		return brine.Tuple(l), err
	case "frozenset":
		l, err := list()
		return brine.FrozenSet(l), err
	case "list":
		return list()
	case "set":
		l, err := list()
		return pickle.Set(l), err
	case "dict":
		var pairs [][2]json.RawMessage
		if err := json.Unmarshal(tv.V, &pairs); err != nil {
			return nil, err
		}
		d := pickle.Dict{}
		for _, kv := range pairs {
			k, err := FromJSON(kv[0])
			if err != nil {
				return nil, err
			}
			v, err := FromJSON(kv[1])
			if err != nil {
				return nil, err
			}
			d = append(d, pickle.Item{Key: k, Value: v})
		}
		return d, nil
	case "notimplemented":
		return brine.NotImplemented, nil
	case "ellipsis":
		return brine.Ellipsis, nil
	}
	return nil, fmt.Errorf("typed %q", tv.T)
}

func bitsOf(h string) (float64, error) {
	u, err := strconv.ParseUint(h, 16, 64)
	return math.Float64frombits(u), err
}

// Equal compares two values of the model exactly (types, float bits), NaNs being equal to
// each other (repr() does not keep a NaN's payload or sign).
func Equal(a, b any) bool {
	if reflect.TypeOf(a) != reflect.TypeOf(b) {
		return false
	}
	seq := func(x, y []any) bool {
		if len(x) != len(y) {
			return false
		}
		for i := range x {
			if !Equal(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	switch x := a.(type) {
	case float64:
		y := b.(float64)
		return math.IsNaN(x) && math.IsNaN(y) || math.Float64bits(x) == math.Float64bits(y)
	case complex128:
		y := b.(complex128)
		return Equal(real(x), real(y)) && Equal(imag(x), imag(y))
	case *big.Int:
		return x.Cmp(b.(*big.Int)) == 0
	case []byte:
		return bytes.Equal(x, b.([]byte))
	case pickle.ByteArray:
		return bytes.Equal(x, b.(pickle.ByteArray))
	case []any:
		return seq(x, b.([]any))
	case brine.Tuple:
		return seq(x, b.(brine.Tuple))
	case brine.FrozenSet:
		return seq(x, b.(brine.FrozenSet))
	case pickle.Set:
		return seq(x, b.(pickle.Set))
	case pickle.Dict:
		y := b.(pickle.Dict)
		if len(x) != len(y) {
			return false
		}
		for i := range x {
			if !Equal(x[i].Key, y[i].Key) || !Equal(x[i].Value, y[i].Value) {
				return false
			}
		}
		return true
	}
	return a == b
}
