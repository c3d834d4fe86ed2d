package protocol

import (
	"context"
	"fmt"
	"hash/maphash"
	"io"
	"reflect"
	"sort"

	"github.com/gorpyc/rpyc/brine"
	"github.com/gorpyc/rpyc/compat"
	"github.com/gorpyc/rpyc/netref"
)

// VoidService is the root served when a connection has none, like Python's VoidService.
type VoidService struct{}

// GetServiceName returns "VOID".
func (VoidService) GetServiceName() string { return "VOID" }

// GetServiceAliases returns ("VOID",).
func (VoidService) GetServiceAliases() brine.Tuple { return brine.Tuple{"VOID"} }

// A handlerSpec describes how the connection serves one HANDLE_* request: the arity of its
// (unboxed) arguments, whether the reader may answer it itself, and the function that serves it.
// HANDLE_CLOSE and HANDLE_DEL are not in the table: the reader applies them before unboxing,
// in arrival order.
type handlerSpec struct {
	min, max int
	// inline reports, for these arguments, that serving runs no user code and cannot block,
	// so the reader answers at once (nil: never).
	inline func(args brine.Tuple) bool
	serve  func(c *Conn, ctx context.Context, args brine.Tuple) (any, error)
}

func always(brine.Tuple) bool { return true }

// handlerTable holds one entry per request handler, indexed by its number.
var handlerTable [compat.HandleInstanceCheck + 1]*handlerSpec

func init() {
	handlerTable = [...]*handlerSpec{
		compat.HandlePing:          {min: 1, max: 1, inline: always, serve: servePing},
		compat.HandleGetRoot:       {min: 0, max: 0, inline: always, serve: serveGetRoot},
		compat.HandleGetAttr:       {min: 2, max: 2, inline: plainGetAttr, serve: serveGetAttr},
		compat.HandleDelAttr:       {min: 2, max: 2, serve: serveDelAttr},
		compat.HandleSetAttr:       {min: 3, max: 3, serve: serveSetAttr},
		compat.HandleCall:          {min: 1, max: 3, serve: serveCall},
		compat.HandleCallAttr:      {min: 2, max: 4, serve: serveCallAttr},
		compat.HandleRepr:          {min: 1, max: 1, serve: serveRepr},
		compat.HandleStr:           {min: 1, max: 1, serve: serveStr},
		compat.HandleCmp:           {min: 2, max: 3, serve: serveCmp},
		compat.HandleHash:          {min: 1, max: 1, serve: serveHash},
		compat.HandleDir:           {min: 1, max: 1, inline: always, serve: serveDir},
		compat.HandlePickle:        {min: 0, max: 2, serve: servePickle},
		compat.HandleInspect:       {min: 1, max: 1, inline: always, serve: serveInspect},
		compat.HandleBuffIter:      {min: 2, max: 2, serve: serveBuffIter},
		compat.HandleOldSlicing:    {min: 0, max: 6, serve: serveOldSlicing},
		compat.HandleCtxExit:       {min: 1, max: 2, serve: serveCtxExit},
		compat.HandleInstanceCheck: {min: 0, max: 3, serve: serveInstanceCheck},
	}
}

// lookupHandler returns the spec of h, or nil for a handler the protocol does not have.
func lookupHandler(h compat.Handler) *handlerSpec {
	if int(h) < len(handlerTable) {
		return handlerTable[h]
	}
	return nil
}

// serve runs one incoming request against local objects. A panic in Go code becomes an exception
// for this request only.
func (c *Conn) serve(ctx context.Context, h compat.Handler, spec *handlerSpec, args brine.Tuple) (result any, err error) {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("rpyc: panic in handler", "handler", h, "panic", r)
			result, err = nil, fmt.Errorf("%w: %w", RuntimeError, newPanicError(r))
		}
	}()
	return spec.serve(c, ctx, args)
}

func servePing(_ *Conn, _ context.Context, args brine.Tuple) (any, error) { return args[0], nil }

