package pyobj

import (
	"context"
	"fmt"
	"math/big"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorpyc/rpyc/brine"
	"github.com/gorpyc/rpyc/internal/convert"
	"github.com/gorpyc/rpyc/protocol"
)

// Params marks a struct as a parameter struct when embedded in it: the struct, as the last
// parameter of a Go function or method, declares Python parameters after the function's
// positional ones, one per exported field, keyword-or-positional as in `def f(a, b=1, c=2)`.
// A struct whose fields use the parameter options of the `rpyc` tag (required, kwonly, args,
// kwargs, default=) is a parameter struct without embedding Params.
//
//	type GreetArgs struct {
//		pyobj.Params
//		Name     string `rpyc:",required"`
//		Greeting string `rpyc:",default=Hello"`
//		Punct    string `rpyc:",default=!"`
//	}
//	func (s *Service) Greet(a GreetArgs) string // def greet(name, greeting="Hello", punct="!")
//
// Python's greet("bob"), greet("bob", "Hi"), greet(name="bob", punct="?") and greet("bob",
// greeting="") all work as in Python; greet() raises TypeError: greet() missing 1 required
// positional argument: 'name'. See the package documentation for the options.
type Params struct{}

var paramsType = reflect.TypeFor[Params]()

// paramField is one Python parameter declared by a field of a parameter struct.
type paramField struct {
	name     string
	goName   string
	index    []int
	typ      reflect.Type
	required bool
	kwonly   bool
	def      *reflect.Value // the parsed default (a fresh copy is set per call for pointers)
	defText  string
}

// paramStruct describes a struct parameter: declared (a parameter struct) or not (an options
// struct filled by keyword only, or converted whole from one positional value).
type paramStruct struct {
	typ      reflect.Type // the struct type
	declared bool
	fields   []paramField
	byName   map[string]int
	npos     int // fields that positional arguments fill: those before args and kwonly ones
	required int // required fields among the first npos
	args     int // index of the field receiving extra positional arguments (*args), or -1
	kwargs   int // index of the field receiving extra keyword arguments (**kwargs), or -1
	err      error
}

// fnSpec is how a Go function's parameters take Python arguments.
type fnSpec struct {
	ctx      bool           // a first context.Context parameter
	pos      []reflect.Type // positional parameters
	variadic reflect.Type   // the ...T parameter's slice type
	ps       *paramStruct   // a last struct parameter
	psType   reflect.Type   // its type: ps.typ or a pointer to it
}

var (
	fnCache     sync.Map // reflect.Type (func) -> *fnSpec
	structCache sync.Map // reflect.Type (struct) -> *paramStruct
)

func specFor(ft reflect.Type) *fnSpec {
	if v, ok := fnCache.Load(ft); ok {
		return v.(*fnSpec)
	}
	fs := &fnSpec{}
	n := ft.NumIn()
	i := 0
	if n > 0 && ft.In(0) == ctxType {
		fs.ctx = true
		i = 1
	}
	last := n
	if ft.IsVariadic() {
		fs.variadic = ft.In(n - 1)
		last = n - 1
	} else if last > i {
		t := ft.In(last - 1)
		st := t
		if st.Kind() == reflect.Pointer {
			st = st.Elem()
		}
		if st.Kind() == reflect.Struct {
			// A struct with fields Python can fill: not *netref.Ref and the like.
			if ps := structFor(st); len(ps.fields) > 0 || ps.declared {
				fs.ps, fs.psType = ps, t
				last--
			}
		}
	}
	for ; i < last; i++ {
		fs.pos = append(fs.pos, ft.In(i))
	}
	v, _ := fnCache.LoadOrStore(ft, fs)
	return v.(*fnSpec)
}

// paramOptions are the tag options that make a struct a parameter struct.
var paramOptions = []string{"required", "kwonly", "args", "kwargs"}

