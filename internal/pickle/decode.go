package pickle

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strings"
	"time"

	gopickle "github.com/nlpodyssey/gopickle/pickle"
	"github.com/nlpodyssey/gopickle/types"

	"github.com/gorpyc/rpyc/brine"
)

// maxDepth bounds the nesting of containers, as brine.MaxDepth does for brine.
const maxDepth = brine.MaxDepth

// Loads decodes one pickle (protocols 0 to 5) into the value model described in the package
// documentation. It never panics: a pickle that gopickle cannot read, or that holds values
// outside the model, returns an error.
func Loads(data []byte) (v any, err error) {
	n, err := Scan(data)
	if err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			// gopickle keeps sets and frozensets in Go maps, which panic on unhashable members
			// such as bytes; other panics would be gopickle bugs on input Scan accepted.
			v, err = nil, fmt.Errorf("%w: gopickle failed: %v", ErrUnsupported, r)
		}
	}()
	u := gopickle.NewUnpickler(bytes.NewReader(data[:n]))
	u.FindClass = findClass
	raw, err := u.Load()
	if err != nil {
		if errors.Is(err, ErrUnsupported) || errors.Is(err, ErrMalformed) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	c := converter{done: map[any]any{}, active: map[any]bool{}}
	return c.convert(raw, 0)
}

// global is a Python class or function that the value model has no counterpart for. It is
// callable and instantiable so that gopickle can go on; converting it (or an instance) fails.
type global struct {
	module, name string
}

func (g *global) String() string { return g.module + "." + g.name }

// Call implements types.Callable.
func (g *global) Call(args ...any) (any, error) { return &object{class: g}, nil }

// PyNew implements types.PyNewable.
func (g *global) PyNew(args ...any) (any, error) { return &object{class: g}, nil }

// object is an instance of a [global]. It absorbs whatever state or items the pickle gives it
// (gopickle needs those methods to go on); converting it fails with the class's name.
type object struct {
	class *global
}

func (o *object) PySetState(any) error        { return nil }
func (o *object) PyDictSet(_, _ any) error    { return nil }
func (o *object) PySetAttr(string, any) error { return nil }
func (o *object) Append(any)                  {}
func (o *object) Set(_, _ any)                {}
func (o *object) Add(any)                     {}
func (o *object) Call(...any) (any, error)    { return o, nil }
func (o *object) PyNew(...any) (any, error)   { return o, nil }

func (o *object) unsupported() error {
	return fmt.Errorf("%w: an instance of %s", ErrUnsupported, o.class)
}

func (g *global) unsupported() error {
	return fmt.Errorf("%w: %s (a class or function)", ErrUnsupported, g)
}

func callableFunc(f func(args []any) (any, error)) types.Callable { return callable(f) }

// callable adapts a Go function to gopickle's Callable.
type callable func(args []any) (any, error)

func (f callable) Call(args ...any) (any, error) { return f(args) }

// findClass resolves the globals the value model knows; anything else becomes a [global].
func findClass(module, name string) (any, error) {
	switch module + "." + name {
	case "builtins.complex", "__builtin__.complex":
		return callableFunc(makeComplex), nil
	case "builtins.bytearray", "__builtin__.bytearray":
		return callableFunc(makeByteArray), nil
	case "builtins.set", "__builtin__.set":
		return callableFunc(func(args []any) (any, error) { return makeSet(args, false) }), nil
	case "builtins.frozenset", "__builtin__.frozenset":
		return callableFunc(func(args []any) (any, error) { return makeSet(args, true) }), nil
	case "builtins.slice", "__builtin__.slice":
		return callableFunc(makeSlice), nil
	case "builtins.Ellipsis", "__builtin__.Ellipsis":
		return brine.Ellipsis, nil
	case "builtins.NotImplemented", "__builtin__.NotImplemented":
		return brine.NotImplemented, nil
	case "builtins.getattr", "__builtin__.getattr":
		return callableFunc(getAttr), nil
	case "collections.defaultdict":
		return callableFunc(func([]any) (any, error) { return types.NewDict(), nil }), nil
	case "datetime.datetime":
		return callableFunc(makeDateTime), nil
	case "datetime.date":
		return callableFunc(makeDate), nil
	case "datetime.time":
		return callableFunc(makeTime), nil
	case "datetime.timedelta":
		return callableFunc(makeTimedelta), nil
	case "datetime.timezone":
		return callableFunc(makeTimezone), nil
	case "zoneinfo.ZoneInfo._unpickle", "backports.zoneinfo.ZoneInfo._unpickle":
		return callableFunc(makeZoneInfo), nil
	case "_codecs.encode":
		// Protocols 0-2 write bytes (and datetime state) as _codecs.encode(text, 'latin1').
		return callableFunc(latin1Encode), nil
	case "decimal.Decimal", "_pydecimal.Decimal":
		return callableFunc(makeDecimal), nil
	}
	return &global{module: module, name: name}, nil
}

