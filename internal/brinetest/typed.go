// Package brinetest reads the typed JSON form of brine values written by the Python side of the
// test suite (tox-interop/typedvalue.py) and generates random brine values. It is for tests only.
package brinetest

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strconv"

	"github.com/gorpyc/rpyc/brine"
)

// Typed is one value in typed JSON: {"t": TYPE, "v": ...}.
type Typed struct {
	T string          `json:"t"`
	V json.RawMessage `json:"v,omitempty"`
}

// FromTyped converts typed JSON to the brine Go value model.
func FromTyped(t Typed) (any, error) {
	switch t.T {
	case "none":
		return nil, nil
	case "notimplemented":
		return brine.NotImplemented, nil
	case "ellipsis":
		return brine.Ellipsis, nil
	case "bool":
		var b bool
		err := json.Unmarshal(t.V, &b)
		return b, err
	case "int":
		var s string
		if err := json.Unmarshal(t.V, &s); err != nil {
			return nil, err
		}
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return i, nil
		}
		x, ok := new(big.Int).SetString(s, 10)
		if !ok {
			return nil, fmt.Errorf("brinetest: bad int %q", s)
		}
		return x, nil
	case "float":
		var s string
		if err := json.Unmarshal(t.V, &s); err != nil {
			return nil, err
		}
		return bitsFloat(s)
	case "complex":
		var s [2]string
		if err := json.Unmarshal(t.V, &s); err != nil {
			return nil, err
		}
		re, err := bitsFloat(s[0])
		if err != nil {
			return nil, err
		}
		im, err := bitsFloat(s[1])
		return complex(re, im), err
	case "str":
		var s string
		err := json.Unmarshal(t.V, &s)
		return s, err
	case "bytes":
		var s string
		if err := json.Unmarshal(t.V, &s); err != nil {
			return nil, err
		}
		b, err := hex.DecodeString(s)
		if b == nil {
			b = []byte{}
		}
		return b, err
	case "tuple", "frozenset", "slice":
		var items []Typed
		if err := json.Unmarshal(t.V, &items); err != nil {
			return nil, err
		}
		vals := make([]any, len(items))
		for i, it := range items {
			v, err := FromTyped(it)
			if err != nil {
				return nil, err
			}
			vals[i] = v
		}
		switch t.T {
		case "tuple":
			return brine.Tuple(vals), nil
		case "frozenset":
			return brine.FrozenSet(vals), nil
		}
		if len(vals) != 3 {
			return nil, fmt.Errorf("brinetest: slice needs 3 members, got %d", len(vals))
		}
		return brine.Slice{Start: vals[0], Stop: vals[1], Step: vals[2]}, nil
	}
	return nil, fmt.Errorf("brinetest: unknown typed value %q", t.T)
}

func bitsFloat(s string) (float64, error) {
	u, err := strconv.ParseUint(s, 16, 64)
	if err != nil {
		return 0, fmt.Errorf("brinetest: bad float bits %q: %w", s, err)
	}
	return math.Float64frombits(u), nil
}
