package netref

import (
	"context"
	"errors"
	"fmt"
	"iter"

	"github.com/gorpyc/rpyc/brine"
	"github.com/gorpyc/rpyc/compat"
	"github.com/gorpyc/rpyc/protocol"
)

// Iter returns an iterator over the remote iterable with the semantics of Python's
// `for x in obj:` — every item the remote iterator produces is delivered, in order, as soon as
// Python's loop would get it, and an exception it raises comes after the items before it — and
// with batching wherever batching cannot change them:
//
//   - iter(r) is called once (CALLATTR __iter__);
//   - an iterator over a container whose items already exist (a list, tuple, set, dict, range,
//     str, bytes, deque or gorpyc Go iterator: its type names it, without a request) is read in
//     growing batches with HANDLE_BUFFITER (10, 20, 40, ... up to 1000 items per request), like
//     rpyc.buffiter: such iterators produce their items at once and never fail part-way
//     (except when the container is resized during the loop, which Python reports with a
//     RuntimeError; the items of that batch are then lost);
//   - any other iterator (a generator, a custom iterator, a file) is read one item per
//     request (CALLATTR __next__), as Python's loop does: the owner's BUFFITER is
//     tuple(islice(it, n)), so the items a batch took before the iterator raised would be lost,
//     and a slow producer would deliver nothing until a whole batch is ready.
//
// Use [Ref.BuffIter] to batch any iterator regardless (rpyc.buffiter's trade-off). Iteration
// stops at the first error, which is yielded; StopIteration ends it without an error. Breaking
// out of the loop releases the remote iterator.
func (r *Ref) Iter(ctx context.Context) iter.Seq2[any, error] {
	return r.overIterator(ctx, func(it *Ref, yield func(any, error) bool) {
		if Batchable(it.TypeName()) {
			it.batches(ctx, yield)
			return
		}
		for {
			v, err := it.Next(ctx)
			if errors.Is(err, protocol.ErrStopIteration) {
				return
			}
			if err != nil {
				yield(nil, err)
				return
			}
			if !yield(v, nil) {
				return
			}
		}
	})
}

// BuffIter returns an iterator over the remote iterable that always reads it in growing batches
// (HANDLE_BUFFITER: 10, 20, 40, ... up to 1000 items per request), like Python's
// rpyc.buffiter(obj): far fewer round trips than [Ref.Iter] on generators and custom iterators,
// at rpyc.buffiter's price — the first items arrive only with the first batch, and when the
// iterator raises, the items the failing batch had taken are lost (the error alone is
// yielded). Breaking out of the loop releases the remote iterator; items of the last batch not
// consumed are dropped.
func (r *Ref) BuffIter(ctx context.Context) iter.Seq2[any, error] {
	return r.overIterator(ctx, func(it *Ref, yield func(any, error) bool) { it.batches(ctx, yield) })
}

// overIterator is the sequence that takes r's iterator (yielding the error if that fails), runs
// read on it and releases it afterwards (unless it is r itself).
func (r *Ref) overIterator(ctx context.Context, read func(it *Ref, yield func(any, error) bool)) iter.Seq2[any, error] {
	return func(yield func(any, error) bool) {
		it, err := r.iterator(ctx)
		if err != nil {
			yield(nil, err)
			return
		}
		if it != r {
			defer it.Release()
		}
		read(it, yield)
	}
}

// iterator returns iter(r). An iterator's __iter__ returns the iterator itself (generators,
// files): the connection then hands back r, with one more reference counted, and releasing it
// would release the caller's r; callers release only a separate iterator object.
func (r *Ref) iterator(ctx context.Context) (*Ref, error) {
	itv, err := r.request(ctx, compat.HandleCallAttr, r, "__iter__", brine.Tuple{}, brine.Tuple{})
	if err != nil {
		return nil, err
	}
	it, ok := itv.(*Ref)
	if !ok {
		return nil, fmt.Errorf("rpyc: __iter__ returned %T, not a remote iterator", itv)
	}
	return it, nil
}

// batches yields the items of the iterator it, read with BUFFITER in batches of 10 to 1000.
func (it *Ref) batches(ctx context.Context, yield func(any, error) bool) {
	for chunk := 10; ; chunk = min(chunk*2, 1000) {
		batch, err := it.request(ctx, compat.HandleBuffIter, it, int64(chunk))
		if err != nil {
			yield(nil, err)
			return
		}
		items, ok := batch.(brine.Tuple)
		if !ok {
			yield(nil, fmt.Errorf("rpyc: BUFFITER returned %T", batch))
			return
		}
		for _, item := range items {
			if !yield(item, nil) {
				return // proxies among the items left are released when unreachable
			}
		}
		if len(items) < chunk {
			return
		}
	}
}

// Batchable reports whether an iterator of the remote type typeName (a name_pack such as
// "builtins.list_iterator") is read in batches by [Ref.Iter]: the iterators of Python's
// built-in containers and gorpyc's Go iterators, whose items exist before they are asked for.
func Batchable(typeName string) bool { return batchable[typeName] }

var batchable = map[string]bool{
	"builtins.list_iterator":               true,
	"builtins.list_reverseiterator":        true,
	"builtins.tuple_iterator":              true,
	"builtins.set_iterator":                true,
	"builtins.range_iterator":              true,
	"builtins.longrange_iterator":          true,
	"builtins.str_iterator":                true,
	"builtins.str_ascii_iterator":          true,
	"builtins.bytes_iterator":              true,
	"builtins.bytearray_iterator":          true,
	"builtins.memory_iterator":             true,
	"builtins.dict_keyiterator":            true,
	"builtins.dict_valueiterator":          true,
	"builtins.dict_itemiterator":           true,
	"builtins.dict_reversekeyiterator":     true,
	"builtins.dict_reversevalueiterator":   true,
	"builtins.dict_reverseitemiterator":    true,
	"builtins.odict_iterator":              true,
	"_collections._deque_iterator":         true,
	"_collections._deque_reverse_iterator": true,
	"go.iterator":                          true, // gorpyc's Go iterators never fail part-way
}