// getAttr implements builtins.getattr(cls, name) for the pickles that reach class attributes,
// such as zoneinfo's ZoneInfo._unpickle.
func getAttr(args []any) (any, error) {
	if len(args) < 2 {
		return nil, fmt.Errorf("%w: getattr with %d arguments", ErrMalformed, len(args))
	}
	name, ok := args[1].(string)
	g, isGlobal := args[0].(*global)
	if !ok || !isGlobal {
		return nil, fmt.Errorf("%w: getattr(%T, %T)", ErrUnsupported, args[0], args[1])
	}
	return findClass(g.module, g.name+"."+name)
}

func argErr(what string, args []any) error {
	kinds := make([]string, len(args))
	for i, a := range args {
		kinds[i] = fmt.Sprintf("%T", a)
	}
	return fmt.Errorf("%w: %s called with (%s)", ErrUnsupported, what, strings.Join(kinds, ", "))
}

func latin1Encode(args []any) (any, error) {
	if len(args) == 2 {
		if enc, ok := args[1].(string); ok && (enc == "latin1" || enc == "latin-1") {
			if b, ok := stateBytes(args[0], -1); ok {
				return b, nil
			}
		}
	}
	return nil, argErr("_codecs.encode", args)
}

// rawInt reads an integer argument as gopickle produces it.
func rawInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int:
		return int64(x), true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case *big.Int:
		if x.IsInt64() {
			return x.Int64(), true
		}
	}
	return 0, false
}

func rawFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case *big.Int:
		f, _ := new(big.Float).SetInt(x).Float64()
		return f, true
	}
	i, ok := rawInt(v)
	return float64(i), ok
}

func makeComplex(args []any) (any, error) {
	var re, im float64
	ok := len(args) >= 1 && len(args) <= 2
	if ok {
		re, ok = rawFloat(args[0])
	}
	if ok && len(args) == 2 {
		im, ok = rawFloat(args[1])
	}
	if !ok {
		return nil, argErr("complex", args)
	}
	return complex(re, im), nil
}

func makeByteArray(args []any) (any, error) {
	switch {
	case len(args) == 0:
		return ByteArray{}, nil
	case len(args) >= 1:
		switch x := args[0].(type) {
		case []byte:
			return ByteArray(x), nil
		case string: // protocol 0-2: bytearray(text, 'latin-1')
			b := make([]byte, 0, len(x))
			for _, r := range x {
				if r > 0xff {
					return nil, argErr("bytearray", args)
				}
				b = append(b, byte(r))
			}
			return ByteArray(b), nil
		}
	}
	return nil, argErr("bytearray", args)
}

func makeSet(args []any, frozen bool) (any, error) {
	var items []any
	if len(args) == 1 {
		switch x := args[0].(type) {
		case *types.List:
			items = *x
		case *types.Tuple:
			items = *x
		default:
			return nil, argErr("set", args)
		}
	} else if len(args) > 1 {
		return nil, argErr("set", args)
	}
	if frozen {
		return types.NewFrozenSetFromSlice(items), nil
	}
	return types.NewSetFromSlice(items), nil
}

func makeSlice(args []any) (any, error) {
	var s brine.Slice
	switch len(args) {
	case 1:
		s.Stop = args[0]
	case 2:
		s.Start, s.Stop = args[0], args[1]
	case 3:
		s.Start, s.Stop, s.Step = args[0], args[1], args[2]
	default:
		return nil, argErr("slice", args)
	}
	return s, nil
}

func makeDecimal(args []any) (any, error) {
	if len(args) == 1 {
		if s, ok := args[0].(string); ok {
			return Decimal(s), nil
		}
	}
	return nil, argErr("decimal.Decimal", args)
}

// stateBytes reads the packed state datetime objects pickle themselves with (bytes, or a
// latin-1 str in protocols 0-2) and checks its length (n < 0: any length).
func stateBytes(v any, n int) ([]byte, bool) {
	switch x := v.(type) {
	case []byte:
		return x, n < 0 || len(x) == n
	case string:
		b := make([]byte, 0, len(x))
		for _, r := range x {
			if r > 0xff {
				return nil, false
			}
			b = append(b, byte(r))
		}
		return b, n < 0 || len(b) == n
	}
	return nil, false
}

// tzArg reads an optional tzinfo argument: nil (naive) or a location built by makeTimezone or
// makeZoneInfo.
func tzArg(args []any, i int) (*time.Location, error) {
	if len(args) <= i || args[i] == nil {
		return nil, nil
	}
	switch x := args[i].(type) {
	case *time.Location:
		return x, nil
	case *object:
		return nil, fmt.Errorf("%w: tzinfo of class %s", ErrUnsupported, x.class)
	}
	return nil, fmt.Errorf("%w: tzinfo %T", ErrUnsupported, args[i])
}

