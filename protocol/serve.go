package protocol

import (
	"context"
	"fmt"
	"strings"

	"github.com/gorpyc/rpyc/brine"
	"github.com/gorpyc/rpyc/compat"
)

// VoidService is the root served when a connection has none, like Python's VoidService.
type VoidService struct{}

// GetServiceName returns "VOID".
func (VoidService) GetServiceName() string { return "VOID" }

// GetServiceAliases returns ("VOID",).
func (VoidService) GetServiceAliases() brine.Tuple { return brine.Tuple{"VOID"} }

// A handlerSpec describes how the connection serves one HANDLE_* request: the arity of its
// (unboxed) arguments, whether the reader answers it itself (it runs no user code), and the
// function that serves it. HANDLE_CLOSE and HANDLE_DEL are not in the table: the reader applies
// them before unboxing, in arrival order.
type handlerSpec struct {
	min, max int
	inline   bool
	serve    func(c *Conn, ctx context.Context, args brine.Tuple) (any, error)
}

// handlerTable holds one entry per request handler, indexed by its number.
var handlerTable [compat.HandleInstanceCheck + 1]*handlerSpec

func init() {
	handlerTable = [...]*handlerSpec{
		compat.HandlePing:          {min: 1, max: 1, inline: true, serve: servePing},
		compat.HandleGetRoot:       {min: 0, max: 0, inline: true, serve: serveGetRoot},
		compat.HandleGetAttr:       {min: 2, max: 2, serve: serveGetAttr},
		compat.HandleDelAttr:       {min: 2, max: 2, serve: serveDelAttr},
		compat.HandleSetAttr:       {min: 3, max: 3, serve: serveSetAttr},
		compat.HandleCall:          {min: 1, max: 3, serve: serveCall},
		compat.HandleCallAttr:      {min: 2, max: 4, serve: serveCallAttr},
		compat.HandleRepr:          {min: 1, max: 1, serve: objectRequest(func(a brine.Tuple) Request { return &Repr{Obj: a[0]} })},
		compat.HandleStr:           {min: 1, max: 1, serve: objectRequest(func(a brine.Tuple) Request { return &Str{Obj: a[0]} })},
		compat.HandleCmp:           {min: 2, max: 3, serve: serveCmp},
		compat.HandleHash:          {min: 1, max: 1, serve: objectRequest(func(a brine.Tuple) Request { return &Hash{Obj: a[0]} })},
		compat.HandleDir:           {min: 1, max: 1, serve: objectRequest(func(a brine.Tuple) Request { return &Dir{Obj: a[0]} })},
		compat.HandlePickle:        {min: 1, max: 2, serve: servePickle},
		compat.HandleInspect:       {min: 1, max: 1, serve: serveInspect},
		compat.HandleBuffIter:      {min: 2, max: 2, serve: serveBuffIter},
		compat.HandleOldSlicing:    {min: 0, max: 6, serve: serveOldSlicing},
		compat.HandleCtxExit:       {min: 1, max: 2, serve: serveCtxExit},
		compat.HandleInstanceCheck: {min: 2, max: 2, serve: serveInstanceCheck},
	}
}

// lookupHandler returns the spec of h, or nil for a handler the protocol does not have.
func lookupHandler(h compat.Handler) *handlerSpec {
	if int(h) < len(handlerTable) {
		return handlerTable[h]
	}
	return nil
}

// serve runs one incoming request. A panic in Go code becomes an exception for this request
// only.
func (c *Conn) serve(ctx context.Context, h compat.Handler, spec *handlerSpec, args brine.Tuple) (result any, err error) {
	if c.cfg.Observer != nil {
		var done func(error)
		ctx, done = c.cfg.Observer.Request(ctx, c, h, true)
		defer func() { done(err) }()
	}
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("rpyc: panic in handler", "handler", h, "panic", r)
			result, err = nil, fmt.Errorf("%w: %w", RuntimeError, newPanicError(r))
		}
	}()
	return spec.serve(c, ctx, args)
}

// objects passes a decoded request to the connection's Objects.
func (c *Conn) objects(ctx context.Context, req Request) (any, error) {
	if r := c.forwarded(req); r != nil {
		return c.forward(ctx, r, req)
	}
	if c.objs == nil {
		return nil, fmt.Errorf("%w: %v: this connection serves no objects", TypeError, req.Handler())
	}
	return c.objs.ServeRequest(ctx, c, req)
}

func objectRequest(decode func(args brine.Tuple) Request) func(*Conn, context.Context, brine.Tuple) (any, error) {
	return func(c *Conn, ctx context.Context, args brine.Tuple) (any, error) {
		return c.objects(ctx, decode(args))
	}
}

func servePing(_ *Conn, _ context.Context, args brine.Tuple) (any, error) { return args[0], nil }

func serveGetRoot(c *Conn, _ context.Context, _ brine.Tuple) (any, error) {
	if c.root == nil {
		return VoidService{}, nil
	}
	return c.root, nil
}

func serveGetAttr(c *Conn, ctx context.Context, args brine.Tuple) (any, error) {
	name, err := c.attrName(args[0], args[1], AccessGet)
	if err != nil {
		return nil, err
	}
	return c.objects(ctx, &GetAttr{Obj: args[0], Name: name})
}

func serveSetAttr(c *Conn, ctx context.Context, args brine.Tuple) (any, error) {
	name, err := c.attrName(args[0], args[1], AccessSet)
	if err != nil {
		return nil, err
	}
	return c.objects(ctx, &SetAttr{Obj: args[0], Name: name, Value: args[2]})
}

