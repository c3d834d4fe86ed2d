package pyobj

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"

	"github.com/gorpyc/rpyc/brine"
	"github.com/gorpyc/rpyc/internal/convert"
	"github.com/gorpyc/rpyc/internal/ident"
	"github.com/gorpyc/rpyc/protocol"
)

// Names is implemented by Go types that rename members for Python: it maps Go method or field
// names to Python names ("GetStatus": "status"). A Python name "" hides the member.
type Names interface {
	RPyCNames() map[string]string
}

// member is one Python-visible attribute of a Go type.
type member struct {
	doc    string
	method int   // method index in the type's method set, or -1
	field  []int // field index path, for struct fields
}

type typeInfo struct {
	members map[string]member
	names   []string // sorted Python names
}

var typeCache sync.Map // reflect.Type -> *typeInfo

func infoFor(t reflect.Type) *typeInfo {
	if v, ok := typeCache.Load(t); ok {
		return v.(*typeInfo)
	}
	ti := &typeInfo{members: map[string]member{}}
	var rename map[string]string
	if t.Implements(reflect.TypeFor[Names]()) {
		if n, ok := reflect.Zero(t).Interface().(Names); ok && (t.Kind() != reflect.Pointer) {
			rename = n.RPyCNames()
		} else if t.Kind() == reflect.Pointer {
			if n, ok := reflect.New(t.Elem()).Interface().(Names); ok {
				rename = n.RPyCNames()
			}
		}
	}
	pyname := func(goName string) (string, bool) {
		if rename != nil {
			if n, ok := rename[goName]; ok {
				return n, n != ""
			}
		}
		return PyName(goName), true
	}
	for i := range t.NumMethod() {
		m := t.Method(i)
		if !m.IsExported() || isInternalMethod(m.Name) {
			continue
		}
		if n, ok := pyname(m.Name); ok {
			ti.members[n] = member{method: i, doc: fmt.Sprintf("%s%s (Go method %s)", n, pySignature(m.Type, 1), m.Name)}
		}
	}
	st := t
	if st.Kind() == reflect.Pointer {
		st = st.Elem()
	}
	if st.Kind() == reflect.Struct {
		for _, f := range reflect.VisibleFields(st) {
			if !f.IsExported() || f.Anonymous {
				continue
			}
			n, ok := convert.FieldNameRenamed(f, rename)
			if _, taken := ti.members[n]; ok && !taken && n != "" {
				ti.members[n] = member{method: -1, field: f.Index, doc: fmt.Sprintf("%s: %s (Go field %s)", n, f.Type, f.Name)}
			}
		}
	}
	for n := range ti.members {
		ti.names = append(ti.names, n)
	}
	sort.Strings(ti.names)
	v, _ := typeCache.LoadOrStore(t, ti)
	return v.(*typeInfo)
}

// isInternalMethod hides the methods gorpyc itself looks for.
func isInternalMethod(name string) bool {
	switch name {
	case "String", "Error", "OnConnect", "OnDisconnect":
		return true // str()/exceptions and the service hooks, not callable by the peer
	}
	return strings.HasPrefix(name, "RPyC")
}

func pySignature(ft reflect.Type, skip int) string {
	var parts []string
	for i := skip; i < ft.NumIn(); i++ {
		in := ft.In(i)
		if in == ctxType {
			continue
		}
		parts = append(parts, in.String())
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

var (
	ctxType   = reflect.TypeFor[context.Context]()
	errorType = reflect.TypeFor[error]()
)

// getAttr looks up an exposed member of a Go value.
func getAttr(c *protocol.Conn, obj any, name string) (any, error) {
	if obj == nil {
		return nil, fmt.Errorf("%w: 'NoneType' object has no attribute %q", protocol.AttributeError, name)
	}
	if ga, ok := obj.(interface {
		RPyCGetAttr(name string) (any, error)
	}); ok {
		return ga.RPyCGetAttr(name)
	}
	rv := reflect.ValueOf(obj)
	ti := infoFor(rv.Type())
	m, ok := ti.members[name]
	if ok && (name == "read" || name == "write") {
		// Go's Read/Write([]byte) cannot serve Python callers; the io protocol methods can.
		if d, isIO := dunders(obj)[name]; isIO {
			return boundMethod{name: name, fn: d}, nil
		}
	}
	if !ok {
		if sameValue(obj, c.LocalRoot()) {
			if v, ok := serviceMember(c, name); ok {
				return v, nil
			}
		}
		if d, ok := dunders(obj)[name]; ok {
			return boundMethod{name: name, fn: d}, nil
		}
		return nil, fmt.Errorf("%w: %s has no attribute %q", protocol.AttributeError, namePack(obj), name)
	}
	if m.method >= 0 {
		return rv.Method(m.method).Interface(), nil
	}
	f, err := fieldByIndex(rv, m.field)
	if err != nil {
		return nil, err
	}
	return f.Interface(), nil
}

func fieldByIndex(rv reflect.Value, idx []int) (reflect.Value, error) {
	for rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return reflect.Value{}, fmt.Errorf("%w: nil pointer", protocol.AttributeError)
		}
		rv = rv.Elem()
	}
	f, err := rv.FieldByIndexErr(idx)
	if err != nil {
		return reflect.Value{}, fmt.Errorf("%w: %v", protocol.AttributeError, err)
	}
	return f, nil
}