func serveGetRoot(c *Conn, _ context.Context, _ brine.Tuple) (any, error) {
	if c.root == nil {
		return VoidService{}, nil
	}
	return c.root, nil
}

// plainGetAttr: GETATTR runs user code only on objects with their own RPyCGetAttr.
func plainGetAttr(args brine.Tuple) bool {
	_, custom := args[0].(interface {
		RPyCGetAttr(name string) (any, error)
	})
	return !custom
}

func serveGetAttr(c *Conn, _ context.Context, args brine.Tuple) (any, error) {
	name, err := attrName(args[1])
	if err != nil {
		return nil, err
	}
	real, err := c.checkAttr(name, c.cfg.AllowGetAttr, "allow_getattr")
	if err != nil {
		return nil, err
	}
	return c.getAttr(args[0], real)
}

func serveSetAttr(c *Conn, _ context.Context, args brine.Tuple) (any, error) {
	name, err := attrName(args[1])
	if err != nil {
		return nil, err
	}
	real, err := c.checkAttr(name, c.cfg.AllowSetAttr, "allow_setattr")
	if err != nil {
		return nil, err
	}
	return nil, c.setAttr(args[0], real, args[2])
}

func serveDelAttr(c *Conn, _ context.Context, args brine.Tuple) (any, error) {
	name, err := attrName(args[1])
	if err != nil {
		return nil, err
	}
	if _, err := c.checkAttr(name, c.cfg.AllowDelAttr, "allow_delattr"); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("%w: Go objects cannot delete attribute %q", AttributeError, name)
}

func serveCall(c *Conn, ctx context.Context, args brine.Tuple) (any, error) {
	pos, kw, err := callArgs(args[1:])
	if err != nil {
		return nil, err
	}
	return c.call(ctx, args[0], pos, kw)
}

func serveCallAttr(c *Conn, ctx context.Context, args brine.Tuple) (any, error) {
	name, err := attrName(args[1])
	if err != nil {
		return nil, err
	}
	pos, kw, err := callArgs(args[2:])
	if err != nil {
		return nil, err
	}
	real, err := c.checkAttr(name, c.cfg.AllowGetAttr, "allow_getattr")
	if err != nil {
		return nil, err
	}
	fn, err := c.getAttr(args[0], real)
	if err != nil {
		return nil, err
	}
	return c.call(ctx, fn, pos, kw)
}

func serveStr(_ *Conn, _ context.Context, args brine.Tuple) (any, error) { return strOf(args[0]), nil }

func serveRepr(_ *Conn, _ context.Context, args brine.Tuple) (any, error) {
	return reprOf(args[0]), nil
}

func serveHash(_ *Conn, _ context.Context, args brine.Tuple) (any, error) {
	return hashOf(args[0]), nil
}

func serveDir(_ *Conn, _ context.Context, args brine.Tuple) (any, error) {
	if args[0] == nil {
		return brine.Tuple{}, nil
	}
	names := infoFor(reflect.TypeOf(args[0])).names
	t := make(brine.Tuple, len(names))
	for i, n := range names {
		t[i] = n
	}
	return t, nil
}

func serveCmp(_ *Conn, _ context.Context, args brine.Tuple) (any, error) {
	op := "__cmp__"
	if len(args) == 3 {
		op, _ = args[2].(string)
	}
	return cmpOf(args[0], args[1], op), nil
}

func serveInspect(c *Conn, _ context.Context, args brine.Tuple) (any, error) {
	obj, err := c.local(args[0])
	if err != nil {
		return nil, err
	}
	return inspectOf(obj), nil
}

func servePickle(c *Conn, _ context.Context, _ brine.Tuple) (any, error) {
	if !c.cfg.AllowPickle {
		return nil, fmt.Errorf("%w: pickling is disabled", ValueError)
	}
	return nil, fmt.Errorf("%w: Go objects cannot be pickled", TypeError)
}

