package protocol

import (
	"context"

	"github.com/gorpyc/rpyc/brine"
)

// Chained proxies. A proxy of another connection's object passed to this connection's peer (an
// argument, a result, an item of a tuple) is exported like any local value, under the remote
// type's name ("builtins.list"), and every request the peer makes on it is forwarded to the
// object's owner as the same request: getattr, calls, str, repr, len, iteration, comparisons,
// with-blocks... The owner's answer comes back the same way (a reference in it is exported in
// turn). So the peer sees the object as if it were the owner's own, as Python's rpyc does when
// a netref of one connection is passed on another. The forwarded request runs under the
// handler's context, bounded by the owner connection's request timeout; an error of the owner,
// its remote exceptions included, is raised to the peer with the same class.

// forwarded returns the proxy of another connection that req is about, or nil.
func (c *Conn) forwarded(req Request) *Ref {
	var obj any
	switch r := req.(type) {
	case *GetAttr:
		obj = r.Obj
	case *SetAttr:
		obj = r.Obj
	case *DelAttr:
		obj = r.Obj
	case *Call:
		obj = r.Fn
	case *CallAttr:
		obj = r.Obj
	case *Str:
		obj = r.Obj
	case *Repr:
		obj = r.Obj
	case *Hash:
		obj = r.Obj
	case *Dir:
		obj = r.Obj
	case *Cmp:
		obj = r.Obj
	case *Inspect:
		obj = r.Obj
	case *Pickle:
		obj = r.Obj
	case *BuffIter:
		obj = r.Obj
	case *CtxExit:
		obj = r.Obj
	case *InstanceCheck:
		obj = r.Obj
	}
	if r, ok := obj.(*Ref); ok && r.Conn() != c {
		return r
	}
	return nil
}

// forward sends req about r to r's connection and returns the owner's answer.
func (c *Conn) forward(ctx context.Context, r *Ref, req Request) (any, error) {
	owner := r.Conn()
	switch q := req.(type) {
	case *GetAttr:
		return owner.Request(ctx, q.Handler(), r, q.Name)
	case *SetAttr:
		return owner.Request(ctx, q.Handler(), r, q.Name, q.Value)
	case *DelAttr:
		return owner.Request(ctx, q.Handler(), r, q.Name)
	case *Call:
		return owner.Request(ctx, q.Handler(), r, callTuple(q.Args), kwTuple(q.Kwargs))
	case *CallAttr:
		return owner.Request(ctx, q.Handler(), r, q.Name, callTuple(q.Args), kwTuple(q.Kwargs))
	case *Cmp:
		return owner.Request(ctx, q.Handler(), r, q.Other, q.Op)
	case *Inspect:
		return owner.Request(ctx, q.Handler(), r.ID()) // INSPECT names the object by its id_pack
	case *Pickle:
		return owner.Request(ctx, q.Handler(), r, q.Proto)
	case *BuffIter:
		return owner.Request(ctx, q.Handler(), r, int64(q.Count))
	case *CtxExit:
		return owner.Request(ctx, q.Handler(), r, q.Exc)
	case *InstanceCheck:
		return owner.Request(ctx, q.Handler(), r, q.Other)
	}
	return owner.Request(ctx, req.Handler(), r) // Str, Repr, Hash, Dir
}

func callTuple(args brine.Tuple) brine.Tuple {
	if args == nil {
		return brine.Tuple{}
	}
	return args
}

func kwTuple(kw []Attr) brine.Tuple {
	t := make(brine.Tuple, len(kw))
	for i, a := range kw {
		t[i] = brine.Tuple{a.Name, a.Value}
	}
	return t
}
