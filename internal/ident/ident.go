// Package ident gives Go values an identity, like Python's id().
package ident

import "reflect"

// Key is the identity of a Go value that has one (a pointer, map, channel or non-empty slice):
// what Python's id() is to an object. The connection keys its exported objects by it, so that
// exporting the same object twice reuses its id_pack; the object model uses it for repr, hash
// and comparisons.
type Key struct {
	typ reflect.Type
	Ptr uintptr
	n   int
}

// Of returns v's identity, or false if v has none.
func Of(v any) (Key, bool) {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Chan, reflect.UnsafePointer:
		if rv.IsNil() {
			return Key{}, false
		}
		return Key{typ: rv.Type(), Ptr: rv.Pointer()}, true
	case reflect.Slice:
		if rv.IsNil() || rv.Len() == 0 {
			return Key{}, false
		}
		return Key{typ: rv.Type(), Ptr: rv.Pointer(), n: rv.Len()}, true
	}
	return Key{}, false
}
