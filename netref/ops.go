package netref

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/gorpyc/rpyc/brine"
	"github.com/gorpyc/rpyc/compat"
	"github.com/gorpyc/rpyc/protocol"
)

// ErrReleased is returned by operations on a Ref after Release.
var ErrReleased = errors.New("rpyc: netref already released")

// Kwargs holds keyword arguments. Pass it as the last argument of [Ref.Call] or
// [Ref.CallMethod]: root.CallMethod(ctx, "greet", "bob", netref.Kwargs{"greeting": "hi"}).
// Keywords are sent sorted by name.
type Kwargs map[string]any

func (r *Ref) request(ctx context.Context, h compat.Handler, args ...any) (any, error) {
	if r.Released() {
		return nil, fmt.Errorf("%v on %v: %w", h, r.ID(), ErrReleased)
	}
	v, err := r.Conn().Request(ctx, h, args...)
	return Wrap(v), err
}

func (r *Ref) requestAsync(h compat.Handler, args ...any) *AsyncResult {
	if r.Released() {
		return &AsyncResult{err: fmt.Errorf("%v on %v: %w", h, r.ID(), ErrReleased)}
	}
	return &AsyncResult{res: r.Conn().RequestAsync(h, args...)}
}

// ErrKwargs is wrapped by the error of a call whose Kwargs is not its last argument (or is inside
// another value): keyword arguments must come last, as in Python. It matches protocol.TypeError
// too.
var ErrKwargs = fmt.Errorf("%w: rpyc.Kwargs must be the last argument of the call", protocol.TypeError)

// splitArgs separates a trailing Kwargs from positional arguments. A Kwargs anywhere else is an
// error (it would otherwise travel as a Go map, by reference).
func splitArgs(args []any) (brine.Tuple, brine.Tuple, error) {
	kw := brine.Tuple{}
	if n := len(args); n > 0 {
		if k, ok := args[n-1].(Kwargs); ok {
			args = args[:n-1]
			names := make([]string, 0, len(k))
			for name := range k {
				names = append(names, name)
			}
			sort.Strings(names)
			for _, name := range names {
				if err := noKwargs(k[name], 0); err != nil {
					return nil, nil, fmt.Errorf("keyword argument %q: %w", name, err)
				}
				kw = append(kw, brine.Tuple{name, k[name]})
			}
		}
	}
	for i, a := range args {
		if err := noKwargs(a, 0); err != nil {
			return nil, nil, fmt.Errorf("argument %d: %w", i+1, err)
		}
	}
	if args == nil {
		return brine.Tuple{}, kw, nil
	}
	return brine.Tuple(args), kw, nil
}

