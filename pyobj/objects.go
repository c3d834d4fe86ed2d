package pyobj

import (
	"context"
	"errors"
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

// Names is implemented by Go types that rename members for Python, or declare their exposure:
// it maps Go method or field names to declarations with the syntax of an `rpyc` struct tag,
// "name[,public]": "GetStatus": "status" renames, "Foo": ",public" keeps the default name but
// makes the member public and not exposed (reachable only when the connection allows public
// attributes, as a Python method without the exposed_ prefix), and "" (or "-") hides it. A
// Python name starting with "_" is never exposed ("Privy": "_privy" is Python's private _privy,
// "Add": "__add__" Python's __add__, reachable as the safe attributes allow).
type Names interface {
	RPyCNames() map[string]string
}

// member is one Python-visible attribute of a Go type.
type member struct {
	name    string // Python name
	doc     string
	method  int   // method index in the type's method set, or -1
	field   []int // field index path, for struct fields
	exposed bool  // reachable under the exposed prefix too (Python's exposed_<name>)
}

type typeInfo struct {
	members map[string]*member // by Python name
	names   []string           // sorted Python names of the members
	proto   map[string]bool    // protocol methods its values implement (dunders, keys, read...)
	custom  bool               // the type has RPyCGetAttr: it decides its attributes itself
}

var typeCache sync.Map // reflect.Type -> *typeInfo

// exposedPrefix is Python's default exposed_prefix; a declared name with it is exposed under the
// rest ("exposed_foo" declares foo, exposed).
const exposedPrefix = "exposed_"

func infoFor(t reflect.Type) *typeInfo {
	if v, ok := typeCache.Load(t); ok {
		return v.(*typeInfo)
	}
	ti := &typeInfo{members: map[string]*member{}, proto: map[string]bool{}}
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
	add := func(name, opts string, m *member) {
		if name == "" {
			return
		}
		if rest, ok := strings.CutPrefix(name, exposedPrefix); ok && rest != "" {
			name = rest
		}
		if _, taken := ti.members[name]; taken {
			return
		}
		m.name = name
		m.exposed = !strings.HasPrefix(name, "_") && !convert.HasOption(opts, "public")
		ti.members[name] = m
	}
	for i := range t.NumMethod() {
		m := t.Method(i)
		if !m.IsExported() || isInternalMethod(m.Name) {
			continue
		}
		name, opts, ok := PyName(m.Name), "", true
		if decl, has := rename[m.Name]; has {
			var n string
			if n, opts, ok = convert.ParseDecl(decl); ok && n != "" {
				name = n
			}
		}
		if ok {
			add(name, opts, &member{method: i, doc: fmt.Sprintf("%s%s (Go method %s)", name, pySignature(m.Type, 1), m.Name)})
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
			if n, opts, ok := convert.FieldDecl(f, rename); ok {
				add(n, opts, &member{method: -1, field: f.Index, doc: fmt.Sprintf("%s: %s (Go field %s)", n, f.Type, f.Name)})
			}
		}
	}
	for n := range ti.members {
		ti.names = append(ti.names, n)
	}
	sort.Strings(ti.names)
	if t.Kind() != reflect.Interface {
		for n := range dunders(reflect.Zero(t).Interface()) {
			ti.proto[n] = true
		}
	}
	_, ti.custom = reflect.Zero(t).Interface().(attrGetter)
	v, _ := typeCache.LoadOrStore(t, ti)
	return v.(*typeInfo)
}

// attrGetter is a Go type that answers getattr itself, as a Python class with _rpyc_getattr.
type attrGetter interface {
	RPyCGetAttr(name string) (any, error)
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

// attrKind says what a resolved attribute is.
type attrKind uint8

const (
	attrNone    attrKind = iota
	attrMember           // a method or field (m)
	attrProto            // a protocol method (keys, __len__, read...)
	attrService          // get_service_name / get_service_aliases of the root
	attrDoc              // __doc__: None
)

// resolve finds the attribute name of obj (a name the access policy let through): a member by
// its Python name, or an exposed member, protocol method or service member under the exposed
// prefix; protocol methods (the read and write of io types before same-named Go methods, whose
// []byte signatures cannot serve Python callers); get_service_name and get_service_aliases on
// the root; __doc__.
func resolve(c *protocol.Conn, obj any, ti *typeInfo, name string) (attrKind, *member, string) {
	bare := name
	viaPrefix := false
	if prefix := exposedPrefixOf(c); prefix != "" {
		if rest, ok := strings.CutPrefix(name, prefix); ok && rest != "" {
			bare, viaPrefix = rest, true
		}
	}
	if (bare == "read" || bare == "write") && ti.proto[bare] {
		return attrProto, nil, bare
	}
	if m, ok := ti.members[bare]; ok && (!viaPrefix || m.exposed) {
		return attrMember, m, bare
	}
	if viaPrefix {
		if _, ok := ti.members[name]; ok {
			return attrMember, ti.members[name], name
		}
	}
	if ti.proto[bare] && (!viaPrefix || protoExposed(bare)) {
		return attrProto, nil, bare
	}
	if (bare == "get_service_name" || bare == "get_service_aliases") && c != nil && sameValue(obj, c.LocalRoot()) {
		return attrService, nil, bare
	}
	if name == "__doc__" {
		return attrDoc, nil, name
	}
	return attrNone, nil, name
}

// protoExposed reports whether a protocol method is exposed (keys, read, ...), not a dunder.
func protoExposed(name string) bool { return !strings.HasPrefix(name, "_") }

// exposedPrefixOf returns the connection's exposed prefix: exposed members are also attributes
// under it (Python's exposed_<name>).
func exposedPrefixOf(c *protocol.Conn) string {
	if c == nil {
		return exposedPrefix
	}
	return c.ExposedPrefix()
}

// getAttr looks up an attribute of a Go value (after the access policy).
func getAttr(c *protocol.Conn, obj any, name string) (any, error) {
	if obj == nil {
		return nil, fmt.Errorf("%w: 'NoneType' object has no attribute %s", protocol.AttributeError, brine.Repr(name))
	}
	if ga, ok := obj.(attrGetter); ok {
		return ga.RPyCGetAttr(name)
	}
	rv := reflect.ValueOf(obj)
	ti := infoFor(rv.Type())
	kind, m, bare := resolve(c, obj, ti, name)
	switch kind {
	case attrMember:
		if m.method >= 0 {
			return &goMethod{recv: rv, index: m.method, name: m.name}, nil
		}
		f, err := fieldByIndex(rv, m.field)
		if err != nil {
			return nil, err
		}
		return pyValue(f.Interface()), nil
	case attrProto:
		return boundMethod{name: bare, fn: dunders(obj)[bare]}, nil
	case attrService:
		v, _ := serviceMember(c, bare)
		return v, nil
	case attrDoc:
		return nil, nil
	}
	return nil, noAttribute(obj, name)
}

// noAttribute is Python's AttributeError for a missing attribute.
func noAttribute(obj any, name string) error {
	return fmt.Errorf("%w: '%s' object has no attribute %s", protocol.AttributeError, pyClassName(obj), brine.Repr(name))
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

func setAttr(ctx context.Context, c *protocol.Conn, obj any, name string, value any) error {
	if obj == nil {
		return fmt.Errorf("%w: 'NoneType' object has no attribute %s", protocol.AttributeError, brine.Repr(name))
	}
	rv := reflect.ValueOf(obj)
	kind, m, _ := resolve(c, obj, infoFor(rv.Type()), name)
	if kind == attrNone {
		return noAttribute(obj, name)
	}
	if kind != attrMember || m.method >= 0 {
		return fmt.Errorf("%w: '%s' object attribute %s is read-only", protocol.AttributeError, pyClassName(obj), brine.Repr(name))
	}
	if rv.Kind() != reflect.Pointer {
		return fmt.Errorf("%w: %s is not addressable (export a pointer)", protocol.AttributeError, namePack(obj))
	}
	f, err := fieldByIndex(rv, m.field)
	if err != nil {
		return err
	}
	nv, err := convertArg(ctx, value, f.Type())
	if err != nil {
		return argError(fmt.Sprintf("attribute %s", brine.Repr(name)), err)
	}
	f.Set(nv)
	return nil
}

// caller is a Go value that handles its own calls.
type caller interface {
	RPyCCall(ctx context.Context, args brine.Tuple, kwargs []protocol.Attr) (any, error)
}

// call invokes a Go callable with Python positional and keyword arguments.
func call(ctx context.Context, fn any, args brine.Tuple, kwargs []protocol.Attr) (any, error) {
	if cl, ok := fn.(caller); ok {
		return cl.RPyCCall(ctx, args, kwargs)
	}
	fv := reflect.ValueOf(fn)
	if fv.Kind() != reflect.Func || fv.IsNil() {
		return nil, fmt.Errorf("%w: '%s' object is not callable", protocol.TypeError, pyClassName(fn))
	}
	return callFunc(ctx, fv, "function", 0, args, kwargs)
}

// callAttr is obj.name(*args, **kwargs) in one step (HANDLE_CALLATTR): an exported method is
// called through reflect without making a method value first; anything else is getattr, then
// call.
func callAttr(ctx context.Context, c *protocol.Conn, obj any, name string, args brine.Tuple, kwargs []protocol.Attr) (any, error) {
	if _, custom := obj.(attrGetter); obj != nil && !custom {
		rv := reflect.ValueOf(obj)
		if kind, m, _ := resolve(c, obj, infoFor(rv.Type()), name); kind == attrMember && m.method >= 0 {
			return callFunc(ctx, rv.Method(m.method), m.name, 1, args, kwargs)
		}
	}
	fn, err := getAttr(c, obj, name)
	if err != nil {
		return nil, err
	}
	return call(ctx, fn, args, kwargs)
}

// callFunc calls the Go function fv with Python arguments. name is the Python name messages use;
// self is 1 for a method, whose receiver Python counts among the positional arguments.
func callFunc(ctx context.Context, fv reflect.Value, name string, self int, args brine.Tuple, kwargs []protocol.Attr) (any, error) {
	in, err := bindArgs(ctx, fv.Type(), name, self, args, kwargs)
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
		return pyValue(out[0].Interface()), nil
	}
	t := make(brine.Tuple, len(out))
	for i, o := range out {
		t[i] = pyValue(o.Interface())
	}
	return t, nil
}

// pyValue turns a Go value handed to the peer into the Python object it stands for, where that
// is not the value itself: an iter.Seq, iter.Seq2 or receive channel becomes a generator (an
// iterator that next() accepts, as a Python function returning a generator gives), whose
// items the peer pulls.
func pyValue(v any) any {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Func:
		if seq, ok := asSeq(v); ok {
			return newPullIter(seq, "builtins.generator")
		}
	case reflect.Chan:
		if !rv.IsNil() && rv.Type().ChanDir()&reflect.RecvDir != 0 {
			return newChanIter(rv)
		}
	}
	return v
}

// convertArg converts a value received from Python to the Go type t, with the conversion every
// received value goes through (convert.Value: the rules of netref.As and classic.ObtainAs),
// copying the peer's lists, dicts and sets the value holds when t needs them by value (see
// fetch.go). The error is a *convert.Error (netref.ConvertError) or the copy's error.
func convertArg(ctx context.Context, v any, t reflect.Type) (reflect.Value, error) {
	out, err := convert.Value(v, t)
	if err == nil || !holdsRef(v, 0) {
		return out, err
	}
	cp, cerr := copyRemote(ctx, v)
	if cerr != nil {
		return reflect.Value{}, cerr
	}
	return convert.Value(cp, t)
}

// argError is the Python exception for an argument that does not convert: OverflowError for a
// number out of the Go type's range (as CPython's own int conversions raise), else TypeError.
// what names the argument ("argument 2", "argument 'greeting'").
func argError(what string, err error) error {
	cls := protocol.TypeError
	if errors.Is(err, convert.ErrOverflow) || errors.Is(err, convert.ErrNegative) {
		cls = protocol.OverflowError
	}
	return fmt.Errorf("%w: %s: %w", cls, what, err)
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

// goMethod is a Go method bound to its receiver, as getattr returns it: Python proxies it as a
// bound method ("builtins.method").
type goMethod struct {
	recv  reflect.Value
	index int
	name  string
}

// RPyCCall calls the method.
func (m *goMethod) RPyCCall(ctx context.Context, args brine.Tuple, kwargs []protocol.Attr) (any, error) {
	return callFunc(ctx, m.recv.Method(m.index), m.name, 1, args, kwargs)
}

// RPyCNamePack makes Python proxy the method as a bound method.
func (m *goMethod) RPyCNamePack() string { return "builtins.method" }

// RPyCRepr describes the method like Python's repr of a bound method.
func (m *goMethod) RPyCRepr() string {
	return fmt.Sprintf("<bound method %s.%s of %s>", pyClassName(m.recv.Interface()), m.name, reprOf(m.recv.Interface()))
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
	v, err := b.fn(ctx, args)
	return pyValue(v), err
}

// RPyCNamePack makes Python proxy the method as a builtin one.
func (b boundMethod) RPyCNamePack() string { return "builtins.builtin_function_or_method" }

// RPyCRepr describes the method.
func (b boundMethod) RPyCRepr() string { return "<built-in method " + b.name + ">" }

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
