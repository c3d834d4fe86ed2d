package pyobj

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"math/big"
	"reflect"
	"slices"
	"sort"
	"sync"

	"github.com/gorpyc/rpyc/brine"
	"github.com/gorpyc/rpyc/internal/convert"
	"github.com/gorpyc/rpyc/protocol"
)

// ContextManager lets a Go value be used in a Python `with` block. RPyCEnter's result is what
// `as` binds; RPyCExit learns whether the block raised and may return true to suppress it.
// A value without these methods that implements io.Closer is a context manager too: entering
// returns the value, exiting closes it.
type ContextManager interface {
	RPyCEnter(ctx context.Context) (any, error)
	RPyCExit(ctx context.Context, failed bool) (bool, error)
}

// dunderFunc is one implemented Python special method: it takes the positional arguments.
type dunderFunc func(ctx context.Context, args brine.Tuple) (any, error)

// dunders returns the Python special methods (and protocol methods such as keys) that v
// implements, by name.
func dunders(v any) map[string]dunderFunc {
	if v == nil {
		return nil
	}
	m := map[string]dunderFunc{}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		if _, isBytes := v.([]byte); !isBytes {
			addSequence(m, rv)
		}
	case reflect.Map:
		addMapping(m, rv)
	case reflect.Chan:
		if rv.Type().ChanDir()&reflect.RecvDir != 0 {
			m["__iter__"] = func(context.Context, brine.Tuple) (any, error) { return newChanIter(rv), nil }
		}
	case reflect.Func:
		if seq, ok := asSeq(v); ok {
			m["__iter__"] = func(context.Context, brine.Tuple) (any, error) {
				return newPullIter(seq, "builtins.generator"), nil
			}
		}
	}
	if l, ok := v.(interface{ Len() int }); ok {
		m["__len__"] = func(context.Context, brine.Tuple) (any, error) { return int64(l.Len()), nil }
	}
	if it, ok := v.(*goIterator); ok {
		m["__iter__"] = func(context.Context, brine.Tuple) (any, error) { return it, nil }
		m["__next__"] = func(ctx context.Context, _ brine.Tuple) (any, error) { return it.nextOrStop() }
		m["close"] = func(context.Context, brine.Tuple) (any, error) { it.RPyCRelease(); return nil, nil }
	}
	if r, ok := v.(io.Reader); ok {
		m["read"] = func(_ context.Context, args brine.Tuple) (any, error) { return readFrom(r, args) }
	}
	if w, ok := v.(io.Writer); ok {
		m["write"] = func(_ context.Context, args brine.Tuple) (any, error) { return writeTo(w, args) }
		m["flush"] = func(context.Context, brine.Tuple) (any, error) {
			if f, ok := w.(interface{ Flush() error }); ok {
				return nil, f.Flush()
			}
			return nil, nil
		}
	}
	if cm, ok := v.(ContextManager); ok {
		m["__enter__"] = func(ctx context.Context, _ brine.Tuple) (any, error) { return cm.RPyCEnter(ctx) }
	} else if cl, ok := v.(io.Closer); ok {
		m["__enter__"] = func(context.Context, brine.Tuple) (any, error) { return v, nil }
		m["close"] = func(context.Context, brine.Tuple) (any, error) { return nil, cl.Close() }
	}
	return m
}

func argCount(name string, args brine.Tuple, min, max int) error {
	if len(args) < min || len(args) > max {
		if min == max {
			return fmt.Errorf("%w: %s() takes %d arguments (%d given)", protocol.TypeError, name, min, len(args))
		}
		return fmt.Errorf("%w: %s() takes %d to %d arguments (%d given)", protocol.TypeError, name, min, max, len(args))
	}
	return nil
}

// pyIndex resolves a Python index (negative counts from the end) against length n; kind is
// "list" or "tuple", for Python's messages.
func pyIndex(v any, n int, kind string) (int, error) {
	if b, ok := v.(bool); ok { // True is 1, as in Python
		if b {
			v = int64(1)
		} else {
			v = int64(0)
		}
	}
	i, ok := v.(int64)
	if !ok {
		if _, isBig := v.(*big.Int); isBig {
			return 0, fmt.Errorf("%w: cannot fit 'int' into an index-sized integer", protocol.IndexError)
		}
		return 0, fmt.Errorf("%w: %s indices must be integers or slices, not %s", protocol.TypeError, kind, pyTypeName(v))
	}
	if i < 0 {
		i += int64(n)
	}
	if i < 0 || i >= int64(n) {
		return 0, fmt.Errorf("%w: %s index out of range", protocol.IndexError, kind)
	}
	return int(i), nil
}

