package protocol

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"sync"
	"unicode/utf8"
	"weak"

	"github.com/gorpyc/rpyc/brine"
	"github.com/gorpyc/rpyc/compat"
	"github.com/gorpyc/rpyc/internal/ident"
)

// ByRef wraps a value that must travel by reference even if it could go by value (a slice of
// ints, say, that the peer should see as a live, mutable Go object rather than a tuple).
type ByRef struct{ Value any }

// appendBox appends the brine encoding of v's wire box (label, value) to m, following Python's
// order: dumpable values by value, tuples element-wise, this peer's proxies as LOCAL_REF, and
// anything else exported as REMOTE_REF. Go slices and arrays of dumpable items travel as tuples
// (wrap them in ByRef to export them instead). The box is written straight into m, without
// building it as a value first; large bytes values are left where they are (see wireMsg).
func (c *Conn) appendBox(m *wireMsg, v any) (err error) {
	switch x := v.(type) {
	case []byte:
		m.b = appendLabel(m.b, compat.LabelValue)
		return m.appendValue(x)
	case nil, bool, int, int64, float64:
		m.b, err = brine.Append(appendLabel(m.b, compat.LabelValue), v)
		return err
	case string:
		if !utf8.ValidString(x) {
			return fmt.Errorf("%w: str is not valid UTF-8", ValueError)
		}
		m.b, err = brine.Append(appendLabel(m.b, compat.LabelValue), v)
		return err
	case brine.Tuple:
		if brine.Dumpable(x) {
			m.b = appendLabel(m.b, compat.LabelValue)
			return m.appendValue(x)
		}
		m.b, err = brine.AppendTupleHeader(appendLabel(m.b, compat.LabelTuple), len(x))
		for _, it := range x {
			if err != nil {
				break
			}
			err = c.appendBox(m, it)
		}
		return err
	case Proxy:
		if r := x.ProtocolRef(); r != nil {
			if r.Released() {
				return fmt.Errorf("%w: proxy %v was released", ValueError, r.ID())
			}
			if r.Conn() == c {
				m.b = appendIDPack(appendLabel(m.b, compat.LabelLocalRef), r.ID())
				return nil
			}
			// Another connection's object: exported like a local one, its requests forwarded
			// to its owner (forward.go), as Python chains proxies.
			m.b = c.appendRef(m.b, r)
			return nil
		}
	case *big.Int:
		if x != nil && !brine.Dumpable(x) { // Python refuses to send such an int too
			return fmt.Errorf("%w: Exceeds the limit (%d digits) for integer string conversion",
				ValueError, brine.MaxIntDigits)
		}
	case ByRef:
		m.b = c.appendRef(m.b, x.Value)
		return nil
	case compat.IDPack:
		m.b = appendIDPack(appendLabel(m.b, compat.LabelValue), x)
		return nil
	case localRef:
		m.b = appendIDPack(appendLabel(m.b, compat.LabelLocalRef), compat.IDPack(x))
		return nil
	}
	if brine.Dumpable(v) {
		m.b, err = brine.Append(appendLabel(m.b, compat.LabelValue), v)
		return err
	}
	if t, ok := sliceAsTuple(v); ok {
		return c.appendBox(m, t)
	}
	m.b = c.appendRef(m.b, v)
	return nil
}

// wireMsg is an encoded message on its way out: its brine bytes, except for bytes values of
// spliceMin bytes or more, which stay in the caller's memory and are spliced in when the frame
// is written (channel.Channel.SendParts), so that a large []byte goes from the caller's slice
// to the transport without being copied.
type wireMsg struct {
	b     []byte // the encoding, with the large bytes values left out
	spans []span // where they go, in order
	parts [][]byte
}

// span is a large bytes value that belongs at offset at of wireMsg.b.
type span struct {
	at   int
	data []byte
}

// spliceMin is the smallest bytes value a wireMsg leaves in place: the size from which the
// channel writes a part without copying it.
const spliceMin = 64 << 10

// size is the length of the encoded message.
func (m *wireMsg) size() int {
	n := len(m.b)
	for _, s := range m.spans {
		n += len(s.data)
	}
	return n
}

// payload returns the message as the parts of one frame payload.
func (m *wireMsg) payload() [][]byte {
	m.parts = m.parts[:0]
	at := 0
	for _, s := range m.spans {
		m.parts = append(m.parts, m.b[at:s.at], s.data)
		at = s.at
	}
	m.parts = append(m.parts, m.b[at:])
	return m.parts
}

// appendValue appends brine's encoding of the dumpable value v, leaving large bytes values in
// place (tuples holding one are encoded item by item; brine.Append writes the same bytes).
func (m *wireMsg) appendValue(v any) (err error) {
	switch x := v.(type) {
	case []byte:
		if len(x) >= spliceMin && uint64(len(x)) <= math.MaxUint32 {
			m.b = binary.BigEndian.AppendUint32(append(m.b, byte(brine.TagBytesL4)), uint32(len(x)))
			m.spans = append(m.spans, span{at: len(m.b), data: x})
			return nil
		}
	case brine.Tuple:
		if holdsLarge(x) {
			m.b, err = brine.AppendTupleHeader(m.b, len(x))
			for _, it := range x {
				if err != nil {
					break
				}
				err = m.appendValue(it)
			}
			return err
		}
	}
	m.b, err = brine.Append(m.b, v)
	return err
}

