package hostile

import (
	"encoding/binary"
	"fmt"

	"github.com/gorpyc/rpyc/brine"
	"github.com/gorpyc/rpyc/compat"
)

// Boxes, as brine values (label, value).

// Value boxes a brine value: (1, v).
func Value(v any) brine.Tuple { return brine.Tuple{int64(compat.LabelValue), v} }

// TupleBox boxes a tuple of boxes: (2, (box, ...)).
func TupleBox(boxes ...any) brine.Tuple {
	return brine.Tuple{int64(compat.LabelTuple), brine.Tuple(boxes)}
}

// LocalRef boxes a reference to an object of the receiver: (3, id_pack).
func LocalRef(id compat.IDPack) brine.Tuple {
	return brine.Tuple{int64(compat.LabelLocalRef), id.Tuple()}
}

// RemoteRef boxes a reference to an object of the sender: (4, id_pack).
func RemoteRef(id compat.IDPack) brine.Tuple {
	return brine.Tuple{int64(compat.LabelRemoteRef), id.Tuple()}
}

// Args boxes a request's arguments, given as boxes, the way Python boxes the argument tuple:
// (1, (v, ...)) when every box is a value, else (2, (box, ...)).
func Args(boxes ...brine.Tuple) brine.Tuple {
	vals := make(brine.Tuple, len(boxes))
	for i, b := range boxes {
		if len(b) != 2 || b[0] != int64(compat.LabelValue) {
			items := make(brine.Tuple, len(boxes))
			for j, b := range boxes {
				items[j] = b
			}
			return TupleBox(items...)
		}
		vals[i] = b[1]
	}
	return Value(vals)
}

// RequestBody is the body of a request: (handler, args box). handler is an int so that unknown
// and out-of-range numbers can be sent.
func RequestBody(handler int64, argsBox any) brine.Tuple { return brine.Tuple{handler, argsBox} }

// Message returns the payload of one message in dialect d. body is any brine value (for a
// request, see RequestBody). It panics on a value brine cannot encode.
func Message(d compat.Dialect, msg compat.MsgType, seq int64, body any) []byte {
	out, err := d.AppendMessage(nil, msg, seq, body)
	if err != nil {
		panic(fmt.Sprintf("hostile: encoding message: %v", err))
	}
	return out
}

// RawMessage returns the payload of a v5 message with an arbitrary message type (rpyc knows
// 1..3): brine (msg, seq, body).
func RawMessage(msg int64, seq int64, body any) []byte {
	out, err := brine.Append(nil, brine.Tuple{msg, seq, body})
	if err != nil {
		panic(err)
	}
	return out
}

// Request returns the payload of the request seq: handler with the boxed arguments.
func Request(d compat.Dialect, seq int64, handler compat.Handler, args ...brine.Tuple) []byte {
	return Message(d, compat.MsgRequest, seq, RequestBody(int64(handler), Args(args...)))
}

// Reply returns the payload of the reply to seq carrying box.
func Reply(d compat.Dialect, seq int64, box any) []byte {
	return Message(d, compat.MsgReply, seq, box)
}

// CallAttr returns the request seq calling obj.name(*args) (HANDLE_CALLATTR: the object as a
// LOCAL_REF of the receiver, the name, the positional arguments as boxes, no keyword arguments).
func CallAttr(d compat.Dialect, seq int64, obj compat.IDPack, name string, args ...brine.Tuple) []byte {
	return Message(d, compat.MsgRequest, seq, RequestBody(int64(compat.HandleCallAttr),
		TupleBox(LocalRef(obj), Value(name), Args(args...), Value(brine.Tuple{}))))
}

// Del returns the request seq giving back references: HANDLE_DEL with the given argument
// boxes (normally LocalRef(id) and Value(count); anything may be sent).
func Del(d compat.Dialect, seq int64, args ...brine.Tuple) []byte {
	return Message(d, compat.MsgRequest, seq, RequestBody(int64(compat.HandleDel), Args(args...)))
}

// Header bytes of payloads whose tail is streamed (never built as a value).

// PingPrefix returns the start of a PING request whose single argument is a value whose
// encoding the caller appends: v5 (1, seq, (1, (1, (<arg>,)))).
func PingPrefix(d compat.Dialect, seq int64) []byte {
	out, err := d.AppendHeader(nil, compat.MsgRequest, seq)
	if err != nil {
		panic(err)
	}
	// body: TUP2 HANDLE_PING, box: TUP2 LABEL_VALUE, TUP1 (the argument tuple)
	return append(out, byte(brine.TagTup2), 0x50+byte(compat.HandlePing),
		byte(brine.TagTup2), 0x50+byte(compat.LabelValue), byte(brine.TagTup1))
}

// ReplyPrefix returns the start of a reply to seq whose value (LABEL_VALUE) the caller
// appends: v5 (2, seq, (1, <value>)).
func ReplyPrefix(d compat.Dialect, seq int64) []byte {
	out, err := d.AppendHeader(nil, compat.MsgReply, seq)
	if err != nil {
		panic(err)
	}
	return append(out, byte(brine.TagTup2), 0x50+byte(compat.LabelValue))
}

// TupleHeader returns the brine header of a tuple of n items (TUP_L4 beyond 255).
func TupleHeader(n int) []byte {
	out, err := brine.AppendTupleHeader(nil, n)
	if err != nil {
		panic(err)
	}
	return out
}