func structFor(st reflect.Type) *paramStruct {
	if v, ok := structCache.Load(st); ok {
		return v.(*paramStruct)
	}
	ps := &paramStruct{typ: st, byName: map[string]int{}, args: -1, kwargs: -1}
	var renames map[string]string
	if n, ok := reflect.New(st).Interface().(Names); ok {
		renames = n.RPyCNames()
	}
	for _, f := range reflect.VisibleFields(st) {
		if f.Anonymous && f.Type == paramsType {
			ps.declared = true
			continue
		}
		if !f.IsExported() || f.Anonymous {
			continue
		}
		name, opts, ok := convert.FieldDecl(f, renames)
		if !ok {
			continue
		}
		pf := paramField{name: name, goName: f.Name, index: f.Index, typ: f.Type}
		for _, o := range paramOptions {
			if convert.HasOption(opts, o) {
				ps.declared = true
			}
		}
		pf.required = convert.HasOption(opts, "required")
		pf.kwonly = convert.HasOption(opts, "kwonly")
		if text, ok := convert.OptionValue(opts, "default"); ok {
			ps.declared = true
			pf.defText = text
			dv, err := parseDefault(text, f.Type)
			if err != nil && ps.err == nil {
				ps.err = fmt.Errorf("%w: pyobj: field %s.%s: default %q: %v", protocol.RuntimeError, st, f.Name, text, err)
			}
			pf.def = &dv
		}
		i := len(ps.fields)
		switch {
		case convert.HasOption(opts, "args"):
			if f.Type.Kind() != reflect.Slice && ps.err == nil {
				ps.err = fmt.Errorf("%w: pyobj: field %s.%s: args needs a slice", protocol.RuntimeError, st, f.Name)
			}
			ps.args = i
		case convert.HasOption(opts, "kwargs"):
			if (f.Type.Kind() != reflect.Map || f.Type.Key().Kind() != reflect.String) && ps.err == nil {
				ps.err = fmt.Errorf("%w: pyobj: field %s.%s: kwargs needs a map with string keys", protocol.RuntimeError, st, f.Name)
			}
			ps.kwargs = i
		default:
			if _, dup := ps.byName[name]; dup {
				continue
			}
			ps.byName[name] = i
		}
		ps.fields = append(ps.fields, pf)
	}
	// Positional arguments fill the fields in order up to *args or the first keyword-only one;
	// fields after *args are keyword-only, as in Python.
	ps.npos = len(ps.fields)
	for i, f := range ps.fields {
		if i == ps.args || f.kwonly {
			ps.npos = i
			break
		}
	}
	for i := ps.npos; i < len(ps.fields); i++ {
		if i != ps.kwargs && i != ps.args {
			ps.fields[i].kwonly = true
		}
	}
	if ps.kwargs >= 0 && ps.kwargs < ps.npos {
		ps.npos = ps.kwargs
	}
	for i := 0; i < ps.npos; i++ {
		if ps.fields[i].required {
			ps.required++
		}
	}
	if !ps.declared {
		// An options struct: every field keyword-only and optional.
		ps.npos, ps.required = 0, 0
		for i := range ps.fields {
			ps.fields[i].kwonly = true
		}
	}
	v, _ := structCache.LoadOrStore(st, ps)
	return v.(*paramStruct)
}

// parseDefault parses a default= tag value for a field of type t: the text itself for string
// kinds and []byte, strconv syntax for numbers and bools (True and False too), Go duration
// syntax for time.Duration, decimal for *big.Int, and "None" (or "nil") for a nil pointer,
// slice, map or interface. A pointer field's default is parsed for the pointed-to type.
func parseDefault(text string, t reflect.Type) (reflect.Value, error) {
	v := reflect.New(t).Elem()
	if text == "None" || text == "nil" {
		switch t.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
			return v, nil
		}
	}
	if t == reflect.TypeFor[time.Duration]() {
		d, err := time.ParseDuration(text)
		v.SetInt(int64(d))
		return v, err
	}
	if t == reflect.TypeFor[*big.Int]() {
		n, ok := new(big.Int).SetString(text, 0)
		if !ok {
			return v, fmt.Errorf("not an int")
		}
		v.Set(reflect.ValueOf(n))
		return v, nil
	}
	var err error
	switch k := t.Kind(); {
	case k == reflect.String:
		v.SetString(text)
	case k == reflect.Bool:
		var b bool
		b, err = strconv.ParseBool(text)
		v.SetBool(b)
	case k >= reflect.Int && k <= reflect.Int64:
		var i int64
		i, err = strconv.ParseInt(strings.ReplaceAll(text, "_", ""), 0, t.Bits())
		v.SetInt(i)
	case k >= reflect.Uint && k <= reflect.Uintptr:
		var u uint64
		u, err = strconv.ParseUint(strings.ReplaceAll(text, "_", ""), 0, t.Bits())
		v.SetUint(u)
	case k == reflect.Float32 || k == reflect.Float64:
		var f float64
		f, err = strconv.ParseFloat(text, t.Bits())
		v.SetFloat(f)
	case k == reflect.Complex64 || k == reflect.Complex128:
		var c complex128
		c, err = strconv.ParseComplex(strings.ReplaceAll(text, "j", "i"), t.Bits())
		v.SetComplex(c)
	case k == reflect.Slice && t.Elem().Kind() == reflect.Uint8:
		v.SetBytes([]byte(text))
	case k == reflect.Pointer:
		var e reflect.Value
		if e, err = parseDefault(text, t.Elem()); err == nil {
			p := reflect.New(t.Elem())
			p.Elem().Set(e)
			v.Set(p)
		}
	default:
		err = fmt.Errorf("defaults of type %s are not supported (use a pointer field: nil means not passed)", t)
	}
	return v, err
}