// holdsLarge reports whether t holds, at any depth of tuples, a bytes value of spliceMin bytes
// or more.
func holdsLarge(t brine.Tuple) bool {
	for _, it := range t {
		switch x := it.(type) {
		case []byte:
			if len(x) >= spliceMin {
				return true
			}
		case brine.Tuple:
			if holdsLarge(x) {
				return true
			}
		}
	}
	return false
}

// reset empties m for reuse, dropping its references to the caller's data.
func (m *wireMsg) reset() {
	m.b = m.b[:0]
	clear(m.spans)
	m.spans = m.spans[:0]
	clear(m.parts)
	m.parts = m.parts[:0]
}

// appendLabel starts a box: a 2-tuple whose first item is the label.
func appendLabel(dst []byte, l compat.Label) []byte {
	return brine.AppendInt(append(dst, byte(brine.TagTup2)), int64(l))
}

// appendIDPack appends an id_pack as the 3-tuple that travels.
func appendIDPack(dst []byte, id compat.IDPack) []byte {
	dst = append(dst, byte(brine.TagTup3))
	dst, _ = brine.Append(dst, id.Name) // a Go string is always encodable
	return brine.AppendInt(brine.AppendInt(dst, id.ClassID), id.InstanceID)
}

// appendRef exports v and appends its REMOTE_REF box.
func (c *Conn) appendRef(dst []byte, v any) []byte {
	return appendIDPack(appendLabel(dst, compat.LabelRemoteRef), c.export(v))
}

// localRef is an object of the peer named by its id_pack, boxed as LABEL_LOCAL_REF ("this lives
// on you"), for requests about an object whose proxy is no longer at hand (HANDLE_DEL). A bare
// compat.IDPack is boxed by value instead, as INSPECT and INSTANCECHECK need.
type localRef compat.IDPack

// sliceAsTuple converts a Go slice or array (not []byte) whose items are all dumpable to a Tuple.
func sliceAsTuple(v any) (brine.Tuple, bool) {
	rv := reflect.ValueOf(v)
	if k := rv.Kind(); k != reflect.Slice && k != reflect.Array {
		return nil, false
	}
	t := make(brine.Tuple, rv.Len())
	for i := range t {
		it := rv.Index(i).Interface()
		if !brine.Dumpable(it) {
			if conv, ok := plainScalar(rv.Index(i)); ok {
				it = conv
			} else {
				return nil, false
			}
		}
		t[i] = it
	}
	return t, true
}

// plainScalar converts named Go scalar types (type Celsius float64) to their plain value.
func plainScalar(rv reflect.Value) (any, bool) {
	switch rv.Kind() {
	case reflect.Bool:
		return rv.Bool(), true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int(), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return new(big.Int).SetUint64(rv.Uint()), true
	case reflect.Float32, reflect.Float64:
		return rv.Float(), true
	case reflect.String:
		return rv.String(), true
	}
	return nil, false
}

// export adds v to the local object table (or counts one more reference to it).
func (c *Conn) export(v any) compat.IDPack {
	idn, hasIdentity := ident.Of(v)
	c.mu.Lock()
	defer c.mu.Unlock()
	if hasIdentity {
		if id, ok := c.byIdentity[idn]; ok {
			if e, ok := c.locals[id]; ok {
				e.extra++
				return id
			}
		}
	}
	name := c.namePack(v)
	cid, ok := c.classIDs[name]
	if !ok {
		cid = classIDFor(name)
		c.classIDs[name] = cid
	}
	c.nextID++
	id := compat.IDPack{Name: name, ClassID: cid, InstanceID: c.nextID}
	if r, ok := v.(*Ref); ok && r.IsClass() {
		// A class of another connection, forwarded: instance id 0 and the class id its
		// instances get, as Python's chained netrefs keep, so that the peer proxies it as a
		// class (isinstance works). A second class of the same name keeps a fresh id.
		if _, taken := c.locals[compat.IDPack{Name: name, ClassID: cid}]; !taken {
			id.InstanceID = 0
		}
	}
	c.locals[id] = &localEntry{obj: v}
	if hasIdentity {
		c.byIdentity[idn] = id
	}
	return id
}

var (
	classIDMu  sync.Mutex
	classIDMap = map[string]int64{}
)

// classIDFor gives each name_pack a process-wide class id (Python uses id(type)).
func classIDFor(name string) int64 {
	classIDMu.Lock()
	defer classIDMu.Unlock()
	id, ok := classIDMap[name]
	if !ok {
		id = int64(len(classIDMap) + 1)
		classIDMap[name] = id
	}
	return id
}

