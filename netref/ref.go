// Package netref provides Ref, the Go proxy of an object that lives on the other side of an RPyC
// connection (Python's netref), and AsyncResult. It is layered on package protocol: a Ref is the
// connection's [protocol.Ref] with the object's operations.
//
// A Ref forwards every operation to its owner as a request: attribute access (GETATTR, SETATTR,
// DELATTR), calls (CALL, or CALLATTR for a method by name), str/repr/dir/hash, comparisons,
// len/indexing/containment, iteration (BUFFITER), context managers (CTXEXIT) and isinstance
// checks. Every operation takes a context; a context without a deadline gets the connection's
// sync_request_timeout (30 s by default).
//
// Results are Go values in brine's value model (see package brine) or *Ref for objects that
// stay remote: Python lists, dicts, sets, instances and modules arrive as *Ref. Use [As] to
// convert a result to a Go type; it copies proxied lists, dicts and sets by value when the type
// needs it ([Copy]). [Ref.Iter] iterates with the semantics of Python's for loop, batching only
// where that changes nothing; [Ref.BuffIter] is Python's rpyc.buffiter.
//
// A Ref passed to another connection (an argument, a callback's result) is forwarded there: the
// other peer uses it as the owner's object, every request being relayed to the owner, as Python
// chains netrefs (see package protocol, forward.go).
//
// A Ref holds references on its owner's object table. Call [Ref.Release] when done; a Ref that
// becomes unreachable is released by a cleanup as a fallback, like Python's __del__.
package netref

import (
	"context"

	"github.com/gorpyc/rpyc/brine"
	"github.com/gorpyc/rpyc/compat"
	"github.com/gorpyc/rpyc/protocol"
)

// Ref is a proxy for a remote object. It is safe for concurrent use. A *Ref and the
// connection's *protocol.Ref for the same object are the same pointer: converting between them
// costs nothing, and one remote object has one proxy while it is alive.
type Ref protocol.Ref

var _ protocol.Proxy = (*Ref)(nil)

// From returns the proxy of a connection's reference (nil for nil).
func From(r *protocol.Ref) *Ref { return (*Ref)(r) }

// Root returns the proxy of the peer's root object (its service), sending GETROOT the first
// time; see [protocol.Conn.Root].
func Root(ctx context.Context, c *protocol.Conn) (*Ref, error) {
	r, err := c.Root(ctx)
	return (*Ref)(r), err
}

// Wrap turns the connection's references in a received value into proxies: a *protocol.Ref
// becomes a *Ref, and tuples are walked (and changed in place). Values from this package's
// operations are wrapped already; Wrap is for values received through package protocol.
func Wrap(v any) any {
	switch x := v.(type) {
	case *protocol.Ref:
		return (*Ref)(x)
	case brine.Tuple:
		for i, it := range x {
			x[i] = Wrap(it)
		}
	}
	return v
}

// ProtocolRef returns the connection's reference behind the proxy, so that boxing sends r as a
// reference to the peer's own object.
func (r *Ref) ProtocolRef() *protocol.Ref { return (*protocol.Ref)(r) }

// ID returns the object's id_pack.
func (r *Ref) ID() compat.IDPack { return r.ProtocolRef().ID() }

// Conn returns the connection the object lives behind.
func (r *Ref) Conn() *protocol.Conn { return r.ProtocolRef().Conn() }

// TypeName returns the remote type's dotted name ("builtins.list", "mymodule.Thing"), from the
// id_pack, without a request.
func (r *Ref) TypeName() string { return r.ProtocolRef().TypeName() }

// IsClass reports whether the remote object is a class (its instance id is 0).
func (r *Ref) IsClass() bool { return r.ProtocolRef().IsClass() }

// Released reports whether Release has been called.
func (r *Ref) Released() bool { return r.ProtocolRef().Released() }

// Release gives the references back to the owner (one asynchronous HANDLE_DEL with the count of
// references received). Later operations on the Ref fail. Release is idempotent and never
// blocks; it does nothing for a connection's root.
func (r *Ref) Release() { r.ProtocolRef().Release() }

// String describes the proxy without a request (use Str for the remote str()).
func (r *Ref) String() string { return r.ProtocolRef().String() }