func serveBuffIter(_ *Conn, _ context.Context, args brine.Tuple) (any, error) {
	n, ok := args[1].(int64)
	if !ok || n < 0 {
		return nil, fmt.Errorf("%w: BUFFITER count must be a non-negative int", TypeError)
	}
	if it, ok := args[0].(*goIterator); ok {
		return it.take(int(min(n, 100000))), nil
	}
	return nil, fmt.Errorf("%w: %s object is not an iterator", TypeError, namePack(args[0]))
}

func serveOldSlicing(_ *Conn, _ context.Context, _ brine.Tuple) (any, error) {
	return nil, fmt.Errorf("%w: %v is not supported by Go objects", TypeError, compat.HandleOldSlicing)
}

func serveCtxExit(_ *Conn, ctx context.Context, args brine.Tuple) (any, error) {
	failed := len(args) == 2 && args[1] != nil
	switch cm := args[0].(type) {
	case ContextManager:
		return cm.RPyCExit(ctx, failed)
	case io.Closer:
		return false, cm.Close()
	}
	return nil, fmt.Errorf("%w: %s object is not a context manager", AttributeError, namePack(args[0]))
}

func serveInstanceCheck(_ *Conn, _ context.Context, _ brine.Tuple) (any, error) { return false, nil }

func attrName(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case []byte:
		return string(x), nil // Python accepts bytes names too
	}
	return "", fmt.Errorf("%w: name must be a string", TypeError)
}

// callArgs splits CALL/CALLATTR's (args, kwargs=()) tail.
func callArgs(rest brine.Tuple) (brine.Tuple, []Attr, error) {
	var pos brine.Tuple
	if len(rest) > 0 && rest[0] != nil {
		t, ok := rest[0].(brine.Tuple)
		if !ok {
			return nil, nil, fmt.Errorf("%w: call arguments must be a tuple", TypeError)
		}
		pos = t
	}
	var kw []Attr
	if len(rest) > 1 && rest[1] != nil {
		pairs, ok := rest[1].(brine.Tuple)
		if !ok {
			return nil, nil, fmt.Errorf("%w: keyword arguments must be a tuple of pairs", TypeError)
		}
		for _, p := range pairs {
			kv, ok := p.(brine.Tuple)
			if !ok || len(kv) != 2 {
				return nil, nil, fmt.Errorf("%w: keyword arguments must be a tuple of pairs", TypeError)
			}
			name, ok := kv[0].(string)
			if !ok {
				return nil, nil, fmt.Errorf("%w: keywords must be strings", TypeError)
			}
			kw = append(kw, Attr{Name: name, Value: kv[1]})
		}
	}
	return pos, kw, nil
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

func reprOf(v any) string {
	if r, ok := v.(interface{ RPyCRepr() string }); ok {
		return r.RPyCRepr()
	}
	if v == nil {
		return "None"
	}
	if brine.Dumpable(v) {
		return pyRepr(v)
	}
	// Like Python's default repr: the type and an address, never field values (unexported
	// fields must not leak).
	if t := reflect.TypeOf(v); t.Kind() == reflect.Func {
		return fmt.Sprintf("<Go function %s>", t)
	}
	if idn, ok := identityOf(v); ok {
		return fmt.Sprintf("<%s object at 0x%x>", namePack(v), idn.ptr)
	}
	return fmt.Sprintf("<%s object>", namePack(v))
}

var hashSeed = maphash.MakeSeed()

func hashOf(v any) int64 {
	if idn, ok := identityOf(v); ok {
		return int64(idn.ptr>>3) & (1<<61 - 1)
	}
	return int64(maphash.String(hashSeed, fmt.Sprintf("%T:%v", v, v)) >> 3)
}

func cmpOf(a, b any, op string) any {
	if r, ok := b.(*netref.Ref); ok {
		_ = r
		return brine.NotImplemented
	}
	var eq bool
	ia, okA := identityOf(a)
	ib, okB := identityOf(b)
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
		RPyCCall(context.Context, brine.Tuple, []Attr) (any, error)
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
