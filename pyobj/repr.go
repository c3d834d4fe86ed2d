package pyobj

import (
	"context"
	"fmt"
	"hash/maphash"
	"reflect"
	"sort"
	"strings"

	"github.com/gorpyc/rpyc/brine"
	"github.com/gorpyc/rpyc/internal/ident"
	"github.com/gorpyc/rpyc/protocol"
)

// NamePacker lets a Go type choose the name_pack its objects carry (e.g. "builtins.list" to be
// proxied as a list by Python clients without an INSPECT round trip).
type NamePacker interface {
	RPyCNamePack() string
}

// namePack names a Go value's type for the peer, which picks the proxy class by it. Go values
// that stand for a Python builtin class are named as it, so that Python proxies them with that
// class's netref (without INSPECT) and x.__class__ is that class: a func is "builtins.function"
// (a method, "builtins.method"), an unnamed slice type "builtins.list", an unnamed array type
// "builtins.tuple", an unnamed map type "builtins.dict", a Go iterator "builtins.generator" or
// the iterator of a list or dict. Other types are "<package>.<Type>" (the last element of the
// package path), or "go.<type>" for unnamed ones.
func namePack(v any) string {
	if np, ok := v.(NamePacker); ok {
		return np.RPyCNamePack()
	}
	t := reflect.TypeOf(v)
	switch t.Kind() {
	case reflect.Func:
		if _, isSeq := asSeq(v); isSeq {
			return "go.iter.Seq"
		}
		return "builtins.function"
	case reflect.Slice:
		if t.Name() == "" {
			return "builtins.list"
		}
	case reflect.Array:
		if t.Name() == "" {
			return "builtins.tuple"
		}
	case reflect.Map:
		if t.Name() == "" {
			return "builtins.dict"
		}
	}
	for t.Kind() == reflect.Pointer && t.Name() == "" {
		t = t.Elem()
	}
	if t.Name() == "" {
		return "go." + t.String() // go.[]int, go.map[string]int, go.chan int
	}
	// The last element of the package path keeps names short and readable ("kv.Store").
	pkg := t.PkgPath()
	if i := strings.LastIndexByte(pkg, '/'); i >= 0 {
		pkg = pkg[i+1:]
	}
	if pkg == "" {
		pkg = "go"
	}
	return pkg + "." + t.Name()
}

func strOf(v any) string {
	switch x := v.(type) {
	case fmt.Stringer:
		return x.String()
	case error:
		return x.Error()
	case string:
		return x
	}
	return reprOf(v)
}

// pyClassName is the name of the Python class a Go value stands for, as type(x).__name__ would
// give it in messages: the Go type's name, or the class of its name_pack without the module
// ("list", "method", "generator").
func pyClassName(v any) string {
	if v == nil {
		return "NoneType"
	}
	if _, ok := v.(NamePacker); !ok {
		t := reflect.TypeOf(v)
		for t.Kind() == reflect.Pointer && t.Name() == "" {
			t = t.Elem()
		}
		if t.Name() != "" {
			return t.Name()
		}
	}
	np := namePack(v)
	if i := strings.IndexByte(np, '.'); i >= 0 {
		return np[i+1:]
	}
	return np
}

func reprOf(v any) string {
	return reprDepth(v, 0)
}

func reprDepth(v any, depth int) string {
	if r, ok := v.(interface{ RPyCRepr() string }); ok {
		return r.RPyCRepr()
	}
	if v == nil {
		return "None"
	}
	if brine.Dumpable(v) {
		return brine.Repr(v)
	}
	if s := containerRepr(v, depth); s != "" {
		return s
	}
	// Like Python's default repr: the type and an address, never field values (unexported
	// fields must not leak).
	if t := reflect.TypeOf(v); t.Kind() == reflect.Func {
		return fmt.Sprintf("<Go function %s>", t)
	}
	if idn, ok := ident.Of(v); ok {
		return fmt.Sprintf("<%s object at 0x%x>", namePack(v), idn.Ptr)
	}
	return fmt.Sprintf("<%s object>", namePack(v))
}

var hashSeed = maphash.MakeSeed()

func hashOf(v any) int64 {
	if idn, ok := ident.Of(v); ok {
		return int64(idn.Ptr>>3) & (1<<61 - 1)
	}
	return int64(maphash.String(hashSeed, fmt.Sprintf("%T:%v", v, v)) >> 3)
}

func cmpOf(a, b any, op string) any {
	if _, ok := b.(protocol.Proxy); ok {
		return brine.NotImplemented
	}
	var eq bool
	ia, okA := ident.Of(a)
	ib, okB := ident.Of(b)
	switch {
	case okA && okB:
		eq = ia == ib
	case reflect.TypeOf(a) == reflect.TypeOf(b) && reflect.TypeOf(a) != nil && reflect.TypeOf(a).Comparable():
		eq = reflect.ValueOf(a).Equal(reflect.ValueOf(b))
	default:
		if op == "__eq__" {
			return false
		}
		if op == "__ne__" {
			return true
		}
		return brine.NotImplemented
	}
	switch op {
	case "__eq__":
		return eq
	case "__ne__":
		return !eq
	}
	return brine.NotImplemented
}

// inspectOf lists (name, doc) pairs for HANDLE_INSPECT: the dunders a Python client should map
// to requests, and the object's exposed methods.
func inspectOf(v any) brine.Tuple {
	out := brine.Tuple{}
	add := func(name, doc string) { out = append(out, brine.Tuple{name, doc}) }
	t := reflect.TypeOf(v)
	if t != nil && t.Kind() == reflect.Func {
		add("__call__", "call the Go function")
	}
	if _, ok := v.(interface {
		RPyCCall(context.Context, brine.Tuple, []protocol.Attr) (any, error)
	}); ok {
		add("__call__", "call the Go object")
	}
	if t != nil {
		ti := infoFor(t)
		for _, n := range ti.names {
			if m := ti.members[n]; m.method >= 0 {
				add(n, m.doc)
			}
		}
		ds := dunders(v)
		names := make([]string, 0, len(ds))
		for n := range ds {
			if _, taken := ti.members[n]; !taken {
				names = append(names, n)
			}
		}
		sort.Strings(names)
		for _, n := range names {
			add(n, "Go implementation of "+n)
		}
	}
	return out
}

// containerRepr renders an unnamed Go slice, array or map (a Python list, tuple or dict) as
// Python's repr does, its items' reprs inside (a map's keys in sorted order); "" for other
// values. Deep nesting is cut with "...".
func containerRepr(v any, depth int) string {
	rv := reflect.ValueOf(v)
	t := rv.Type()
	if t.Name() != "" {
		return ""
	}
	if depth > 8 {
		return "..."
	}
	var b strings.Builder
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		open, close := "[", "]"
		if t.Kind() == reflect.Array {
			open, close = "(", ")"
		}
		b.WriteString(open)
		for i := range rv.Len() {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(reprDepth(rv.Index(i).Interface(), depth+1))
		}
		if t.Kind() == reflect.Array && rv.Len() == 1 {
			b.WriteString(",")
		}
		b.WriteString(close)
	case reflect.Map:
		b.WriteString("{")
		for i, k := range sortedKeys(rv) {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(reprDepth(k.Interface(), depth+1))
			b.WriteString(": ")
			b.WriteString(reprDepth(rv.MapIndex(k).Interface(), depth+1))
		}
		b.WriteString("}")
	default:
		return ""
	}
	return b.String()
}
