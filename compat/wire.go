// This file holds RPyC's protocol vocabulary (names follow rpyc's consts.py): message types,
// request handlers, box labels and the id_pack.

package compat

import (
	"errors"
	"fmt"
	"math/big"

	"github.com/gorpyc/rpyc/brine"
)

// MsgType is the message type of an RPyC message.
type MsgType uint8

// Message types.
const (
	MsgRequest   MsgType = 1
	MsgReply     MsgType = 2
	MsgException MsgType = 3
)

// String returns rpyc's constant name (MSG_REQUEST, ...).
func (m MsgType) String() string {
	switch m {
	case MsgRequest:
		return "MSG_REQUEST"
	case MsgReply:
		return "MSG_REPLY"
	case MsgException:
		return "MSG_EXCEPTION"
	}
	return fmt.Sprintf("MSG_UNKNOWN_%d", uint8(m))
}

// Handler is the number of a request handler (HANDLE_*).
type Handler uint8

// Request handlers.
const (
	HandlePing          Handler = 1
	HandleClose         Handler = 2
	HandleGetRoot       Handler = 3
	HandleGetAttr       Handler = 4
	HandleDelAttr       Handler = 5
	HandleSetAttr       Handler = 6
	HandleCall          Handler = 7
	HandleCallAttr      Handler = 8
	HandleRepr          Handler = 9
	HandleStr           Handler = 10
	HandleCmp           Handler = 11
	HandleHash          Handler = 12
	HandleDir           Handler = 13
	HandlePickle        Handler = 14
	HandleDel           Handler = 15
	HandleInspect       Handler = 16
	HandleBuffIter      Handler = 17
	HandleOldSlicing    Handler = 18
	HandleCtxExit       Handler = 19
	HandleInstanceCheck Handler = 20
)

var handlerNames = [...]string{
	HandlePing: "PING", HandleClose: "CLOSE", HandleGetRoot: "GETROOT", HandleGetAttr: "GETATTR",
	HandleDelAttr: "DELATTR", HandleSetAttr: "SETATTR", HandleCall: "CALL", HandleCallAttr: "CALLATTR",
	HandleRepr: "REPR", HandleStr: "STR", HandleCmp: "CMP", HandleHash: "HASH", HandleDir: "DIR",
	HandlePickle: "PICKLE", HandleDel: "DEL", HandleInspect: "INSPECT", HandleBuffIter: "BUFFITER",
	HandleOldSlicing: "OLDSLICING", HandleCtxExit: "CTXEXIT", HandleInstanceCheck: "INSTANCECHECK",
}

// String returns rpyc's constant name (HANDLE_GETATTR, ...).
func (h Handler) String() string {
	if int(h) < len(handlerNames) && handlerNames[h] != "" {
		return "HANDLE_" + handlerNames[h]
	}
	return fmt.Sprintf("HANDLE_UNKNOWN_%d", uint8(h))
}

// Label says how a boxed value travels.
type Label uint8

// Box labels.
const (
	LabelValue     Label = 1 // a brine value
	LabelTuple     Label = 2 // a tuple of boxes
	LabelLocalRef  Label = 3 // an object that lives on the receiver
	LabelRemoteRef Label = 4 // an object that lives on the sender
)

// ExcStopIteration is the exception payload that means StopIteration.
const ExcStopIteration = 1

// IDPack identifies an object exported over a connection: (name_pack, class_id, instance_id).
// InstanceID 0 means the object is a class.
type IDPack struct {
	Name       string
	ClassID    int64
	InstanceID int64
}

// Tuple returns the id_pack as the brine tuple that travels on the wire.
func (p IDPack) Tuple() brine.Tuple {
	return brine.Tuple{p.Name, p.ClassID, p.InstanceID}
}

// String formats the id_pack as a Python tuple.
func (p IDPack) String() string {
	return fmt.Sprintf("(%q, %d, %d)", p.Name, p.ClassID, p.InstanceID)
}

// ErrBadIDPack means a value that is not a valid id_pack.
var ErrBadIDPack = errors.New("rpyc: malformed id_pack")

// ParseIDPack converts a decoded id_pack. Python tolerates a bytes name (it applies str()); this
// accepts str only, and ints that fit int64 (CPython ids do).
func ParseIDPack(v any) (IDPack, error) {
	t, ok := v.(brine.Tuple)
	if !ok || len(t) != 3 {
		return IDPack{}, fmt.Errorf("%w: %v", ErrBadIDPack, v)
	}
	name, ok := t[0].(string)
	if !ok {
		return IDPack{}, fmt.Errorf("%w: name %v is not a str", ErrBadIDPack, t[0])
	}
	cid, ok1 := toInt64(t[1])
	iid, ok2 := toInt64(t[2])
	if !ok1 || !ok2 {
		return IDPack{}, fmt.Errorf("%w: ids %v, %v are not 64-bit ints", ErrBadIDPack, t[1], t[2])
	}
	return IDPack{Name: name, ClassID: cid, InstanceID: iid}, nil
}

func toInt64(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case *big.Int:
		if x.IsInt64() {
			return x.Int64(), true
		}
	}
	return 0, false
}