// noKwargs fails if v is a Kwargs or a tuple holding one.
func noKwargs(v any, depth int) error {
	switch x := v.(type) {
	case Kwargs:
		return ErrKwargs
	case brine.Tuple:
		if depth < 8 {
			for _, it := range x {
				if err := noKwargs(it, depth+1); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// GetAttr returns the attribute name of the remote object (HANDLE_GETATTR).
func (r *Ref) GetAttr(ctx context.Context, name string) (any, error) {
	return r.request(ctx, compat.HandleGetAttr, r, name)
}

// SetAttr sets an attribute (HANDLE_SETATTR); Python servers refuse it unless allow_setattr.
func (r *Ref) SetAttr(ctx context.Context, name string, value any) error {
	_, err := r.request(ctx, compat.HandleSetAttr, r, name, value)
	return err
}

// DelAttr deletes an attribute (HANDLE_DELATTR); Python servers refuse it unless allow_delattr.
func (r *Ref) DelAttr(ctx context.Context, name string) error {
	_, err := r.request(ctx, compat.HandleDelAttr, r, name)
	return err
}

// Call calls the remote object itself: r(args...) (HANDLE_CALL). A trailing Kwargs holds the
// keyword arguments.
func (r *Ref) Call(ctx context.Context, args ...any) (any, error) {
	pos, kw, err := splitArgs(args)
	if err != nil {
		return nil, err
	}
	return r.request(ctx, compat.HandleCall, r, pos, kw)
}

// CallMethod calls r.name(args...) in one round trip (HANDLE_CALLATTR). A trailing Kwargs holds
// the keyword arguments.
func (r *Ref) CallMethod(ctx context.Context, name string, args ...any) (any, error) {
	pos, kw, err := splitArgs(args)
	if err != nil {
		return nil, fmt.Errorf("%s(): %w", name, err)
	}
	return r.request(ctx, compat.HandleCallAttr, r, name, pos, kw)
}

// CallAsync calls the remote object without waiting (rpyc.async_(r)(...)); the reply resolves
// the returned result.
func (r *Ref) CallAsync(args ...any) *AsyncResult {
	pos, kw, err := splitArgs(args)
	if err != nil {
		return &AsyncResult{err: err}
	}
	return r.requestAsync(compat.HandleCall, r, pos, kw)
}

// CallMethodAsync calls r.name(args...) without waiting.
func (r *Ref) CallMethodAsync(name string, args ...any) *AsyncResult {
	pos, kw, err := splitArgs(args)
	if err != nil {
		return &AsyncResult{err: fmt.Errorf("%s(): %w", name, err)}
	}
	return r.requestAsync(compat.HandleCallAttr, r, name, pos, kw)
}

// Str returns str(r) (HANDLE_STR).
func (r *Ref) Str(ctx context.Context) (string, error) {
	return As[string](r.request(ctx, compat.HandleStr, r))
}

// Repr returns repr(r) (HANDLE_REPR).
func (r *Ref) Repr(ctx context.Context) (string, error) {
	return As[string](r.request(ctx, compat.HandleRepr, r))
}

// Dir returns dir(r) (HANDLE_DIR).
func (r *Ref) Dir(ctx context.Context) ([]string, error) {
	return As[[]string](r.request(ctx, compat.HandleDir, r))
}

// Hash returns hash(r) (HANDLE_HASH).
func (r *Ref) Hash(ctx context.Context) (int64, error) {
	return As[int64](r.request(ctx, compat.HandleHash, r))
}

// CmpOp is a rich comparison operator name sent with HANDLE_CMP.
type CmpOp string

// Comparison operators.
const (
	OpEq CmpOp = "__eq__"
	OpNe CmpOp = "__ne__"
	OpLt CmpOp = "__lt__"
	OpLe CmpOp = "__le__"
	OpGt CmpOp = "__gt__"
	OpGe CmpOp = "__ge__"
)

// Compare evaluates `r op other` on the remote side (HANDLE_CMP). The result is whatever the
// remote method returned, which may be brine.NotImplemented: Python servers do not try the
// reflected operation.
func (r *Ref) Compare(ctx context.Context, op CmpOp, other any) (any, error) {
	return r.request(ctx, compat.HandleCmp, r, other, string(op))
}

// Equal reports whether r == other, like Python: if r's __eq__ returns NotImplemented and other
// is a Ref of the same connection, other's __eq__ is tried; if both decline, identity decides.
func (r *Ref) Equal(ctx context.Context, other any) (bool, error) {
	v, err := r.Compare(ctx, OpEq, other)
	if err != nil {
		return false, err
	}
	if v == brine.NotImplemented {
		if o, ok := other.(*Ref); ok && o.Conn() == r.Conn() {
			if v, err = o.Compare(ctx, OpEq, r); err != nil {
				return false, err
			}
		}
	}
	if v == brine.NotImplemented {
		o, ok := other.(*Ref)
		return ok && o.ID() == r.ID(), nil
	}
	return truth(ctx, v)
}

// Len returns len(r) (CALLATTR __len__).
func (r *Ref) Len(ctx context.Context) (int, error) {
	n, err := As[int](r.request(ctx, compat.HandleCallAttr, r, "__len__", brine.Tuple{}, brine.Tuple{}))
	if err == nil && n < 0 {
		return 0, fmt.Errorf("rpyc: __len__ returned %d", n)
	}
	return n, err
}

// GetItem returns r[key] (CALLATTR __getitem__). Use brine.Slice for r[a:b].
func (r *Ref) GetItem(ctx context.Context, key any) (any, error) {
	return r.request(ctx, compat.HandleCallAttr, r, "__getitem__", brine.Tuple{key}, brine.Tuple{})
}

// SetItem does r[key] = value (CALLATTR __setitem__).
func (r *Ref) SetItem(ctx context.Context, key, value any) error {
	_, err := r.request(ctx, compat.HandleCallAttr, r, "__setitem__", brine.Tuple{key, value}, brine.Tuple{})
	return err
}

// DelItem does del r[key] (CALLATTR __delitem__).
func (r *Ref) DelItem(ctx context.Context, key any) error {
	_, err := r.request(ctx, compat.HandleCallAttr, r, "__delitem__", brine.Tuple{key}, brine.Tuple{})
	return err
}

// Contains reports whether value in r (CALLATTR __contains__).
func (r *Ref) Contains(ctx context.Context, value any) (bool, error) {
	return As[bool](r.request(ctx, compat.HandleCallAttr, r, "__contains__", brine.Tuple{value}, brine.Tuple{}))
}

// Bool returns bool(r) as Python computes it: __bool__, else __len__ != 0, else True. The
// methods are tried remotely; a refusal (AttributeError) moves on to the next rule.
func (r *Ref) Bool(ctx context.Context) (bool, error) {
	v, err := r.request(ctx, compat.HandleCallAttr, r, "__bool__", brine.Tuple{}, brine.Tuple{})
	if err == nil {
		return As[bool](v, nil)
	}
	if !isAttributeError(err) {
		return false, err
	}
	n, err := r.Len(ctx)
	if err == nil {
		return n != 0, nil
	}
	if !isAttributeError(err) {
		return false, err
	}
	return true, nil
}

// isAttributeError matches a remote AttributeError without importing the protocol package.
func isAttributeError(err error) bool {
	var named interface{ ExceptionName() string }
	if errors.As(err, &named) {
		return named.ExceptionName() == "AttributeError"
	}
	return false
}

func truth(ctx context.Context, v any) (bool, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case nil:
		return false, nil
	case int64:
		return x != 0, nil
	case *Ref:
		return x.Bool(ctx)
	}
	return true, nil
}

// Next returns next(r) (CALLATTR __next__); at the end the error matches StopIteration.
func (r *Ref) Next(ctx context.Context) (any, error) {
	return r.request(ctx, compat.HandleCallAttr, r, "__next__", brine.Tuple{}, brine.Tuple{})
}

// Enter calls r.__enter__() and returns its result, for `with r as v:`.
func (r *Ref) Enter(ctx context.Context) (any, error) {
	return r.request(ctx, compat.HandleCallAttr, r, "__enter__", brine.Tuple{}, brine.Tuple{})
}

// Exit calls r.__exit__ (HANDLE_CTXEXIT). failure is the error that ended the block, or nil. It
// reports whether the remote __exit__ asked to suppress the error. Only the error's class name
// travels, as a str (Python servers only test it for truth).
func (r *Ref) Exit(ctx context.Context, failure error) (bool, error) {
	var exc any
	if failure != nil {
		exc = fmt.Sprintf("%T", failure)
	}
	v, err := r.request(ctx, compat.HandleCtxExit, r, exc)
	if err != nil {
		return false, err
	}
	return truth(ctx, v)
}

// With runs fn inside `with r as v:`: it calls __enter__, runs fn with its result and calls
// __exit__ with fn's outcome. If __exit__ suppresses fn's error, With returns nil.
func (r *Ref) With(ctx context.Context, fn func(v any) error) error {
	v, err := r.Enter(ctx)
	if err != nil {
		return err
	}
	ferr := fn(v)
	suppress, err := r.Exit(ctx, ferr)
	if err != nil {
		return errors.Join(ferr, err)
	}
	if ferr != nil && !suppress {
		return ferr
	}
	return nil
}

// IsInstance reports whether r is an instance of the remote class cls, as a Python client
// decides it: the same class id means yes (r's exact type is cls); otherwise the owner is asked
// with HANDLE_INSTANCECHECK (Python servers only know the answer for builtin types).
func (r *Ref) IsInstance(ctx context.Context, cls *Ref) (bool, error) {
	if cls.Conn() == r.Conn() && cls.ID().ClassID == r.ID().ClassID && !r.IsClass() {
		return true, nil
	}
	return As[bool](cls.request(ctx, compat.HandleInstanceCheck, cls, r.ID()))
}