func makeDateTime(args []any) (any, error) {
	if len(args) < 1 || len(args) > 2 {
		return nil, argErr("datetime.datetime", args)
	}
	b, ok := stateBytes(args[0], 10)
	if !ok {
		return nil, argErr("datetime.datetime", args)
	}
	loc, err := tzArg(args, 1)
	if err != nil {
		return nil, err
	}
	if loc == nil {
		loc = Naive
	}
	year := int(b[0])<<8 | int(b[1])
	month := time.Month(b[2] & 0x7f) // the high bit is the fold
	us := int(b[7])<<16 | int(b[8])<<8 | int(b[9])
	return time.Date(year, month, int(b[3]), int(b[4]), int(b[5]), int(b[6]), us*1000, loc), nil
}

func makeDate(args []any) (any, error) {
	if len(args) != 1 {
		return nil, argErr("datetime.date", args)
	}
	b, ok := stateBytes(args[0], 4)
	if !ok {
		return nil, argErr("datetime.date", args)
	}
	return Date{Year: int(b[0])<<8 | int(b[1]), Month: time.Month(b[2]), Day: int(b[3])}, nil
}

func makeTime(args []any) (any, error) {
	if len(args) < 1 || len(args) > 2 {
		return nil, argErr("datetime.time", args)
	}
	b, ok := stateBytes(args[0], 6)
	if !ok {
		return nil, argErr("datetime.time", args)
	}
	loc, err := tzArg(args, 1)
	if err != nil {
		return nil, err
	}
	return TimeOfDay{Hour: int(b[0] & 0x7f), Minute: int(b[1]), Second: int(b[2]),
		Microsecond: int(b[3])<<16 | int(b[4])<<8 | int(b[5]), Zone: loc}, nil
}

func makeTimedelta(args []any) (any, error) {
	var parts [3]int64
	if len(args) > 3 {
		return nil, argErr("datetime.timedelta", args)
	}
	for i, a := range args {
		v, ok := rawInt(a)
		if !ok {
			return nil, argErr("datetime.timedelta", args)
		}
		parts[i] = v
	}
	us := new(big.Int).Mul(big.NewInt(parts[0]), big.NewInt(86400_000_000))
	us.Add(us, new(big.Int).Mul(big.NewInt(parts[1]), big.NewInt(1_000_000)))
	us.Add(us, big.NewInt(parts[2]))
	ns := us.Mul(us, big.NewInt(1000))
	if !ns.IsInt64() {
		return nil, fmt.Errorf("%w: timedelta(%d, %d, %d) overflows time.Duration (±292 years)",
			ErrUnsupported, parts[0], parts[1], parts[2])
	}
	return time.Duration(ns.Int64()), nil
}

func makeTimezone(args []any) (any, error) {
	if len(args) < 1 || len(args) > 2 {
		return nil, argErr("datetime.timezone", args)
	}
	off, ok := args[0].(time.Duration)
	if !ok {
		return nil, argErr("datetime.timezone", args)
	}
	name := ""
	if len(args) == 2 {
		if name, ok = args[1].(string); !ok {
			return nil, argErr("datetime.timezone", args)
		}
	}
	if off == 0 && name == "" {
		return time.UTC, nil
	}
	return time.FixedZone(name, int(off/time.Second)), nil
}

func makeZoneInfo(args []any) (any, error) {
	if len(args) < 1 {
		return nil, argErr("zoneinfo.ZoneInfo", args)
	}
	key, ok := args[0].(string)
	if !ok {
		return nil, argErr("zoneinfo.ZoneInfo", args)
	}
	loc, err := time.LoadLocation(key)
	if err != nil {
		return nil, fmt.Errorf("%w: zoneinfo.ZoneInfo(%q): %w", ErrUnsupported, key, err)
	}
	return loc, nil
}

// converter turns gopickle's values into the value model. Containers are converted once (a
// shared sub-object stays shared) and a container met again while it is being converted is a
// cycle.
type converter struct {
	done   map[any]any
	active map[any]bool
}

