package netref

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gorpyc/rpyc/brine"
	"github.com/gorpyc/rpyc/compat"
	"github.com/gorpyc/rpyc/internal/pickle"
	"github.com/gorpyc/rpyc/protocol"
)

// The value model of copied containers, shared with classic.Obtain.
type (
	// Dict is a copied Python dict (also OrderedDict, defaultdict, Counter): its items in
	// order. It is the same type as classic.Dict.
	Dict = pickle.Dict
	// Item is one key/value pair of a [Dict].
	Item = pickle.Item
	// Set is a copied Python set. It is the same type as classic.Set.
	Set = pickle.Set
	// ByteArray is a copied Python bytearray. It is the same type as classic.ByteArray.
	ByteArray = pickle.ByteArray
)

// ErrRecursive is wrapped by the error of [Copy] for a container that contains itself.
var ErrRecursive = pickle.ErrRecursive

// copyKind says how a remote container is copied.
type copyKind uint8

const (
	notCopied copyKind = iota
	listCopy           // builtins.list: sliceable, copied in chunks
	seqCopy            // tuple, set, frozenset, deque, bytearray
	dictCopy           // dict, OrderedDict, defaultdict, Counter
)

// copyKinds are the containers [Copy] copies, by the name_pack of their exact type.
var copyKinds = map[string]copyKind{
	"builtins.list":           listCopy,
	"builtins.tuple":          seqCopy,
	"builtins.set":            seqCopy,
	"builtins.frozenset":      seqCopy,
	"builtins.bytearray":      seqCopy,
	"collections.deque":       seqCopy,
	"builtins.dict":           dictCopy,
	"collections.OrderedDict": dictCopy,
	"collections.defaultdict": dictCopy,
	"collections.Counter":     dictCopy,
}

// Copy copies the remote containers in v into Go by value, deeply: a proxied list, tuple, dict,
// set, frozenset, bytearray, deque, OrderedDict, defaultdict or Counter, and every such
// container inside it. It works with any service (it uses only requests every rpyc server
// allows): the container's repr() is fetched (one request for up to about 65,000 items; a
// longer list goes in slices of that size) and read as Python literals; a part of it that is
// not made of literals (an object of another class, a datetime, a container that contains
// itself) is then copied item by item: slices of a list halved until the odd items are found,
// BUFFITER batches for other containers, and dict values with pipelined __getitem__ requests.
//
// The copy uses classic.Obtain's value model: list and deque → []any, tuple → brine.Tuple,
// dict → [Dict], set → [Set], frozenset → brine.FrozenSet, bytearray → [ByteArray], plus brine's
// values; objects of other classes stay proxies (*Ref). A container that contains itself fails
// with an error wrapping [ErrRecursive]. v may also be a tuple holding proxies (each copied);
// anything else is returned as is. Copy does not release v.
//
// The copy is a snapshot only if the owner does not change the containers meanwhile; an object
// whose repr() looks like a literal but is not one (a str subclass, say) is read as that
// literal.
func Copy(ctx context.Context, v any) (any, error) {
	c := &copier{ctx: ctx, done: map[compat.IDPack]any{}, path: map[compat.IDPack]bool{}, limit: reprItems}
	defer func() {
		for _, r := range c.temps {
			r.Release()
		}
	}()
	return c.value(v)
}

// reprItems is how many items of a list one repr() request covers at first; later requests
// aim at reprBytes of repr text, from the size of the previous ones.
const (
	reprItems    = 1 << 16
	reprMaxItems = 1 << 20
	reprBytes    = 8 << 20
	// reprWhole is the size up to which a container that cannot be sliced (a dict, a set) is
	// fetched with one repr().
	reprWhole = 1 << 19
)

// Requests are sent one after the other, never pipelined, and the temporary objects (slices,
// iterators) are released only at the end: Python servers write their replies with Nagle's
// algorithm on, so a reply that follows another one not yet acknowledged (a pipelined request's,
// or the reply to a DEL) waits for the client's delayed ACK, up to 40 ms; sequential requests
// acknowledge each reply as they go.

type copier struct {
	ctx   context.Context
	done  map[compat.IDPack]any  // containers copied already (shared ones are copied once)
	path  map[compat.IDPack]bool // containers being copied (a cycle comes back to one)
	limit int                    // items per repr() of a list slice
	temps []*Ref                 // objects made for the copy, released at the end
}

func (c *copier) value(v any) (any, error) {
	switch x := v.(type) {
	case *Ref:
		if x == nil || copyKinds[x.TypeName()] == notCopied {
			return v, nil
		}
		return c.ref(x)
	case *protocol.Ref:
		return c.value(From(x))
	case brine.Tuple:
		if !holdsCopyable(x, 0) {
			return x, nil
		}
		out := make(brine.Tuple, len(x))
		for i, it := range x {
			cp, err := c.value(it)
			if err != nil {
				return nil, err
			}
			out[i] = cp
		}
		return out, nil
	}
	return v, nil
}

