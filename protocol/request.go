package protocol

import (
	"context"

	"github.com/gorpyc/rpyc/brine"
	"github.com/gorpyc/rpyc/compat"
)

// Objects gives local Go values their behaviour as Python objects: the connection decodes each
// of the peer's requests on a local object, applies the attribute access policy, and hands the
// typed request to its Objects, the way net/http hands a request to a Handler. Package pyobj
// provides the standard one; set it with [WithObjects].
//
// ServeRequest runs on a handler goroutine (never the reader) under ctx, which is canceled when
// the connection closes. Its result is boxed for the peer like any value; its error travels as
// a Python exception (see [ErrorClass]).
type Objects interface {
	ServeRequest(ctx context.Context, c *Conn, req Request) (any, error)
	// NamePack returns the name under which obj is exported (the first item of its id_pack,
	// "module.Type"); a Python client picks the proxy class by it.
	NamePack(obj any) string
}

// Request is one of the peer's requests on a local object, decoded and checked: one of
// *GetAttr, *SetAttr, *DelAttr, *Call, *CallAttr, *Str, *Repr, *Hash, *Dir, *Cmp, *Inspect,
// *Pickle, *BuffIter, *CtxExit or *InstanceCheck. (PING, GETROOT, DEL and CLOSE are the
// connection's own.)
type Request interface {
	// Handler returns the request's HANDLE_* number.
	Handler() compat.Handler
}

// GetAttr is getattr(Obj, Name). Name passed the access policy; the exposed prefix is removed.
type GetAttr struct {
	Obj  any
	Name string
}

// SetAttr is setattr(Obj, Name, Value); it arrives only when allow_setattr is on.
type SetAttr struct {
	Obj   any
	Name  string
	Value any
}

// DelAttr is delattr(Obj, Name); it arrives only when allow_delattr is on.
type DelAttr struct {
	Obj  any
	Name string
}

// Call is Fn(*Args, **Kwargs).
type Call struct {
	Fn     any
	Args   brine.Tuple
	Kwargs []Attr
}

// CallAttr is Obj.Name(*Args, **Kwargs) in one request, as getattr then call would do. Name
// passed the access policy like GetAttr's.
type CallAttr struct {
	Obj    any
	Name   string
	Args   brine.Tuple
	Kwargs []Attr
}

// Str is str(Obj).
type Str struct{ Obj any }

// Repr is repr(Obj).
type Repr struct{ Obj any }

// Hash is hash(Obj).
type Hash struct{ Obj any }

// Dir is dir(Obj).
type Dir struct{ Obj any }

// Cmp is a rich comparison: Op is "__eq__", "__lt__", ... (or "__cmp__" from old peers).
type Cmp struct {
	Obj, Other any
	Op         string
}

// Inspect asks for the (name, doc) pairs a Python client builds its proxy class from.
type Inspect struct{ Obj any }

// Pickle is pickle.dumps(Obj, Proto) (Proto -1: the default); it arrives only when allow_pickle
// is on.
type Pickle struct {
	Obj   any
	Proto int64
}

// BuffIter takes up to Count items from the iterator Obj at once (Python's buffiter).
type BuffIter struct {
	Obj   any
	Count int
}

// CtxExit is Obj.__exit__: Exc is the exception that ended the with-block, or nil.
type CtxExit struct {
	Obj any
	Exc any
}

// InstanceCheck is isinstance(Other, Obj) for a class Obj; Other is the id_pack tuple of a peer
// object.
type InstanceCheck struct {
	Obj   any
	Other any
}

// Handler returns compat.HandleGetAttr.
func (*GetAttr) Handler() compat.Handler { return compat.HandleGetAttr }

// Handler returns compat.HandleSetAttr.
func (*SetAttr) Handler() compat.Handler { return compat.HandleSetAttr }

// Handler returns compat.HandleDelAttr.
func (*DelAttr) Handler() compat.Handler { return compat.HandleDelAttr }

// Handler returns compat.HandleCall.
func (*Call) Handler() compat.Handler { return compat.HandleCall }

// Handler returns compat.HandleCallAttr.
func (*CallAttr) Handler() compat.Handler { return compat.HandleCallAttr }

// Handler returns compat.HandleStr.
func (*Str) Handler() compat.Handler { return compat.HandleStr }

// Handler returns compat.HandleRepr.
func (*Repr) Handler() compat.Handler { return compat.HandleRepr }

// Handler returns compat.HandleHash.
func (*Hash) Handler() compat.Handler { return compat.HandleHash }

// Handler returns compat.HandleDir.
func (*Dir) Handler() compat.Handler { return compat.HandleDir }

// Handler returns compat.HandleCmp.
func (*Cmp) Handler() compat.Handler { return compat.HandleCmp }

// Handler returns compat.HandleInspect.
func (*Inspect) Handler() compat.Handler { return compat.HandleInspect }

// Handler returns compat.HandlePickle.
func (*Pickle) Handler() compat.Handler { return compat.HandlePickle }

// Handler returns compat.HandleBuffIter.
func (*BuffIter) Handler() compat.Handler { return compat.HandleBuffIter }

// Handler returns compat.HandleCtxExit.
func (*CtxExit) Handler() compat.Handler { return compat.HandleCtxExit }

// Handler returns compat.HandleInstanceCheck.
func (*InstanceCheck) Handler() compat.Handler { return compat.HandleInstanceCheck }
