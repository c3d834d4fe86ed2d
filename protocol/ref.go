package protocol

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/gorpyc/rpyc/compat"
)

// Ref is the connection's record of one object of the peer: its id_pack and how many references
// to it this side received. Unboxing a REMOTE_REF yields a *Ref (one per object while it is
// alive: the same id arriving again counts one more reference on the same *Ref). Package netref
// turns a *Ref into the proxy users hold, with the object's operations; this type only names the
// object and gives its references back.
//
// A Ref that becomes unreachable gives its references back by itself (one HANDLE_DEL), like a
// Python netref's __del__; Release does it at once.
type Ref struct {
	st *refState
}

// refState is kept apart from the Ref so that the cleanup can run after the Ref is unreachable.
type refState struct {
	conn     *Conn
	id       compat.IDPack
	count    atomic.Int64 // references received (1 + one per repeated REMOTE_REF)
	released atomic.Bool
	pinned   bool // the peer's root: never released (Python never sends DEL for it)
}

// Proxy is implemented by values that stand for an object of the peer: boxing sends such a value
// as a reference to that object (LABEL_LOCAL_REF) when it belongs to the same connection. *Ref
// implements it, and so does netref's proxy.
type Proxy interface {
	ProtocolRef() *Ref
}

var _ Proxy = (*Ref)(nil)

func newRef(c *Conn, id compat.IDPack) *Ref {
	r := &Ref{st: &refState{conn: c, id: id}}
	r.st.count.Store(1)
	runtime.AddCleanup(r, func(s *refState) { s.release() }, r.st)
	return r
}

// ProtocolRef returns r.
func (r *Ref) ProtocolRef() *Ref { return r }

// acquire records one more reference received for the same object. It reports false if the Ref
// was already released, in which case the caller makes a new one.
func (r *Ref) acquire() bool {
	if r.st.released.Load() {
		return false
	}
	r.st.count.Add(1)
	return !r.st.released.Load()
}

// ID returns the object's id_pack.
func (r *Ref) ID() compat.IDPack { return r.st.id }

// Conn returns the connection the object lives behind.
func (r *Ref) Conn() *Conn { return r.st.conn }

// TypeName returns the remote type's dotted name ("builtins.list", "mymodule.Thing"), from the
// id_pack, without a request.
func (r *Ref) TypeName() string { return r.st.id.Name }

// IsClass reports whether the remote object is a class (its instance id is 0).
func (r *Ref) IsClass() bool { return r.st.id.InstanceID == 0 }

// Released reports whether Release has been called.
func (r *Ref) Released() bool { return r.st.released.Load() }

// Release gives the references back to the owner (one asynchronous HANDLE_DEL with the count of
// references received). Later requests naming the object fail. Release is idempotent and never
// blocks; it does nothing for the connection's root.
func (r *Ref) Release() { r.st.release() }

func (s *refState) release() {
	if s.pinned || s.released.Swap(true) {
		return
	}
	s.conn.release(s.id, s.count.Load())
}

// String describes the reference without a request.
func (r *Ref) String() string {
	return "<netref " + r.st.id.Name + " " + r.st.id.String() + ">"
}

// AsyncResult is the pending result of an asynchronous request (Python's AsyncResult). It is
// safe for concurrent use.
type AsyncResult struct {
	done  chan struct{}
	once  sync.Once
	value any
	err   error
}

func newAsyncResult() *AsyncResult { return &AsyncResult{done: make(chan struct{})} }

// resolve sets the result and wakes every waiter. Only the first call has an effect.
func (a *AsyncResult) resolve(value any, err error) {
	a.once.Do(func() {
		a.value, a.err = value, err
		close(a.done)
	})
}

// Done returns a channel closed when the result is ready.
func (a *AsyncResult) Done() <-chan struct{} { return a.done }

// Ready reports whether the result has arrived.
func (a *AsyncResult) Ready() bool {
	select {
	case <-a.done:
		return true
	default:
		return false
	}
}

// Wait blocks until the result arrives or ctx ends, and returns it. Giving up on the wait does
// not cancel the remote call (RPyC has no cancel message); the late reply is discarded.
func (a *AsyncResult) Wait(ctx context.Context) (any, error) {
	select {
	case <-a.done:
		return a.value, a.err
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

// Value returns the result value, or nil if it is not ready or the request failed.
func (a *AsyncResult) Value() any {
	if !a.Ready() {
		return nil
	}
	return a.value
}

// Err returns the request's error, or nil if it is not ready or it succeeded.
func (a *AsyncResult) Err() error {
	if !a.Ready() {
		return nil
	}
	return a.err
}