// seqKind is the Python class a Go slice or array stands for: a list (mutable) or a tuple.
func seqKind(rv reflect.Value) string {
	if rv.Kind() == reflect.Slice {
		return "list"
	}
	return "tuple"
}

// sliceBounds applies Python slice semantics to length n and returns the selected indices.
func sliceBounds(s brine.Slice, n int) ([]int, error) {
	get := func(v any, def int64) (int64, error) {
		if v == nil {
			return def, nil
		}
		i, ok := v.(int64)
		if !ok {
			return 0, fmt.Errorf("%w: slice indices must be integers or None", protocol.TypeError)
		}
		return i, nil
	}
	step, err := get(s.Step, 1)
	if err != nil {
		return nil, err
	}
	if step == 0 {
		return nil, fmt.Errorf("%w: slice step cannot be zero", protocol.ValueError)
	}
	var defStart, defStop int64 = 0, int64(n)
	if step < 0 {
		defStart, defStop = int64(n)-1, -1
	}
	start, err := get(s.Start, defStart)
	if err != nil {
		return nil, err
	}
	stop, err := get(s.Stop, defStop)
	if err != nil {
		return nil, err
	}
	clamp := func(i int64, isStop bool) int64 {
		if i < 0 && !(isStop && s.Stop == nil && step < 0) {
			i += int64(n)
		}
		lo, hi := int64(0), int64(n)
		if step < 0 {
			lo, hi = -1, int64(n)-1
		}
		return min(max(i, lo), hi)
	}
	if s.Start != nil {
		start = clamp(start, false)
	}
	if s.Stop != nil {
		stop = clamp(stop, true)
	}
	var idx []int
	for i := start; (step > 0 && i < stop) || (step < 0 && i > stop); i += step {
		idx = append(idx, int(i))
	}
	return idx, nil
}

func addSequence(m map[string]dunderFunc, rv reflect.Value) {
	m["__len__"] = func(context.Context, brine.Tuple) (any, error) { return int64(rv.Len()), nil }
	m["__getitem__"] = func(_ context.Context, args brine.Tuple) (any, error) {
		if err := argCount("__getitem__", args, 1, 1); err != nil {
			return nil, err
		}
		if s, ok := args[0].(brine.Slice); ok {
			idx, err := sliceBounds(s, rv.Len())
			if err != nil {
				return nil, err
			}
			out := reflect.MakeSlice(reflect.SliceOf(rv.Type().Elem()), len(idx), len(idx))
			for j, i := range idx {
				out.Index(j).Set(rv.Index(i))
			}
			if rv.Kind() == reflect.Slice {
				// A slice of a list is a new list, as in Python; of a tuple, a tuple.
				return protocol.ByRef{Value: out.Interface()}, nil
			}
			return out.Interface(), nil
		}
		i, err := pyIndex(args[0], rv.Len(), seqKind(rv))
		if err != nil {
			return nil, err
		}
		return rv.Index(i).Interface(), nil
	}
	if rv.Kind() == reflect.Slice {
		m["__setitem__"] = func(ctx context.Context, args brine.Tuple) (any, error) {
			if err := argCount("__setitem__", args, 2, 2); err != nil {
				return nil, err
			}
			i, err := pyIndex(args[0], rv.Len(), "list")
			if err != nil {
				return nil, err
			}
			nv, err := convertArg(ctx, args[1], rv.Type().Elem())
			if err != nil {
				return nil, fmt.Errorf("%w: %w", protocol.TypeError, err)
			}
			rv.Index(i).Set(nv)
			return nil, nil
		}
	}
	iterName := "builtins.list_iterator"
	if rv.Kind() == reflect.Array {
		iterName = "builtins.tuple_iterator"
	}
	m["__iter__"] = func(context.Context, brine.Tuple) (any, error) {
		return newPullIter(func(yield func(any) bool) {
			for i := range rv.Len() {
				if !yield(rv.Index(i).Interface()) {
					return
				}
			}
		}, iterName), nil
	}
	m["__contains__"] = func(_ context.Context, args brine.Tuple) (any, error) {
		if err := argCount("__contains__", args, 1, 1); err != nil {
			return nil, err
		}
		for i := range rv.Len() {
			if looseEqual(rv.Index(i).Interface(), args[0]) {
				return true, nil
			}
		}
		return false, nil
	}
	m["index"] = func(_ context.Context, args brine.Tuple) (any, error) {
		if err := argCount("index", args, 1, 1); err != nil {
			return nil, err
		}
		for i := range rv.Len() {
			if looseEqual(rv.Index(i).Interface(), args[0]) {
				return int64(i), nil
			}
		}
		if rv.Kind() == reflect.Array {
			return nil, fmt.Errorf("%w: tuple.index(x): x not in tuple", protocol.ValueError)
		}
		return nil, fmt.Errorf("%w: %s is not in list", protocol.ValueError, brine.Repr(args[0]))
	}
	m["count"] = func(_ context.Context, args brine.Tuple) (any, error) {
		if err := argCount("count", args, 1, 1); err != nil {
			return nil, err
		}
		n := int64(0)
		for i := range rv.Len() {
			if looseEqual(rv.Index(i).Interface(), args[0]) {
				n++
			}
		}
		return n, nil
	}
}