func (c *converter) convert(v any, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("%w: nesting deeper than %d", ErrUnsupported, maxDepth)
	}
	switch x := v.(type) {
	case nil, bool, string, float64, complex128, Decimal, Date, time.Time, time.Duration,
		ByteArray, brine.Singleton:
		return v, nil
	case int:
		return int64(x), nil
	case *big.Int:
		if x.IsInt64() {
			return x.Int64(), nil
		}
		return x, nil
	case []byte:
		return x, nil
	case *types.ByteArray:
		return ByteArray(*x), nil
	case *time.Location:
		return x, nil
	case TimeOfDay:
		return x, nil
	case brine.Slice:
		var err error
		var s brine.Slice
		if s.Start, err = c.convert(x.Start, depth+1); err != nil {
			return nil, err
		}
		if s.Stop, err = c.convert(x.Stop, depth+1); err != nil {
			return nil, err
		}
		if s.Step, err = c.convert(x.Step, depth+1); err != nil {
			return nil, err
		}
		return s, nil
	case *global:
		return nil, x.unsupported()
	case *object:
		return nil, x.unsupported()
	case *types.GenericClass:
		return nil, fmt.Errorf("%w: %s.%s (a class or function)", ErrUnsupported, x.Module, x.Name)
	case *types.GenericObject:
		return nil, fmt.Errorf("%w: an instance of %s.%s", ErrUnsupported, x.Class.Module, x.Class.Name)
	case *types.Tuple, *types.List, *types.Dict, *types.OrderedDict, *types.Set, *types.FrozenSet:
		return c.container(v, depth)
	}
	return nil, fmt.Errorf("%w: gopickle value %T", ErrUnsupported, v)
}

func (c *converter) container(v any, depth int) (any, error) {
	if out, ok := c.done[v]; ok {
		return out, nil
	}
	if c.active[v] {
		return nil, fmt.Errorf("%w: a %s contains itself", ErrRecursive, pyKind(v))
	}
	c.active[v] = true
	defer delete(c.active, v)
	items := func(in []any) ([]any, error) {
		out := make([]any, len(in))
		for i, it := range in {
			cv, err := c.convert(it, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = cv
		}
		return out, nil
	}
	var out any
	var err error
	switch x := v.(type) {
	case *types.Tuple:
		var t []any
		t, err = items(*x)
		out = brine.Tuple(t)
	case *types.List:
		out, err = items(*x)
	case *types.Dict:
		d := make(Dict, 0, len(*x))
		for _, e := range *x {
			var k, val any
			if k, err = c.convert(e.Key, depth+1); err != nil {
				return nil, err
			}
			if val, err = c.convert(e.Value, depth+1); err != nil {
				return nil, err
			}
			d = append(d, Item{Key: k, Value: val})
		}
		out = d
	case *types.OrderedDict:
		d := make(Dict, 0, x.Len())
		for el := x.List.Front(); el != nil; el = el.Next() {
			e := el.Value.(*types.OrderedDictEntry)
			var k, val any
			if k, err = c.convert(e.Key, depth+1); err != nil {
				return nil, err
			}
			if val, err = c.convert(e.Value, depth+1); err != nil {
				return nil, err
			}
			d = append(d, Item{Key: k, Value: val})
		}
		out = d
	case *types.Set:
		var s []any
		for k := range *x {
			s = append(s, k)
		}
		if s, err = items(s); err == nil {
			sortMembers(s)
			out = Set(s)
		}
	case *types.FrozenSet:
		var s []any
		for k := range *x {
			s = append(s, k)
		}
		if s, err = items(s); err == nil {
			sortMembers(s)
			out = brine.FrozenSet(s)
		}
	}
	if err != nil {
		return nil, err
	}
	c.done[v] = out
	return out, nil
}

func pyKind(v any) string {
	switch v.(type) {
	case *types.Tuple:
		return "tuple"
	case *types.List:
		return "list"
	case *types.Dict, *types.OrderedDict:
		return "dict"
	}
	return "set"
}

// sortMembers orders set members deterministically: numbers (by value), then str, then bytes,
// then everything else by its Go representation.
func sortMembers(s []any) {
	rank := func(v any) int {
		switch v.(type) {
		case nil:
			return 0
		case bool:
			return 1
		case int64, *big.Int, float64:
			return 2
		case string:
			return 3
		case []byte:
			return 4
		}
		return 5
	}
	num := func(v any) *big.Float {
		switch x := v.(type) {
		case int64:
			return new(big.Float).SetInt64(x)
		case *big.Int:
			return new(big.Float).SetInt(x)
		case float64:
			if math.IsNaN(x) {
				return new(big.Float).SetInf(true) // NaN first
			}
			return big.NewFloat(x)
		}
		return new(big.Float)
	}
	slices.SortStableFunc(s, func(a, b any) int {
		ra, rb := rank(a), rank(b)
		if ra != rb {
			return cmp.Compare(ra, rb)
		}
		switch ra {
		case 1:
			return cmp.Compare(fmt.Sprint(a), fmt.Sprint(b))
		case 2:
			return num(a).Cmp(num(b))
		case 3:
			return cmp.Compare(a.(string), b.(string))
		case 4:
			return bytes.Compare(a.([]byte), b.([]byte))
		case 5:
			return cmp.Compare(fmt.Sprintf("%T %v", a, a), fmt.Sprintf("%T %v", b, b))
		}
		return 0
	})
}
