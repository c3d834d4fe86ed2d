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

// serve runs one incoming request against local objects. A panic in Go code becomes an exception
// for this request only.
func (c *Conn) serve(h compat.Handler, args brine.Tuple) (result any, err error) {
	return c.serveCtx(c.ctx, h, args)
}

// serveCtx is serve with the context handed to user code.
func (c *Conn) serveCtx(ctx context.Context, h compat.Handler, args brine.Tuple) (result any, err error) {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("rpyc: panic in handler", "handler", h, "panic", r)
			result, err = nil, fmt.Errorf("%w: %w", RuntimeError, newPanicError(r))
		}
	}()
	need := func(min, max int) error {
		if len(args) < min || len(args) > max {
			return fmt.Errorf("%w: %v takes %d to %d arguments, got %d", TypeError, h, min, max, len(args))
		}
		return nil
	}
	switch h {
	case compat.HandlePing:
		if err := need(1, 1); err != nil {
			return nil, err
		}
		return args[0], nil
	case compat.HandleGetRoot:
		if c.root == nil {
			return VoidService{}, nil
		}
		return c.root, nil
	case compat.HandleGetAttr:
		if err := need(2, 2); err != nil {
			return nil, err
		}
		name, err := attrName(args[1])
		if err != nil {
			return nil, err
		}
		real, err := c.checkAttr(name, c.cfg.AllowGetAttr, "allow_getattr")
		if err != nil {
			return nil, err
		}
		return c.getAttr(args[0], real)
	case compat.HandleSetAttr:
		if err := need(3, 3); err != nil {
			return nil, err
		}
		name, err := attrName(args[1])
		if err != nil {
			return nil, err
		}
		real, err := c.checkAttr(name, c.cfg.AllowSetAttr, "allow_setattr")
		if err != nil {
			return nil, err
		}
		return nil, c.setAttr(args[0], real, args[2])
	case compat.HandleDelAttr:
		if err := need(2, 2); err != nil {
			return nil, err
		}
		name, err := attrName(args[1])
		if err != nil {
			return nil, err
		}
		if _, err := c.checkAttr(name, c.cfg.AllowDelAttr, "allow_delattr"); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%w: Go objects cannot delete attribute %q", AttributeError, name)
	case compat.HandleCall:
		if err := need(1, 3); err != nil {
			return nil, err
		}
		pos, kw, err := callArgs(args[1:])
		if err != nil {
			return nil, err
		}
		return c.call(ctx, args[0], pos, kw)
	case compat.HandleCallAttr:
		if err := need(2, 4); err != nil {
			return nil, err
		}
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
	case compat.HandleStr:
		if err := need(1, 1); err != nil {
			return nil, err
		}
		return strOf(args[0]), nil
	case compat.HandleRepr:
		if err := need(1, 1); err != nil {
			return nil, err
		}
		return reprOf(args[0]), nil
	case compat.HandleHash:
		if err := need(1, 1); err != nil {
			return nil, err
		}
		return hashOf(args[0]), nil
	case compat.HandleDir:
		if err := need(1, 1); err != nil {
			return nil, err
		}
		if args[0] == nil {
			return brine.Tuple{}, nil
		}
		names := infoFor(reflect.TypeOf(args[0])).names
		t := make(brine.Tuple, len(names))
		for i, n := range names {
			t[i] = n
		}
		return t, nil
	case compat.HandleCmp:
		if err := need(2, 3); err != nil {
			return nil, err
		}
		op := "__cmp__"
		if len(args) == 3 {
			op, _ = args[2].(string)
		}
		return cmpOf(args[0], args[1], op), nil
	case compat.HandleInspect:
		if err := need(1, 1); err != nil {
			return nil, err
		}
		obj, err := c.local(args[0])
		if err != nil {
			return nil, err
		}
		return inspectOf(obj), nil
	case compat.HandlePickle:
		if !c.cfg.AllowPickle {
			return nil, fmt.Errorf("%w: pickling is disabled", ValueError)
		}
		return nil, fmt.Errorf("%w: Go objects cannot be pickled", TypeError)
	case compat.HandleBuffIter:
		if err := need(2, 2); err != nil {
			return nil, err
		}
		n, ok := args[1].(int64)
		if !ok || n < 0 {
			return nil, fmt.Errorf("%w: BUFFITER count must be a non-negative int", TypeError)
		}
		if it, ok := args[0].(*goIterator); ok {
			return it.take(int(min(n, 100000))), nil
		}
		return nil, fmt.Errorf("%w: %s object is not an iterator", TypeError, namePack(args[0]))
	case compat.HandleOldSlicing:
		return nil, fmt.Errorf("%w: %v is not supported by Go objects", TypeError, h)
	case compat.HandleCtxExit:
		if err := need(1, 2); err != nil {
			return nil, err
		}
		failed := len(args) == 2 && args[1] != nil
		switch cm := args[0].(type) {
		case ContextManager:
			return cm.RPyCExit(ctx, failed)
		case io.Closer:
			return false, cm.Close()
		}
		return nil, fmt.Errorf("%w: %s object is not a context manager", AttributeError, namePack(args[0]))
	case compat.HandleInstanceCheck:
		return false, nil
	}
	return nil, fmt.Errorf("%w: %d", KeyError, int(h))
}

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