// namePack names a local object's type for the peer (see Objects.NamePack).
func (c *Conn) namePack(v any) string {
	if r, ok := v.(*Ref); ok {
		return r.TypeName() // another connection's object, forwarded (forward.go)
	}
	if c.objs != nil {
		return c.objs.NamePack(v)
	}
	return fmt.Sprintf("go.%T", v)
}

// unbox converts a received box to a Go value. It reuses the decoded tuples.
func (c *Conn) unbox(v any) (any, error) {
	t, ok := v.(brine.Tuple)
	if !ok || len(t) != 2 {
		return nil, fmt.Errorf("%w: malformed box %v", ValueError, v)
	}
	label, _ := t[0].(int64)
	switch compat.Label(label) {
	case compat.LabelValue:
		return t[1], nil
	case compat.LabelTuple:
		items, ok := t[1].(brine.Tuple)
		if !ok {
			return nil, fmt.Errorf("%w: LABEL_TUPLE with %T", ValueError, t[1])
		}
		// Unboxed in place: a freshly decoded tuple belongs to nobody else.
		for i, it := range items {
			u, err := c.unbox(it)
			if err != nil {
				return nil, err
			}
			items[i] = u
		}
		return t[1], nil
	case compat.LabelLocalRef:
		return c.local(t[1])
	case compat.LabelRemoteRef:
		id, err := compat.ParseIDPack(t[1])
		if err != nil {
			return nil, err
		}
		return c.proxy(id), nil
	}
	return nil, fmt.Errorf("%w: invalid label %v", ValueError, t[0])
}

// proxy returns the live proxy for id (counting one more reference) or makes a new one.
func (c *Conn) proxy(id compat.IDPack) *Ref {
	c.mu.Lock()
	defer c.mu.Unlock()
	if wp, ok := c.proxies[id]; ok {
		if r := wp.Value(); r != nil && r.acquire() {
			return r
		}
	}
	r := newRef(c, id)
	c.proxies[id] = weak.Make(r)
	return r
}

// handleDel applies HANDLE_DEL(obj, count=1) (see the package doc, "Reference counting"). It works on the raw boxed
// arguments, so that the object is found by its exact id_pack.
func (c *Conn) handleDel(boxedArgs any) error {
	box, _ := boxedArgs.(brine.Tuple)
	var items brine.Tuple
	if len(box) == 2 {
		items, _ = box[1].(brine.Tuple)
	}
	if len(items) < 1 || len(items) > 2 {
		return fmt.Errorf("%w: DEL takes 1 or 2 arguments", TypeError)
	}
	ref, _ := items[0].(brine.Tuple)
	if len(ref) != 2 || ref[0] != int64(compat.LabelLocalRef) {
		return fmt.Errorf("%w: DEL of something that is not a local reference", TypeError)
	}
	id, err := compat.ParseIDPack(ref[1])
	if err != nil {
		return err
	}
	count := int64(1)
	if len(items) == 2 {
		v, err := c.unbox(items[1])
		if err != nil {
			return err
		}
		n, ok := v.(int64)
		if !ok {
			return fmt.Errorf("%w: DEL count %v is not an int", TypeError, v)
		}
		if n < 0 {
			return fmt.Errorf("%w: DEL count %d is negative", ValueError, n)
		}
		count = n
	}
	c.mu.Lock()
	e, ok := c.locals[id]
	if !ok {
		c.mu.Unlock()
		return fmt.Errorf("%w: %v", KeyError, id)
	}
	removed := e.extra < count
	if removed {
		delete(c.locals, id)
		if idn, ok := ident.Of(e.obj); ok && c.byIdentity[idn] == id {
			delete(c.byIdentity, idn)
		}
	} else {
		e.extra -= count
	}
	c.mu.Unlock()
	if r, ok := e.obj.(Releaser); ok && removed {
		c.work(task{fn: r.RPyCRelease}) // user code: never in the reader
	}
	return nil
}

// releaseAll releases the proxies inside a value nobody will see.
func releaseAll(v any) {
	switch x := v.(type) {
	case *Ref:
		x.Release()
	case brine.Tuple:
		for _, it := range x {
			releaseAll(it)
		}
	}
}

// LocalObjects returns how many objects the connection currently exports to its peer.
func (c *Conn) LocalObjects() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.locals)
}

// RemoteObjects returns how many objects of the peer this side holds proxies of now (live
// Refs, the root included).
func (c *Conn) RemoteObjects() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, wp := range c.proxies {
		if r := wp.Value(); r != nil && !r.Released() {
			n++
		}
	}
	if c.remoteRoot != nil {
		n++
	}
	return n
}

// local returns the exported object a raw id_pack names (KeyError if it is not exported).
func (c *Conn) local(rawID any) (any, error) {
	id, err := compat.ParseIDPack(rawID)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	e, ok := c.locals[id]
	c.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("%w: %v", KeyError, id)
	}
	return e.obj, nil
}