// defaultOf returns a fresh copy of the field's default: a new pointer for a pointer field, so
// that a call cannot change the next call's default.
func (f *paramField) defaultOf() reflect.Value {
	if f.typ.Kind() == reflect.Pointer && !f.def.IsNil() {
		p := reflect.New(f.typ.Elem())
		p.Elem().Set(f.def.Elem())
		return p
	}
	return *f.def
}

// bindArgs converts Python arguments to a Go function's parameters, as a Python function with
// the equivalent signature binds them: a first context.Context parameter receives ctx; the
// positional parameters take the first positional arguments; a variadic parameter the rest; a
// last parameter struct its fields' parameters (see [Params]); an undeclared last struct (an
// options struct) the keyword arguments by field name, or the whole of one positional value.
// name is the function's Python name for messages, self 1 for methods (Python counts self among
// the positional arguments in its messages).
func bindArgs(ctx context.Context, ft reflect.Type, name string, self int, args brine.Tuple, kwargs []protocol.Attr) ([]reflect.Value, error) {
	fs := specFor(ft)
	in := make([]reflect.Value, 0, ft.NumIn())
	if fs.ctx {
		in = append(in, reflect.ValueOf(ctx))
	}
	np := len(fs.pos)
	ps := fs.ps
	maxPos := np
	switch {
	case fs.variadic != nil:
		maxPos = -1
	case ps != nil && ps.declared:
		if ps.args >= 0 {
			maxPos = -1
		} else {
			maxPos = np + ps.npos
		}
	case ps != nil && len(kwargs) == 0:
		maxPos = np + 1 // an options struct may be given whole, positionally
	}
	if len(args) < np {
		var missing []string
		for i := len(args); i < np; i++ {
			missing = append(missing, "argument "+strconv.Itoa(i+1))
		}
		return nil, fmt.Errorf("%w: %s() missing %d required positional argument%s: %s", protocol.TypeError,
			name, len(missing), plural(len(missing)), strings.Join(missing, ", "))
	}
	if maxPos >= 0 && len(args) > maxPos {
		minPos := np
		if ps != nil && ps.declared {
			minPos += ps.required
		}
		return nil, tooMany(name, self, minPos, maxPos, len(args))
	}
	for i := 0; i < np; i++ {
		v, err := convertArg(ctx, args[i], fs.pos[i])
		if err != nil {
			return nil, argError("argument "+strconv.Itoa(i+1), err)
		}
		in = append(in, v)
	}
	rest := args[np:]
	if fs.variadic != nil {
		if len(kwargs) > 0 {
			return nil, unexpectedKeyword(name, kwargs[0].Name)
		}
		s := reflect.MakeSlice(fs.variadic, 0, len(rest))
		for i, a := range rest {
			v, err := convertArg(ctx, a, fs.variadic.Elem())
			if err != nil {
				return nil, argError("argument "+strconv.Itoa(np+i+1), err)
			}
			s = reflect.Append(s, v)
		}
		return append(in, s), nil
	}
	if ps == nil {
		if len(kwargs) > 0 {
			return nil, unexpectedKeyword(name, kwargs[0].Name)
		}
		return in, nil
	}
	if ps.err != nil {
		return nil, ps.err
	}
	if !ps.declared && len(rest) == 1 {
		// An options struct given whole: converted from a tuple, list or dict.
		v, err := convertArg(ctx, rest[0], fs.psType)
		if err != nil {
			return nil, argError("argument "+strconv.Itoa(np+1), err)
		}
		return append(in, v), nil
	}
	sv, err := ps.fill(ctx, name, self, np, rest, kwargs)
	if err != nil {
		return nil, err
	}
	if fs.psType.Kind() == reflect.Pointer {
		p := reflect.New(ps.typ)
		p.Elem().Set(sv)
		sv = p
	}
	return append(in, sv), nil
}