// holdsCopyable reports whether v is, or is a tuple holding, a container Copy copies.
func holdsCopyable(v any, depth int) bool {
	switch x := v.(type) {
	case *Ref:
		return x != nil && copyKinds[x.TypeName()] != notCopied
	case *protocol.Ref:
		return x != nil && copyKinds[x.TypeName()] != notCopied
	case brine.Tuple:
		if depth > brine.MaxDepth {
			return false
		}
		for _, it := range x {
			if holdsCopyable(it, depth+1) {
				return true
			}
		}
	}
	return false
}

func (c *copier) ref(r *Ref) (any, error) {
	id := r.ID()
	if v, ok := c.done[id]; ok {
		return v, nil
	}
	if c.path[id] {
		return nil, fmt.Errorf("%w: a remote %s contains itself", ErrRecursive, r.TypeName())
	}
	c.path[id] = true
	defer delete(c.path, id)
	var v any
	var err error
	switch kind := copyKinds[r.TypeName()]; kind {
	case listCopy:
		v, err = c.list(r)
	default:
		v, err = c.whole(r, kind)
	}
	if err != nil {
		return nil, err
	}
	c.done[id] = v
	return v, nil
}

// list copies a list: its repr() in slices of up to c.limit items.
func (c *copier) list(r *Ref) (any, error) {
	n, err := r.Len(c.ctx)
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, n)
	step := c.limit
	for pos := 0; pos < n; {
		end := min(pos+step, n)
		s, err := c.slice(r, pos, end, n)
		if err != nil {
			return nil, err
		}
		text, ok, err := c.reprText(s)
		if err != nil {
			return nil, err
		}
		if ok {
			items, complete := parseListPrefix(text)
			if complete && len(items) == end-pos {
				c.learn(text, len(items))
				out = append(out, items...)
				pos, step = end, min(step*2, c.limit)
				continue
			}
			if !complete && len(items) < end-pos {
				// The item after the literals is the odd one: fetched by itself, and the
				// next slice is about twice the distance to it.
				odd, err := r.request(c.ctx, compat.HandleCallAttr, r, "__getitem__", brine.Tuple{int64(pos + len(items))}, brine.Tuple{})
				if err != nil {
					return nil, err
				}
				if ref, isRef := odd.(*Ref); isRef { // else the text did not line up with the items
					v, err := c.value(ref)
					if err != nil {
						return nil, err
					}
					out = append(append(out, items...), v)
					pos, step = pos+len(items)+1, min(max(2*len(items), 64), c.limit)
					continue
				}
			}
		}
		// repr() raised, or its text is not one literal per item: halve the slice.
		items, err := c.listRange(r, pos, end, n)
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
		pos = end
	}
	return out, nil
}

// slice returns r[a:b] as a new remote list (r itself for the whole list), released at the end
// of the copy.
func (c *copier) slice(r *Ref, a, b, n int) (*Ref, error) {
	if a == 0 && b == n {
		return r, nil
	}
	sv, err := r.request(c.ctx, compat.HandleCallAttr, r, "__getitem__",
		brine.Tuple{brine.Slice{Start: int64(a), Stop: int64(b)}}, brine.Tuple{})
	if err != nil {
		return nil, err
	}
	ref, ok := sv.(*Ref)
	if !ok {
		return nil, fmt.Errorf("rpyc: list slice arrived as %T", sv)
	}
	c.temps = append(c.temps, ref)
	return ref, nil
}

// listRange copies r[a:b] (n is len(r)) by halves, until the halves' repr() are literals or
// single items are left, which are copied by their own means.
func (c *copier) listRange(r *Ref, a, b, n int) ([]any, error) {
	if b-a <= 8 {
		s, err := c.slice(r, a, b, n)
		if err != nil {
			return nil, err
		}
		return c.items(s, b-a)
	}
	mid := a + (b-a)/2
	var out []any
	for _, h := range [2][2]int{{a, mid}, {mid, b}} {
		s, err := c.slice(r, h[0], h[1], n)
		if err != nil {
			return nil, err
		}
		v, ok, err := c.repr(s, listCopy)
		if err != nil {
			return nil, err
		}
		if ok && len(v.([]any)) == h[1]-h[0] {
			out = append(out, v.([]any)...)
			continue
		}
		items, err := c.listRange(r, h[0], h[1], n)
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
	}
	return out, nil
}