// sortedKeys returns a map's keys in a stable order (Go maps have none).
func sortedKeys(rv reflect.Value) []reflect.Value {
	keys := rv.MapKeys()
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		switch a.Kind() {
		case reflect.String:
			return a.String() < b.String()
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			return a.Int() < b.Int()
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
			return a.Uint() < b.Uint()
		case reflect.Float32, reflect.Float64:
			return cmp.Less(a.Float(), b.Float())
		}
		return fmt.Sprint(a.Interface()) < fmt.Sprint(b.Interface())
	})
	return keys
}

func mapKey(rv reflect.Value, k any) (reflect.Value, error) {
	kv, err := convert.Value(k, rv.Type().Key()) // a key is a value, never a copied container
	if err != nil {
		return reflect.Value{}, fmt.Errorf("%w: %s", protocol.KeyError, brine.Repr(k))
	}
	return kv, nil
}

func addMapping(m map[string]dunderFunc, rv reflect.Value) {
	lookup := func(args brine.Tuple) (reflect.Value, bool, error) {
		kv, err := mapKey(rv, args[0])
		if err != nil {
			return reflect.Value{}, false, err
		}
		v := rv.MapIndex(kv)
		return v, v.IsValid(), nil
	}
	m["__len__"] = func(context.Context, brine.Tuple) (any, error) { return int64(rv.Len()), nil }
	m["__getitem__"] = func(_ context.Context, args brine.Tuple) (any, error) {
		if err := argCount("__getitem__", args, 1, 1); err != nil {
			return nil, err
		}
		v, ok, err := lookup(args)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, &protocol.RemoteError{Module: "builtins", Name: "KeyError", Args: brine.Tuple{keyArg(args[0])}}
		}
		return v.Interface(), nil
	}
	m["get"] = func(_ context.Context, args brine.Tuple) (any, error) {
		if err := argCount("get", args, 1, 2); err != nil {
			return nil, err
		}
		v, ok, err := lookup(args)
		if err != nil || !ok {
			if len(args) == 2 {
				return args[1], nil
			}
			return nil, nil
		}
		return v.Interface(), nil
	}
	m["__contains__"] = func(_ context.Context, args brine.Tuple) (any, error) {
		if err := argCount("__contains__", args, 1, 1); err != nil {
			return nil, err
		}
		_, ok, err := lookup(args)
		return err == nil && ok, nil
	}
	m["__setitem__"] = func(ctx context.Context, args brine.Tuple) (any, error) {
		if err := argCount("__setitem__", args, 2, 2); err != nil {
			return nil, err
		}
		kv, err := mapKey(rv, args[0])
		if err != nil {
			return nil, fmt.Errorf("%w: bad key: %v", protocol.TypeError, err)
		}
		vv, err := convertArg(ctx, args[1], rv.Type().Elem())
		if err != nil {
			return nil, fmt.Errorf("%w: %w", protocol.TypeError, err)
		}
		rv.SetMapIndex(kv, vv)
		return nil, nil
	}
	m["__delitem__"] = func(_ context.Context, args brine.Tuple) (any, error) {
		if err := argCount("__delitem__", args, 1, 1); err != nil {
			return nil, err
		}
		kv, ok, err := lookup(args)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, &protocol.RemoteError{Module: "builtins", Name: "KeyError", Args: brine.Tuple{keyArg(args[0])}}
		}
		_ = kv
		k, _ := mapKey(rv, args[0])
		rv.SetMapIndex(k, reflect.Value{})
		return nil, nil
	}
	keysOf := func() []any {
		keys := sortedKeys(rv)
		out := make([]any, len(keys))
		for i, k := range keys {
			out[i] = k.Interface()
		}
		return out
	}
	m["__iter__"] = func(context.Context, brine.Tuple) (any, error) {
		keys := keysOf()
		return newPullIter(slices.Values(keys), "builtins.dict_keyiterator"), nil
	}
	m["keys"] = func(context.Context, brine.Tuple) (any, error) { return brine.Tuple(keysOf()), nil }
	m["values"] = func(context.Context, brine.Tuple) (any, error) {
		keys := sortedKeys(rv)
		out := make(brine.Tuple, len(keys))
		for i, k := range keys {
			out[i] = rv.MapIndex(k).Interface()
		}
		return out, nil
	}
	m["items"] = func(context.Context, brine.Tuple) (any, error) {
		keys := sortedKeys(rv)
		out := make(brine.Tuple, len(keys))
		for i, k := range keys {
			out[i] = brine.Tuple{k.Interface(), rv.MapIndex(k).Interface()}
		}
		return out, nil
	}
}