func serveDelAttr(c *Conn, ctx context.Context, args brine.Tuple) (any, error) {
	name, err := c.attrName(args[0], args[1], AccessDel)
	if err != nil {
		return nil, err
	}
	return c.objects(ctx, &DelAttr{Obj: args[0], Name: name})
}

func serveCall(c *Conn, ctx context.Context, args brine.Tuple) (any, error) {
	pos, kw, err := callArgs(args[1:])
	if err != nil {
		return nil, err
	}
	return c.objects(ctx, &Call{Fn: args[0], Args: pos, Kwargs: kw})
}

func serveCallAttr(c *Conn, ctx context.Context, args brine.Tuple) (any, error) {
	name, err := c.attrName(args[0], args[1], AccessGet)
	if err != nil {
		return nil, err
	}
	pos, kw, err := callArgs(args[2:])
	if err != nil {
		return nil, err
	}
	return c.objects(ctx, &CallAttr{Obj: args[0], Name: name, Args: pos, Kwargs: kw})
}

func serveCmp(c *Conn, ctx context.Context, args brine.Tuple) (any, error) {
	op := "__cmp__"
	if len(args) == 3 {
		var ok bool
		if op, ok = args[2].(string); !ok {
			return nil, fmt.Errorf("%w: comparison operator must be a str", TypeError)
		}
	}
	return c.objects(ctx, &Cmp{Obj: args[0], Other: args[1], Op: op})
}

func serveInspect(c *Conn, ctx context.Context, args brine.Tuple) (any, error) {
	obj, err := c.local(args[0])
	if err != nil {
		return nil, err
	}
	return c.objects(ctx, &Inspect{Obj: obj})
}

func servePickle(c *Conn, ctx context.Context, args brine.Tuple) (any, error) {
	if !c.cfg.AllowPickle {
		return nil, fmt.Errorf("%w: pickling is disabled", ValueError)
	}
	var proto int64 = -1
	if len(args) == 2 {
		p, ok := args[1].(int64)
		if !ok {
			return nil, fmt.Errorf("%w: pickle protocol must be an int", TypeError)
		}
		proto = p
	}
	return c.objects(ctx, &Pickle{Obj: args[0], Proto: proto})
}

func serveBuffIter(c *Conn, ctx context.Context, args brine.Tuple) (any, error) {
	n, ok := args[1].(int64)
	if !ok || n < 0 {
		return nil, fmt.Errorf("%w: BUFFITER count must be a non-negative int", TypeError)
	}
	return c.objects(ctx, &BuffIter{Obj: args[0], Count: int(min(n, 100000))})
}

func serveOldSlicing(_ *Conn, _ context.Context, _ brine.Tuple) (any, error) {
	return nil, fmt.Errorf("%w: %v is not supported", TypeError, compat.HandleOldSlicing)
}

func serveCtxExit(c *Conn, ctx context.Context, args brine.Tuple) (any, error) {
	req := &CtxExit{Obj: args[0]}
	if len(args) == 2 {
		req.Exc = args[1]
	}
	return c.objects(ctx, req)
}

func serveInstanceCheck(c *Conn, ctx context.Context, args brine.Tuple) (any, error) {
	return c.objects(ctx, &InstanceCheck{Obj: args[0], Other: args[1]})
}

// attrName checks a requested attribute name of obj against the access policy and returns the
// name of the member to use. An Objects that is an [AttrChecker] decides (as Python's
// _check_attr, which looks at the object); otherwise the name alone is checked (the permission
// of access and the Allow*Attrs settings) and the exposed prefix is removed.
func (c *Conn) attrName(obj, v any, access AttrAccess) (string, error) {
	var name string
	switch x := v.(type) {
	case string:
		name = x
	case []byte:
		name = string(x) // Python accepts bytes names too
	default:
		return "", fmt.Errorf("%w: attribute name must be a string", TypeError)
	}
	if ac, ok := c.objs.(AttrChecker); ok {
		return ac.CheckAttr(c, obj, name, access)
	}
	perm := c.cfg.AllowGetAttr
	switch access {
	case AccessSet:
		perm = c.cfg.AllowSetAttr
	case AccessDel:
		perm = c.cfg.AllowDelAttr
	}
	if !perm {
		return "", fmt.Errorf("%w: cannot access %s", AttributeError, brine.Repr(name))
	}
	cfg := &c.cfg
	if cfg.AllowExposedAttrs && cfg.ExposedPrefix != "" && strings.HasPrefix(name, cfg.ExposedPrefix) {
		return strings.TrimPrefix(name, cfg.ExposedPrefix), nil
	}
	if cfg.AllowAllAttrs || cfg.AllowSafeAttrs && cfg.SafeAttrs[name] {
		// Safe dunders (__len__, __iter__, __next__, __getitem__, ...) reach the Go members
		// renamed to them, as Python's allow_safe_attrs does.
		return name, nil
	}
	if strings.HasPrefix(name, "_") {
		return "", fmt.Errorf("%w: cannot access %s", AttributeError, brine.Repr(name))
	}
	if !(cfg.AllowExposedAttrs || cfg.AllowPublicAttrs || cfg.AllowAllAttrs) {
		return "", fmt.Errorf("%w: cannot access %s", AttributeError, brine.Repr(name))
	}
	return name, nil
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
