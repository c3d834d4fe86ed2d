package pyobj

import (
	"context"
	"fmt"
	"io"
	"reflect"

	"github.com/gorpyc/rpyc/brine"
	"github.com/gorpyc/rpyc/netref"
	"github.com/gorpyc/rpyc/protocol"
)

// Handler is the standard [protocol.Objects]: it serves the peer's requests on Go values as
// this package describes. Its zero value is ready to use; it holds no state.
type Handler struct{}

var _ protocol.Objects = Handler{}

// NamePack names obj's type for the peer; see [NamePacker].
func (Handler) NamePack(obj any) string { return namePack(obj) }

// ServeRequest answers one request on a local object.
func (Handler) ServeRequest(ctx context.Context, c *protocol.Conn, req protocol.Request) (any, error) {
	switch r := req.(type) {
	case *protocol.GetAttr:
		return getAttr(c, r.Obj, r.Name)
	case *protocol.SetAttr:
		return nil, setAttr(ctx, c, r.Obj, r.Name, netref.Wrap(r.Value))
	case *protocol.DelAttr:
		return nil, delAttr(c, r.Obj, r.Name)
	case *protocol.Call:
		wrapArgs(r.Args, r.Kwargs)
		return call(ctx, netref.Wrap(r.Fn), r.Args, r.Kwargs)
	case *protocol.CallAttr:
		wrapArgs(r.Args, r.Kwargs)
		return callAttr(ctx, c, r.Obj, r.Name, r.Args, r.Kwargs)
	case *protocol.Str:
		return strOf(r.Obj), nil
	case *protocol.Repr:
		return reprOf(r.Obj), nil
	case *protocol.Hash:
		return hashOf(r.Obj), nil
	case *protocol.Dir:
		return dirOf(c, r.Obj), nil
	case *protocol.Cmp:
		return cmpOf(r.Obj, netref.Wrap(r.Other), r.Op), nil
	case *protocol.Inspect:
		return inspectOf(r.Obj), nil
	case *protocol.Pickle:
		return nil, fmt.Errorf("%w: Go objects cannot be pickled", protocol.TypeError)
	case *protocol.BuffIter:
		return buffIter(ctx, c, r.Obj, r.Count)
	case *protocol.CtxExit:
		failed := r.Exc != nil
		switch cm := r.Obj.(type) {
		case ContextManager:
			return cm.RPyCExit(ctx, failed)
		case io.Closer:
			return false, cm.Close()
		}
		return nil, fmt.Errorf("%w: %s object is not a context manager", protocol.AttributeError, namePack(r.Obj))
	case *protocol.InstanceCheck:
		return false, nil
	}
	return nil, fmt.Errorf("%w: %v is not served by Go objects", protocol.TypeError, req.Handler())
}

// wrapArgs turns the peer's references among call arguments into proxies, in place.
func wrapArgs(args brine.Tuple, kwargs []protocol.Attr) {
	for i, a := range args {
		args[i] = netref.Wrap(a)
	}
	for i := range kwargs {
		kwargs[i].Value = netref.Wrap(kwargs[i].Value)
	}
}

// delAttr is delattr on a Go value: its fields and methods cannot be deleted.
func delAttr(c *protocol.Conn, obj any, name string) error {
	if obj != nil {
		if kind, _, _ := resolve(c, obj, infoFor(reflect.TypeOf(obj)), name); kind != attrNone {
			return fmt.Errorf("%w: '%s' object attribute %s cannot be deleted", protocol.AttributeError, pyClassName(obj), brine.Repr(name))
		}
	}
	return noAttribute(obj, name)
}