// BytesHeader returns the brine header of a bytes value of n bytes, always in the 4-byte-length
// form (STR_L4), which brine accepts for any length.
func BytesHeader(n uint32) []byte {
	return binary.BigEndian.AppendUint32([]byte{byte(brine.TagBytesL4)}, n)
}

// StrHeader returns the brine header of a str of n UTF-8 bytes (UNICODE, then STR_L4).
func StrHeader(n uint32) []byte {
	return append([]byte{byte(brine.TagStr)}, BytesHeader(n)...)
}

// Attack payloads.

// OneByteInt is the brine encoding of the int 0 (an immediate), one byte per tuple item.
const OneByteInt byte = 0x50

// AmplificationPing returns the frame of a PING request (seq) whose argument is a tuple of n
// one-byte ints: about n/1000 bytes on the wire, n bytes inflated, and n tuple items (16 bytes
// each in Go) once decoded. n = 200,000,000 gives a 200 KB frame.
func AmplificationPing(d compat.Dialect, seq int64, n int) []byte {
	prefix := append(PingPrefix(d, seq), TupleHeader(n)...)
	return ZlibRepeatFrame(prefix, OneByteInt, int64(n))
}

// AmplificationReply returns the frame of a reply to seq whose value is a tuple of n one-byte
// ints.
func AmplificationReply(d compat.Dialect, seq int64, n int) []byte {
	prefix := append(ReplyPrefix(d, seq), TupleHeader(n)...)
	return ZlibRepeatFrame(prefix, OneByteInt, int64(n))
}

// BombPing returns the frame of a PING request whose argument is n zero bytes (a bytes value):
// a zlib bomb of about n/1000 bytes that is a valid message if the receiver inflates it all.
func BombPing(d compat.Dialect, seq int64, n uint32) []byte {
	prefix := append(PingPrefix(d, seq), BytesHeader(n)...)
	return ZlibRepeatFrame(prefix, 0, int64(n))
}

// BombReply returns the frame of a reply to seq whose value is n zero bytes, compressed.
func BombReply(d compat.Dialect, seq int64, n uint32) []byte {
	prefix := append(ReplyPrefix(d, seq), BytesHeader(n)...)
	return ZlibRepeatFrame(prefix, 0, int64(n))
}

// StrPing returns the frame of a PING request whose argument is a str of n copies of 'a'
// (compressed: 1 MiB is about 1 KB on the wire).
func StrPing(d compat.Dialect, seq int64, n uint32) []byte {
	prefix := append(PingPrefix(d, seq), StrHeader(n)...)
	return ZlibRepeatFrame(prefix, 'a', int64(n))
}

// RefID returns a made-up id_pack for the i-th object of a reference flood.
func RefID(i int) compat.IDPack {
	return compat.IDPack{Name: "builtins.object", ClassID: 1, InstanceID: int64(i) + 1}
}

// RemoteRefs returns n REMOTE_REF boxes of distinct made-up objects.
func RemoteRefs(n int) []brine.Tuple {
	out := make([]brine.Tuple, n)
	for i := range out {
		out[i] = RemoteRef(RefID(i))
	}
	return out
}

// AppendRemoteRefs appends the encodings of n REMOTE_REF boxes of the made-up objects
// RefID(first) ... RefID(first+n-1), without building them as values.
func AppendRemoteRefs(dst []byte, first, n int) []byte {
	for i := range n {
		var err error
		dst, err = brine.Append(dst, RemoteRef(RefID(first+i)))
		if err != nil {
			panic(err)
		}
	}
	return dst
}

// RemoteRefsReply returns the payload of a reply to seq whose value is a tuple of n references
// to made-up objects of the sender: (2, (ref, ...)). Its size is about 30 bytes a reference.
func RemoteRefsReply(d compat.Dialect, seq int64, n int) []byte {
	out, err := d.AppendHeader(nil, compat.MsgReply, seq)
	if err != nil {
		panic(err)
	}
	out = append(out, byte(brine.TagTup2), 0x50+byte(compat.LabelTuple))
	out = append(out, TupleHeader(n)...)
	return AppendRemoteRefs(out, 0, n)
}

// CallAttrRefs returns the request seq calling obj.name with n references to made-up objects of
// the sender (RefID(first) onwards): as n positional arguments, or, if oneTuple, as a single
// argument holding a tuple of them. The same bytes as CallAttr with RemoteRef boxes, built
// without holding the boxes as values.
func CallAttrRefs(d compat.Dialect, seq int64, obj compat.IDPack, name string, first, n int, oneTuple bool) []byte {
	out, err := d.AppendHeader(nil, compat.MsgRequest, seq)
	if err != nil {
		panic(err)
	}
	// (HANDLE_CALLATTR, (2, (LOCAL_REF obj, (1, name), args box, (1, ()))))
	out = append(out, byte(brine.TagTup2), 0x50+byte(compat.HandleCallAttr),
		byte(brine.TagTup2), 0x50+byte(compat.LabelTuple), byte(brine.TagTup4))
	if out, err = brine.Append(out, LocalRef(obj)); err != nil {
		panic(err)
	}
	if out, err = brine.Append(out, Value(name)); err != nil {
		panic(err)
	}
	out = append(out, byte(brine.TagTup2), 0x50+byte(compat.LabelTuple))
	if oneTuple {
		out = append(out, byte(brine.TagTup1), byte(brine.TagTup2), 0x50+byte(compat.LabelTuple))
	}
	out = append(out, TupleHeader(n)...)
	out = AppendRemoteRefs(out, first, n)
	return append(out, byte(brine.TagTup2), 0x50+byte(compat.LabelValue), byte(brine.TagEmptyTuple))
}