// keyArg is the protocol.KeyError argument: the key itself when it can travel by value.
func keyArg(k any) any {
	if brine.Dumpable(k) {
		return k
	}
	return brine.Repr(k)
}

// looseEqual compares a Go element with a value received from Python (an int64 equals any Go
// int of the same value, a str equals a string-kinded value).
func looseEqual(goVal, pyVal any) bool {
	if brine.Equal(goVal, pyVal) {
		return true
	}
	if _, ok := pyVal.(protocol.Proxy); ok {
		return false
	}
	pv, err := convert.Value(pyVal, reflect.TypeOf(goVal))
	if err != nil {
		return false
	}
	a := reflect.ValueOf(goVal)
	if !a.Type().Comparable() {
		return false
	}
	defer func() { _ = recover() }()
	return a.Equal(pv)
}

func readFrom(r io.Reader, args brine.Tuple) (any, error) {
	if err := argCount("read", args, 0, 1); err != nil {
		return nil, err
	}
	n := int64(-1)
	if len(args) == 1 && args[0] != nil {
		var ok bool
		if n, ok = args[0].(int64); !ok {
			return nil, fmt.Errorf("%w: read() size must be an int", protocol.TypeError)
		}
	}
	if n < 0 {
		b, err := io.ReadAll(r)
		return b, err
	}
	buf := make([]byte, min(n, 1<<24))
	k, err := io.ReadFull(r, buf)
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		err = nil
	}
	return buf[:k], err
}

func writeTo(w io.Writer, args brine.Tuple) (any, error) {
	if err := argCount("write", args, 1, 1); err != nil {
		return nil, err
	}
	var b []byte
	switch x := args[0].(type) {
	case []byte:
		b = x
	case string:
		b = []byte(x)
	default:
		return nil, fmt.Errorf("%w: write() argument must be str or bytes, not %s", protocol.TypeError, pyTypeName(args[0]))
	}
	n, err := w.Write(b)
	if s, ok := args[0].(string); ok && err == nil {
		return int64(len([]rune(s))), nil // Python's text write returns characters written
	}
	return int64(n), err
}

// asSeq recognises iter.Seq[T] and iter.Seq2[K, V] functions (any element types).
func asSeq(v any) (iter.Seq[any], bool) {
	rv := reflect.ValueOf(v)
	t := rv.Type()
	if t.Kind() != reflect.Func || t.NumIn() != 1 || t.NumOut() != 0 {
		return nil, false
	}
	y := t.In(0)
	if y.Kind() != reflect.Func || y.NumOut() != 1 || y.Out(0).Kind() != reflect.Bool || y.NumIn() < 1 || y.NumIn() > 2 {
		return nil, false
	}
	pair := y.NumIn() == 2
	return func(yield func(any) bool) {
		fn := reflect.MakeFunc(y, func(in []reflect.Value) []reflect.Value {
			var item any
			if pair {
				item = brine.Tuple{in[0].Interface(), in[1].Interface()}
			} else {
				item = in[0].Interface()
			}
			return []reflect.Value{reflect.ValueOf(yield(item))}
		})
		rv.Call([]reflect.Value{fn})
	}, true
}

