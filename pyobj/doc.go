// Package pyobj makes Go values behave like Python objects for an RPyC peer: it is the standard
// [protocol.Objects], set on a connection with protocol.WithObjects(pyobj.Handler{}) (package
// rpyc, package server and package classic do it for you). A Python client should not be able to
// tell a Go service from a Python one; tox-interop/parity_client.py checks that, operation by
// operation, against a Go service and its Python twin.
//
// # Names and exposure
//
// A Go value exported to the peer shows its exported methods and struct fields under Python
// names: GetStatus becomes get_status ([PyName]). They are exposed, as if a Python class had
// defined exposed_get_status: reachable under both names with Python's default configuration.
// A type renames members, or declares their exposure, with RPyCNames() map[string]string
// ([Names]); a struct field with its `rpyc` tag. Both use the tag syntax "name,options":
//
//	`rpyc:"status"`      renamed, exposed
//	`rpyc:",public"`     default name, public but not exposed: reachable only when the
//	                     connection allows public attributes (Python: a method without exposed_)
//	`rpyc:"-"`           hidden ("" in RPyCNames too)
//	"Privy": "_privy"    a name starting with "_" is never exposed: Python's private _privy,
//	                     reachable with allow_all_attrs; "Add": "__add__" is Python's __add__,
//	                     reachable as the safe attributes allow
//
// The access policy is Python's Connection._check_attr, with the connection's Config
// (allow_public_attrs, allow_safe_attrs, allow_all_attrs, exposed_prefix...): a name is
// reachable if the configuration allows it as such, or if the object has it as an exposed
// attribute. Refusals are worded as Python's ("cannot access 'x'", "'T' object has no attribute
// 'exposed_x'"). A value with RPyCGetAttr(name) (any, error) answers getattr itself, unchecked,
// as a Python class with _rpyc_getattr. The service (the connection's root) refuses setattr and
// delattr with "access denied", as Python's Service does; other values allow setting exported
// fields when allow_setattr is on. dir() lists the attributes, exposed ones under both names,
// and those every Python object has.
//
// The root also answers get_service_name and get_service_aliases (and their exposed_ forms),
// from the connection's Config.ServiceAliases or, when empty, from [ServiceAliases] (Python's
// rule: the type name without a trailing "Service", upper-cased).
//
// Methods named RPyC* (RPyCNames, RPyCGetAttr, RPyCCall, RPyCRepr, RPyCNamePack, ...), String,
// Error, OnConnect and OnDisconnect are never callable by the peer.
//
// # Parameters
//
// Calls bind Python arguments to Go parameters as Python binds them to a def:
//
//   - a first context.Context parameter receives the request's context (canceled when the
//     connection closes);
//   - the other parameters are positional (Go has no parameter names), a variadic one
//     Python's *args;
//   - a last struct parameter that declares parameters (it embeds [Params], or a field uses one
//     of the options below) holds Python parameters after the positional ones, one per exported
//     field, in order, named like attributes (the rpyc tag name, else snake_case): each is
//     keyword-or-positional, so greet("bob", "Hi") and greet("bob", greeting="Hi") both fill
//     Greeting, and a struct with every parameter in it gives them all names (greet(name="bob")).
//     Tag options: required (missing: TypeError "greet() missing 1 required positional
//     argument: 'name'"), default=V (the value when not passed; it takes the rest of the tag,
//     commas included, so it comes last; strconv syntax, Python's True/False, Go durations,
//     None for nil), kwonly (keyword-only; fields after args are too), args (a slice field:
//     the extra positional arguments, Python's *args), kwargs (a map[string]T field: the extra
//     keyword arguments, Python's **kwargs). A pointer field is nil when not passed (and no
//     default), so an explicit zero (greeting="", size=0) is always told from "not passed";
//   - any other last struct (an options struct) receives keyword arguments by field name, or is
//     converted whole from one positional tuple, list or dict.
//
// Binding errors are Python's TypeErrors, worded as Python's (unexpected keyword argument,
// multiple values for an argument, too many positional arguments, missing arguments).
//
// # Conversions
//
// Each argument is converted to its Go type by the conversion results go through too
// (netref.As, classic.ObtainAs): Python ints (and bools) to Go integers and *big.Int, floats,
// str, bytes, tuples to slices, arrays and structs, dicts to maps and structs, None to nil... A
// Python list, dict, set or other container sent by reference is copied by value with
// netref.Copy when the Go type needs it ([]int, map[string]int, a struct): a constant number of
// requests for containers of literals, nested ones included. A value that does not convert is a
// TypeError naming the argument; a number beyond the Go type's range an OverflowError, as
// CPython's own conversions raise.
//
// # Results and Python classes
//
// Results: T, (T, error), error, several values (a tuple) or none (None); a last error is
// raised as a Python exception (see protocol.ErrorClass: errnos become Python's OSError
// subclasses with errno, strerror and filename; attributes of a *protocol.RemoteError or a
// protocol.ExceptionAttrs error travel with it). An iter.Seq, iter.Seq2 or receive channel
// result is a Python generator (for, next(), rpyc.buffiter). Values that stand for a Python
// builtin are proxied as that class (x.__class__ is it, no INSPECT request): a func is a
// function, a method a bound method, an unnamed slice type a list, an unnamed array type a
// tuple, an unnamed map type a dict; their repr() is Python's. A received proxy of a peer object
// arrives as a *netref.Ref.
//
// Go values also speak the Python protocols a client expects from a native object: a slice
// answers len(), indexing, slicing (a new list), iteration and `in`; a map also keys(),
// values(), items(), get() and dict(m); io.Reader, io.Writer and io.Closer are read(),
// write() and close(); a type with Len() int has len(); a [ContextManager] or io.Closer works
// in a with-block; a type whose methods are named __iter__ and __next__ (by RPyCNames) is an
// iterator, for rpyc.buffiter too. Each protocol is a set of methods, listed by HANDLE_INSPECT
// so that the Python client's proxy class has them.
package pyobj
