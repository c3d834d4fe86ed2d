package protocol

import "github.com/gorpyc/rpyc/internal/wire"

// Protocol vocabulary, re-exported from the wire constants so that traces read like rpyc's
// consts.py. See PROTOCOL.md sections 3-5.
type (
	// MsgType is MSG_REQUEST, MSG_REPLY or MSG_EXCEPTION.
	MsgType = wire.MsgType
	// Handler is a HANDLE_* request number.
	Handler = wire.Handler
	// Label is a boxing label (LABEL_*).
	Label = wire.Label
	// IDPack identifies an exported object: (name_pack, class_id, instance_id).
	IDPack = wire.IDPack
)

// Message types.
const (
	MsgRequest   = wire.MsgRequest
	MsgReply     = wire.MsgReply
	MsgException = wire.MsgException
)

// Request handlers.
const (
	HandlePing          = wire.HandlePing
	HandleClose         = wire.HandleClose
	HandleGetRoot       = wire.HandleGetRoot
	HandleGetAttr       = wire.HandleGetAttr
	HandleDelAttr       = wire.HandleDelAttr
	HandleSetAttr       = wire.HandleSetAttr
	HandleCall          = wire.HandleCall
	HandleCallAttr      = wire.HandleCallAttr
	HandleRepr          = wire.HandleRepr
	HandleStr           = wire.HandleStr
	HandleCmp           = wire.HandleCmp
	HandleHash          = wire.HandleHash
	HandleDir           = wire.HandleDir
	HandlePickle        = wire.HandlePickle
	HandleDel           = wire.HandleDel
	HandleInspect       = wire.HandleInspect
	HandleBuffIter      = wire.HandleBuffIter
	HandleOldSlicing    = wire.HandleOldSlicing
	HandleCtxExit       = wire.HandleCtxExit
	HandleInstanceCheck = wire.HandleInstanceCheck
)

// Boxing labels.
const (
	LabelValue     = wire.LabelValue
	LabelTuple     = wire.LabelTuple
	LabelLocalRef  = wire.LabelLocalRef
	LabelRemoteRef = wire.LabelRemoteRef
)