func setAttr(obj any, name string, value any) error {
	rv := reflect.ValueOf(obj)
	if obj == nil {
		return fmt.Errorf("%w: cannot set attributes of None", protocol.AttributeError)
	}
	m, ok := infoFor(rv.Type()).members[name]
	if !ok || m.method >= 0 {
		return fmt.Errorf("%w: %s has no settable attribute %q", protocol.AttributeError, namePack(obj), name)
	}
	if rv.Kind() != reflect.Pointer {
		return fmt.Errorf("%w: %s is not addressable (export a pointer)", protocol.AttributeError, namePack(obj))
	}
	f, err := fieldByIndex(rv, m.field)
	if err != nil {
		return err
	}
	nv, err := convertArg(value, f.Type())
	if err != nil {
		return fmt.Errorf("%w: attribute %q: %w", protocol.TypeError, name, err)
	}
	f.Set(nv)
	return nil
}

// call invokes a Go callable with Python positional and keyword arguments.
func call(ctx context.Context, fn any, args brine.Tuple, kwargs []protocol.Attr) (any, error) {
	if caller, ok := fn.(interface {
		RPyCCall(ctx context.Context, args brine.Tuple, kwargs []protocol.Attr) (any, error)
	}); ok {
		return caller.RPyCCall(ctx, args, kwargs)
	}
	fv := reflect.ValueOf(fn)
	if fv.Kind() != reflect.Func || fv.IsNil() {
		return nil, fmt.Errorf("%w: %s object is not callable", protocol.TypeError, namePack(fn))
	}
	return callFunc(ctx, fv, args, kwargs)
}

// callAttr is obj.name(*args, **kwargs) in one step (HANDLE_CALLATTR): an exported method is
// called through reflect without making a method value first; anything else is getattr, then
// call.
func callAttr(ctx context.Context, c *protocol.Conn, obj any, name string, args brine.Tuple, kwargs []protocol.Attr) (any, error) {
	if _, custom := obj.(interface {
		RPyCGetAttr(name string) (any, error)
	}); obj != nil && !custom && name != "read" && name != "write" {
		rv := reflect.ValueOf(obj)
		if m, ok := infoFor(rv.Type()).members[name]; ok && m.method >= 0 {
			return callFunc(ctx, rv.Method(m.method), args, kwargs)
		}
	}
	fn, err := getAttr(c, obj, name)
	if err != nil {
		return nil, err
	}
	return call(ctx, fn, args, kwargs)
}

// callFunc calls the Go function fv with Python arguments.
func callFunc(ctx context.Context, fv reflect.Value, args brine.Tuple, kwargs []protocol.Attr) (any, error) {
	in, err := buildArgs(ctx, fv.Type(), args, kwargs)
	if err != nil {
		return nil, err
	}
	var out []reflect.Value
	if fv.Type().IsVariadic() {
		out = fv.CallSlice(in)
	} else {
		out = fv.Call(in)
	}
	return results(out)
}

// buildArgs converts Python arguments to a Go function's parameters. A first context.Context
// parameter receives the request context; a last struct (or *struct) parameter may receive the
// keyword arguments by field name.
func buildArgs(ctx context.Context, ft reflect.Type, args brine.Tuple, kwargs []protocol.Attr) ([]reflect.Value, error) {
	in := make([]reflect.Value, 0, ft.NumIn())
	var pbuf [8]reflect.Type // no allocation for the usual parameter counts
	params := pbuf[:0]
	for i := range ft.NumIn() {
		params = append(params, ft.In(i))
	}
	if len(params) > 0 && params[0] == ctxType {
		in = append(in, reflect.ValueOf(ctx))
		params = params[1:]
	}
	var kwType reflect.Type
	variadic := ft.IsVariadic()
	hasOptions := !variadic && len(params) > 0 && isOptionsStruct(params[len(params)-1])
	switch {
	case len(kwargs) > 0:
		if hasOptions && len(args) < len(params) {
			kwType = params[len(params)-1]
			params = params[:len(params)-1]
		} else {
			return nil, fmt.Errorf("%w: got an unexpected keyword argument %q", protocol.TypeError, kwargs[0].Name)
		}
	case hasOptions && len(args) == len(params)-1:
		// No keywords and no positional value for the options struct: its zero value, as a
		// Python function's keyword parameters keep their defaults.
		kwType = params[len(params)-1]
		params = params[:len(params)-1]
	}
	fixed := len(params)
	if variadic {
		fixed--
	}
	if len(args) < fixed && kwType == nil || (!variadic && len(args) > fixed) {
		return nil, fmt.Errorf("%w: takes %d positional arguments but %d were given", protocol.TypeError, fixed, len(args))
	}
	for i := 0; i < fixed; i++ {
		if i >= len(args) {
			in = append(in, reflect.Zero(params[i]))
			continue
		}
		v, err := convertArg(args[i], params[i])
		if err != nil {
			return nil, fmt.Errorf("%w: argument %d: %w", protocol.TypeError, i+1, err)
		}
		in = append(in, v)
	}
	if variadic {
		st := params[fixed]
		rest := reflect.MakeSlice(st, 0, len(args)-fixed)
		for i := fixed; i < len(args); i++ {
			v, err := convertArg(args[i], st.Elem())
			if err != nil {
				return nil, fmt.Errorf("%w: argument %d: %w", protocol.TypeError, i+1, err)
			}
			rest = reflect.Append(rest, v)
		}
		in = append(in, rest)
	}
	if kwType != nil {
		v, err := kwargsStruct(kwargs, kwType)
		if err != nil {
			return nil, err
		}
		in = append(in, v)
	}
	return in, nil
}