// items copies the first n items of a short container, item by item (one BUFFITER).
func (c *copier) items(s *Ref, n int) ([]any, error) {
	v, err := s.request(c.ctx, compat.HandleBuffIter, s, int64(n))
	if err != nil {
		return nil, err
	}
	t, ok := v.(brine.Tuple)
	if !ok {
		return nil, fmt.Errorf("rpyc: BUFFITER returned %T", v)
	}
	out := make([]any, len(t))
	for i, it := range t {
		if out[i], err = c.value(it); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// reprText fetches repr(r); ok is false if repr() raised.
func (c *copier) reprText(r *Ref) (text string, ok bool, err error) {
	rv, err := r.request(c.ctx, compat.HandleRepr, r)
	if err != nil {
		var re *protocol.RemoteError
		if errors.As(err, &re) && !(re.Name == "ValueError" && strings.Contains(re.Message(), "integer string conversion")) {
			return "", false, nil // an object whose repr() fails: copy item by item
		}
		// An int beyond Python's 4300 digits: the owner could not send it either (its brine
		// fails, and Python's server then drops the connection), so the copy fails here.
		return "", false, err
	}
	text, ok = rv.(string)
	return text, ok, nil
}

// repr fetches repr(r) and reads it as literals of the container kind; ok is false if it is not
// made of literals (or repr() raised).
func (c *copier) repr(r *Ref, kind copyKind) (v any, ok bool, err error) {
	text, ok, err := c.reprText(r)
	if !ok || err != nil {
		return nil, false, err
	}
	v, perr := parseLiteral(text)
	if perr != nil || !kindOf(v, r.TypeName()) {
		return nil, false, nil
	}
	if kind == listCopy {
		c.learn(text, len(v.([]any)))
	}
	return v, true, nil
}

// learn sizes the next list slices from the repr text of items items: about reprBytes each.
func (c *copier) learn(text string, items int) {
	if items > 0 {
		per := max(len(text)/items, 1)
		c.limit = min(max(reprBytes/per, 1024), reprMaxItems)
	}
}

// kindOf reports whether a parsed repr is of the container type name.
func kindOf(v any, name string) bool {
	switch v.(type) {
	case []any:
		return name == "builtins.list" || name == "collections.deque"
	case brine.Tuple:
		return name == "builtins.tuple"
	case pickle.Set:
		return name == "builtins.set"
	case brine.FrozenSet:
		return name == "builtins.frozenset"
	case pickle.ByteArray:
		return name == "builtins.bytearray"
	case pickle.Dict:
		return copyKinds[name] == dictCopy
	}
	return false
}

// whole copies a container that cannot be sliced: by one repr() if it is not too long, else (or
// if the repr is not made of literals) item by item.
func (c *copier) whole(r *Ref, kind copyKind) (any, error) {
	n, err := r.Len(c.ctx)
	if err != nil {
		return nil, err
	}
	if n <= reprWhole {
		v, ok, err := c.repr(r, kind)
		if err != nil || ok {
			return v, err
		}
	}
	items, err := c.iterate(r, n)
	if err != nil {
		return nil, err
	}
	switch name := r.TypeName(); {
	case kind == dictCopy:
		return c.dictValues(r, items)
	case name == "builtins.tuple":
		return brine.Tuple(items), nil
	case name == "builtins.set":
		return pickle.Set(items), nil
	case name == "builtins.frozenset":
		return brine.FrozenSet(items), nil
	case name == "builtins.bytearray":
		b := make(pickle.ByteArray, len(items))
		for i, it := range items {
			x, ok := it.(int64)
			if !ok || x < 0 || x > 255 {
				return nil, fmt.Errorf("rpyc: bytearray item %v", it)
			}
			b[i] = byte(x)
		}
		return b, nil
	}
	return items, nil
}

// iterate copies the items of a container (the keys of a dict) with BUFFITER batches on its
// iterator.
func (c *copier) iterate(r *Ref, n int) ([]any, error) {
	it, err := r.iterator(c.ctx)
	if err != nil {
		return nil, err
	}
	if it != r {
		c.temps = append(c.temps, it)
	}
	out := make([]any, 0, n)
	for chunk := 1024; ; chunk = min(chunk*4, 1<<16) {
		v, err := it.request(c.ctx, compat.HandleBuffIter, it, int64(chunk))
		if err != nil {
			return nil, err
		}
		t, ok := v.(brine.Tuple)
		if !ok {
			return nil, fmt.Errorf("rpyc: BUFFITER returned %T", v)
		}
		for _, item := range t {
			cp, err := c.value(item)
			if err != nil {
				return nil, err
			}
			out = append(out, cp)
		}
		if len(t) < chunk {
			return out, nil
		}
	}
}

// dictValues copies the values of a dict whose keys are known, one __getitem__ each.
func (c *copier) dictValues(r *Ref, keys []any) (any, error) {
	d := make(pickle.Dict, len(keys))
	for i, k := range keys {
		v, err := r.request(c.ctx, compat.HandleCallAttr, r, "__getitem__", brine.Tuple{k}, brine.Tuple{})
		if err != nil {
			return nil, err
		}
		if v, err = c.value(v); err != nil {
			return nil, err
		}
		d[i] = pickle.Item{Key: k, Value: v}
	}
	return d, nil
}