// fill builds a parameter struct from the positional arguments after the function's own (rest)
// and the keyword arguments.
func (ps *paramStruct) fill(ctx context.Context, name string, self, np int, rest brine.Tuple, kwargs []protocol.Attr) (reflect.Value, error) {
	sv := reflect.New(ps.typ).Elem()
	var setBuf [16]bool
	set := setBuf[:0]
	if len(ps.fields) <= len(setBuf) {
		set = setBuf[:len(ps.fields)]
	} else {
		set = make([]bool, len(ps.fields))
	}
	assign := func(i int, v any, what string) error {
		f := ps.fields[i]
		fv, err := fieldOf(sv, f.index)
		if err != nil {
			return fmt.Errorf("%w: %s: %v", protocol.TypeError, what, err)
		}
		cv, err := convertArg(ctx, v, f.typ)
		if err != nil {
			return argError(what, err)
		}
		fv.Set(cv)
		set[i] = true
		return nil
	}
	for j, a := range rest {
		if j < ps.npos {
			if err := assign(j, a, "argument "+brine.Repr(ps.fields[j].name)); err != nil {
				return sv, err
			}
			continue
		}
		// *args: the remaining positional arguments (bindArgs checked there is such a field).
		f := ps.fields[ps.args]
		s := reflect.MakeSlice(f.typ, 0, len(rest)-j)
		for k, a := range rest[j:] {
			v, err := convertArg(ctx, a, f.typ.Elem())
			if err != nil {
				return sv, argError("argument "+strconv.Itoa(np+j+k+1), err)
			}
			s = reflect.Append(s, v)
		}
		fv, err := fieldOf(sv, f.index)
		if err != nil {
			return sv, fmt.Errorf("%w: %v", protocol.TypeError, err)
		}
		fv.Set(s)
		set[ps.args] = true
		break
	}
	var extra reflect.Value
	for _, kw := range kwargs {
		i, ok := ps.byName[kw.Name]
		if !ok {
			if ps.kwargs < 0 {
				return sv, unexpectedKeyword(name, kw.Name)
			}
			f := ps.fields[ps.kwargs]
			if !extra.IsValid() {
				extra = reflect.MakeMap(f.typ)
			}
			v, err := convertArg(ctx, kw.Value, f.typ.Elem())
			if err != nil {
				return sv, argError("argument "+brine.Repr(kw.Name), err)
			}
			extra.SetMapIndex(reflect.ValueOf(kw.Name).Convert(f.typ.Key()), v)
			continue
		}
		if set[i] {
			return sv, fmt.Errorf("%w: %s() got multiple values for argument %s", protocol.TypeError, name, brine.Repr(kw.Name))
		}
		if err := assign(i, kw.Value, "argument "+brine.Repr(kw.Name)); err != nil {
			return sv, err
		}
	}
	if ps.kwargs >= 0 {
		f := ps.fields[ps.kwargs]
		if !extra.IsValid() {
			extra = reflect.MakeMap(f.typ)
		}
		if fv, err := fieldOf(sv, f.index); err == nil {
			fv.Set(extra)
		}
		set[ps.kwargs] = true
	}
	var missingPos, missingKw []string
	for i := range ps.fields {
		f := &ps.fields[i]
		if set[i] {
			continue
		}
		if f.required {
			if f.kwonly {
				missingKw = append(missingKw, brine.Repr(f.name))
			} else {
				missingPos = append(missingPos, brine.Repr(f.name))
			}
			continue
		}
		if f.def != nil {
			if fv, err := fieldOf(sv, f.index); err == nil {
				fv.Set(f.defaultOf())
			}
		}
	}
	if len(missingPos) > 0 {
		return sv, missingArgs(name, "positional", missingPos)
	}
	if len(missingKw) > 0 {
		return sv, missingArgs(name, "keyword-only", missingKw)
	}
	return sv, nil
}

// fieldOf returns the settable field at idx, allocating embedded pointers on the way.
func fieldOf(v reflect.Value, idx []int) (reflect.Value, error) {
	for i, x := range idx {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				if !v.CanSet() {
					return reflect.Value{}, fmt.Errorf("field promoted through a nil pointer to an unexported struct")
				}
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// tooMany is Python's TypeError for too many positional arguments; self is counted as Python
// counts it for methods.
func tooMany(name string, self, minPos, maxPos, given int) error {
	minPos, maxPos, given = minPos+self, maxPos+self, given+self
	takes := strconv.Itoa(maxPos)
	if minPos < maxPos {
		takes = "from " + strconv.Itoa(minPos) + " to " + takes
	}
	was := "were"
	if given == 1 {
		was = "was"
	}
	return fmt.Errorf("%w: %s() takes %s positional argument%s but %d %s given", protocol.TypeError,
		name, takes, plural(maxPos), given, was)
}

func unexpectedKeyword(name, kw string) error {
	return fmt.Errorf("%w: %s() got an unexpected keyword argument %s", protocol.TypeError, name, brine.Repr(kw))
}

// missingArgs is Python's TypeError for missing required arguments: "'a'", "'a' and 'b'",
// "'a', 'b', and 'c'".
func missingArgs(name, kind string, names []string) error {
	var list string
	switch len(names) {
	case 1:
		list = names[0]
	case 2:
		list = names[0] + " and " + names[1]
	default:
		list = strings.Join(names[:len(names)-1], ", ") + ", and " + names[len(names)-1]
	}
	return fmt.Errorf("%w: %s() missing %d required %s argument%s: %s", protocol.TypeError,
		name, len(names), kind, plural(len(names)), list)
}