func isOptionsStruct(t reflect.Type) bool {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Kind() == reflect.Struct
}

func kwargsStruct(kwargs []protocol.Attr, t reflect.Type) (reflect.Value, error) {
	st := t
	if st.Kind() == reflect.Pointer {
		st = st.Elem()
	}
	sv := reflect.New(st)
	ti := infoFor(st)
	for _, kw := range kwargs {
		m, ok := ti.members[kw.Name]
		if !ok || m.method >= 0 {
			return reflect.Value{}, fmt.Errorf("%w: got an unexpected keyword argument %q", protocol.TypeError, kw.Name)
		}
		f := sv.Elem().FieldByIndex(m.field)
		v, err := convertArg(kw.Value, f.Type())
		if err != nil {
			return reflect.Value{}, fmt.Errorf("%w: keyword argument %q: %w", protocol.TypeError, kw.Name, err)
		}
		f.Set(v)
	}
	if t.Kind() == reflect.Pointer {
		return sv, nil
	}
	return sv.Elem(), nil
}

// results turns a Go function's results into one Python value: none -> None, one -> it,
// several -> a tuple; a last error result is raised when non-nil.
func results(out []reflect.Value) (any, error) {
	if n := len(out); n > 0 && out[n-1].Type() == errorType {
		if !out[n-1].IsNil() {
			return nil, out[n-1].Interface().(error)
		}
		out = out[:n-1]
	}
	switch len(out) {
	case 0:
		return nil, nil
	case 1:
		return out[0].Interface(), nil
	}
	t := make(brine.Tuple, len(out))
	for i, o := range out {
		t[i] = o.Interface()
	}
	return t, nil
}

// convertArg converts a value received from Python to the Go type t, with the conversion every
// received value goes through (convert.Value: the rules of netref.As and classic.ObtainAs).
// The error is a *convert.Error (netref.ConvertError), which callers wrap in a TypeError.
func convertArg(v any, t reflect.Type) (reflect.Value, error) {
	return convert.Value(v, t)
}

// pyTypeName names the Python type of a received value, for error messages.
func pyTypeName(v any) string {
	if r, ok := v.(protocol.Proxy); ok {
		return r.ProtocolRef().TypeName() + " (remote)"
	}
	if n := brine.TypeName(v); n != "" {
		return n
	}
	return fmt.Sprintf("%T", v)
}

// boundMethod is a Python protocol method of a Go value (len, keys, read, ...), as returned by
// GETATTR; Python proxies it as a builtin method, without INSPECT.
type boundMethod struct {
	name string
	fn   dunderFunc
}

// RPyCCall calls the method.
func (b boundMethod) RPyCCall(ctx context.Context, args brine.Tuple, kwargs []protocol.Attr) (any, error) {
	if len(kwargs) > 0 {
		return nil, fmt.Errorf("%w: %s() takes no keyword arguments", protocol.TypeError, b.name)
	}
	return b.fn(ctx, args)
}

// RPyCNamePack makes Python proxy the method as a builtin one.
func (b boundMethod) RPyCNamePack() string { return "builtins.builtin_function_or_method" }

// RPyCRepr describes the method.
func (b boundMethod) RPyCRepr() string { return "<Go method " + b.name + ">" }

// sameValue reports whether a and b are the same Go object: by pointer identity when they have
// one, else by == for comparable types.
func sameValue(a, b any) bool {
	if a == nil || b == nil {
		return false
	}
	ia, okA := ident.Of(a)
	ib, okB := ident.Of(b)
	if okA || okB {
		return okA && okB && ia == ib
	}
	ta := reflect.TypeOf(a)
	if ta != reflect.TypeOf(b) || !ta.Comparable() {
		return false
	}
	defer func() { _ = recover() }() // interface fields holding uncomparable values
	return a == b
}
