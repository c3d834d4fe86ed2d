// Package pyobj makes Go values behave like Python objects for an RPyC peer: it is the standard
// [protocol.Objects], set on a connection with protocol.WithObjects(pyobj.Handler{}) (package
// rpyc, package server and package classic do it for you).
//
// A Go value exported to the peer shows its exported methods and struct fields under Python
// names: GetStatus becomes get_status ([PyName]); a type may rename or hide members with
// RPyCNames() map[string]string ([Names]), a struct field with the tag `rpyc:"name"` or
// `rpyc:"-"`. Calls convert Python arguments to the Go parameters: a first context.Context
// parameter receives the request's context (canceled when the connection closes), a last struct
// parameter may receive keyword arguments by field name, and a last error result is raised as a
// Python exception (see protocol.ErrorClass). A received proxy of a peer object arrives as a
// *netref.Ref.
//
// Go values also speak the Python protocols a client expects from a native object: a slice
// answers len(), indexing, slicing, iteration and `in`; a map also keys(), values(), items(),
// get() and dict(m); channels and iter.Seq functions are iterators (buffiter too); io.Reader,
// io.Writer and io.Closer are read(), write() and close(); a type with Len() int has len(); a
// [ContextManager] or io.Closer works in a with-block. Each protocol is a set of dunder methods,
// listed by HANDLE_INSPECT so that the Python client's proxy class has them.
//
// The root object (the service) also answers get_service_name and get_service_aliases, from
// the connection's Config.ServiceAliases or, when empty, from [ServiceAliases] (Python's rule:
// the type name without a trailing "Service", upper-cased).
//
// Methods named RPyC* (RPyCNames, RPyCGetAttr, RPyCCall, RPyCRepr, RPyCNamePack, ...), String,
// Error, OnConnect and OnDisconnect are never callable by the peer.
package pyobj