// goIterator is a Python iterator over a Go sequence: __iter__ returns itself, __next__ and
// HANDLE_BUFFITER take items, close() or the peer dropping it stops the sequence. name is the
// Python class it stands for: a generator (a Go iter.Seq, iter.Seq2 or channel handed out), or
// the iterator of a list or a dict.
type goIterator struct {
	mu   sync.Mutex
	pull func() (any, bool)
	stop func()
	done bool
	name string
}

func newPullIter(seq iter.Seq[any], name string) *goIterator {
	next, stop := iter.Pull(seq)
	return &goIterator{pull: next, stop: stop, name: name}
}

func newChanIter(ch reflect.Value) *goIterator {
	return &goIterator{pull: func() (any, bool) {
		v, ok := ch.Recv()
		if !ok {
			return nil, false
		}
		return v.Interface(), true
	}, stop: func() {}, name: "builtins.generator"}
}

func (it *goIterator) nextItem() (any, bool) {
	it.mu.Lock()
	defer it.mu.Unlock()
	if it.done {
		return nil, false
	}
	v, ok := it.pull()
	if !ok {
		it.done = true
		it.stop()
	}
	return v, ok
}

func (it *goIterator) nextOrStop() (any, error) {
	v, ok := it.nextItem()
	if !ok {
		return nil, protocol.ErrStopIteration
	}
	return v, nil
}

// take returns up to n items (HANDLE_BUFFITER).
func (it *goIterator) take(n int) brine.Tuple {
	out := brine.Tuple{}
	for range n {
		v, ok := it.nextItem()
		if !ok {
			break
		}
		out = append(out, v)
	}
	return out
}

// RPyCRelease stops the underlying sequence (its goroutine, for iter.Pull).
func (it *goIterator) RPyCRelease() {
	it.mu.Lock()
	defer it.mu.Unlock()
	if !it.done {
		it.done = true
		it.stop()
	}
}

// RPyCNamePack names Go iterators for Python clients: as the Python class they stand for.
func (it *goIterator) RPyCNamePack() string {
	if it.name == "" {
		return "builtins.generator"
	}
	return it.name
}

// buffIter takes up to n items from obj (HANDLE_BUFFITER), as Python's
// tuple(itertools.islice(obj, n)): from a Go iterator directly; from any other value through
// its __iter__ and the iterator's __next__ (a Go type may implement both, under RPyCNames), one
// call per item.
func buffIter(ctx context.Context, c *protocol.Conn, obj any, n int) (any, error) {
	if it, ok := obj.(*goIterator); ok {
		return it.take(n), nil
	}
	if n == 0 {
		return brine.Tuple{}, nil
	}
	if obj == nil || !hasDunder(c, obj, "__iter__") {
		return nil, fmt.Errorf("%w: '%s' object is not iterable", protocol.TypeError, pyClassName(obj))
	}
	itv, err := callAttr(ctx, c, obj, "__iter__", nil, nil)
	if err != nil {
		return nil, err
	}
	if it, ok := itv.(*goIterator); ok {
		return it.take(n), nil
	}
	if itv == nil || !hasDunder(c, itv, "__next__") {
		return nil, fmt.Errorf("%w: iter() returned non-iterator of type '%s'", protocol.TypeError, pyClassName(itv))
	}
	out := brine.Tuple{}
	for range n {
		v, err := callAttr(ctx, c, itv, "__next__", nil, nil)
		if errors.Is(err, protocol.StopIteration) {
			break
		}
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// hasDunder reports whether obj has the Python method name: a member so named or a protocol
// method.
func hasDunder(c *protocol.Conn, obj any, name string) bool {
	if _, custom := obj.(attrGetter); custom {
		return true
	}
	kind, m, _ := resolve(c, obj, infoFor(reflect.TypeOf(obj)), name)
	return kind == attrProto || kind == attrMember && m.method >= 0
}
