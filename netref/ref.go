// Package netref provides Ref, the Go proxy of an object that lives on the other side of an RPyC
// connection (Python's netref), and AsyncResult.
//
// A Ref forwards every operation to its owner as a request: attribute access (GETATTR, SETATTR,
// DELATTR), calls (CALL, or CALLATTR for a method by name), str/repr/dir/hash, comparisons,
// len/indexing/containment, iteration (BUFFITER), context managers (CTXEXIT) and isinstance
// checks. Every operation takes a context; a context without a deadline gets the connection's
// sync_request_timeout (30 s by default).
//
// Results are Go values in brine's value model (see package brine) or *Ref for objects that
// stay remote: Python lists, dicts, sets, instances and modules arrive as *Ref. Use [As] to
// convert a result to a Go type.
//
// A Ref holds references on its owner's object table. Call [Ref.Release] when done; a Ref that
// becomes unreachable is released by a cleanup as a fallback, like Python's __del__.
package netref

import (
	"context"
	"runtime"
	"sync/atomic"

	"github.com/gorpyc/rpyc/compat"
)

// Conn is what a Ref needs from its connection. *protocol.Conn implements it.
type Conn interface {
	// Request sends a synchronous request with the given handler arguments (boxed by the
	// connection) and returns the unboxed reply.
	Request(ctx context.Context, h compat.Handler, args ...any) (any, error)
	// RequestAsync sends a request and returns at once.
	RequestAsync(h compat.Handler, args ...any) *AsyncResult
	// Release tells the owner that count references to id are gone (async HANDLE_DEL).
	Release(id compat.IDPack, count int64)
}

// Ref is a proxy for a remote object. It is safe for concurrent use.
type Ref struct {
	st *state
}

// state is kept apart from the Ref so that the cleanup can run after the Ref is unreachable.
type state struct {
	conn     Conn
	id       compat.IDPack
	count    atomic.Int64 // references received (1 + one per repeated REMOTE_REF)
	released atomic.Bool
	pinned   bool // the root: never released (Python never sends DEL for it)
}

// New makes a Ref for id on conn holding one reference. Connections call it when they unbox a
// remote reference; user code receives Refs from requests.
func New(conn Conn, id compat.IDPack) *Ref {
	r := &Ref{st: &state{conn: conn, id: id}}
	r.st.count.Store(1)
	runtime.AddCleanup(r, func(s *state) { s.release() }, r.st)
	return r
}

// NewPinned makes a Ref that is never released, for a connection's remote root.
func NewPinned(conn Conn, id compat.IDPack) *Ref {
	return &Ref{st: &state{conn: conn, id: id, pinned: true}}
}

// Acquire records one more reference received for the same object (the connection reuses a
// live Ref when the same id arrives again). It reports false if the Ref was already released,
// in which case the caller must make a new one.
func (r *Ref) Acquire() bool {
	if r.st.released.Load() {
		return false
	}
	r.st.count.Add(1)
	return !r.st.released.Load()
}

// ID returns the object's id_pack.
func (r *Ref) ID() compat.IDPack { return r.st.id }

// Conn returns the connection the object lives behind.
func (r *Ref) Conn() Conn { return r.st.conn }

// TypeName returns the remote type's dotted name ("builtins.list", "mymodule.Thing"), from the
// id_pack, without a request.
func (r *Ref) TypeName() string { return r.st.id.Name }

// IsClass reports whether the remote object is a class (its instance id is 0).
func (r *Ref) IsClass() bool { return r.st.id.InstanceID == 0 }

// Released reports whether Release has been called.
func (r *Ref) Released() bool { return r.st.released.Load() }

// Release gives the references back to the owner (one asynchronous HANDLE_DEL with the count of
// references received). Later operations on the Ref fail. Release is idempotent and never
// blocks; it does nothing for a connection's root.
func (r *Ref) Release() {
	r.st.release()
}

func (s *state) release() {
	if s.pinned || s.released.Swap(true) {
		return
	}
	s.conn.Release(s.id, s.count.Load())
}

// String describes the proxy without a request (use Str for the remote str()).
func (r *Ref) String() string {
	return "<netref " + r.st.id.Name + " " + r.st.id.String() + ">"
}
