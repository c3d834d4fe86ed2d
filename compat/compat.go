// Package compat is RPyC's wire vocabulary and what differs between versions of it: the
// message types, request handlers (HANDLE_*), box labels and the id_pack, named as in rpyc's
// consts.py; the two message envelopes ([Dialect]) with their detection; per-version features;
// and Python's rule for service names ([ServiceName]). The protocol package consults these values
// instead of scattered version checks.
//
// The one difference that must be agreed per connection is the message envelope (the dialect):
//
//	V5 (rpyc 4.1.0 - 5.3.1): payload = brine (msg, seq, body)
//	                          e.g. GETROOT seq 0:  12 51 50 11 53 11 51 02
//	V6 (rpyc 6.0.0 - 6.0.2): payload = one raw msg byte, then brine (seq, body)
//	                          e.g. GETROOT seq 0:  01 11 50 11 53 11 51 02
//
// A Python 5.x peer and a Python 6.x peer cannot talk to each other at all; a gorpyc peer speaks
// both, one per connection. Brine, framing, boxing, handlers and exceptions are identical.
// The other differences (close semantics, builtin netref names, registry LIST layout) are
// described by [Features].
package compat

import (
	"errors"
	"fmt"

	"github.com/gorpyc/rpyc/brine"
)

// Dialect is a message envelope.
type Dialect uint8

const (
	// Auto means "not decided yet": a server detects the dialect from the peer's first message
	// ([Detect]); a client probes (see the rpyc package's Connect).
	Auto Dialect = iota
	// V5 is the envelope of rpyc 4.1.0 through 5.3.1.
	V5
	// V6 is the envelope of rpyc 6.0.0 through 6.0.2.
	V6
)

// String returns "v5", "v6" or "auto".
func (d Dialect) String() string {
	switch d {
	case Auto:
		return "auto"
	case V5:
		return "v5"
	case V6:
		return "v6"
	}
	return fmt.Sprintf("Dialect(%d)", uint8(d))
}

// ParseDialect parses "v5", "v6" or "auto" (also "5", "6").
func ParseDialect(s string) (Dialect, error) {
	switch s {
	case "auto", "":
		return Auto, nil
	case "v5", "5":
		return V5, nil
	case "v6", "6":
		return V6, nil
	}
	return Auto, fmt.Errorf("compat: unknown dialect %q (want v5, v6 or auto)", s)
}

// ErrBadMessage means a payload that is not a message of the dialect.
var ErrBadMessage = errors.New("compat: malformed message")

// AppendMessage appends the payload of one message to dst. body is an already-boxed brine value.
func (d Dialect) AppendMessage(dst []byte, msg MsgType, seq int64, body any) ([]byte, error) {
	switch d {
	case V5:
		return brine.Append(dst, brine.Tuple{int64(msg), seq, body})
	case V6:
		out, err := brine.Append(append(dst, byte(msg)), brine.Tuple{seq, body})
		if err != nil {
			return dst, err
		}
		return out, nil
	}
	return dst, fmt.Errorf("compat: cannot encode with dialect %v", d)
}

// AppendHeader appends the start of one message, everything before its body: the payload is
// complete once the caller appends the brine encoding of the body. The result is the same as
// AppendMessage's, without building the body as a value first.
func (d Dialect) AppendHeader(dst []byte, msg MsgType, seq int64) ([]byte, error) {
	switch d {
	case V5:
		dst = append(dst, byte(brine.TagTup3))
		dst = brine.AppendInt(dst, int64(msg))
		return brine.AppendInt(dst, seq), nil
	case V6:
		dst = append(dst, byte(msg), byte(brine.TagTup2))
		return brine.AppendInt(dst, seq), nil
	}
	return dst, fmt.Errorf("compat: cannot encode with dialect %v", d)
}

// ParseMessage decodes one message payload.
func (d Dialect) ParseMessage(payload []byte) (msg MsgType, seq int64, body any, err error) {
	msg, seq, body, _, err = d.DecodeMessage(brine.Decoder{}, payload)
	return msg, seq, body, err
}

// DecodeMessage is ParseMessage with dec's limits (its decoded-size budget, above all), and it
// also reports the Go memory the message decoded into (see brine.Decoder.LoadSized).
func (d Dialect) DecodeMessage(dec brine.Decoder, payload []byte) (msg MsgType, seq int64, body any, size int64, err error) {
	var fields brine.Tuple
	switch d {
	case V5:
		v, n, err := dec.LoadSized(payload)
		size = n
		if err != nil {
			return 0, 0, nil, 0, err
		}
		t, ok := v.(brine.Tuple)
		if !ok || len(t) != 3 {
			return 0, 0, nil, 0, fmt.Errorf("%w: v5 message is not a 3-tuple", ErrBadMessage)
		}
		m, ok := t[0].(int64)
		if !ok || m < 1 || m > 3 {
			return 0, 0, nil, 0, fmt.Errorf("%w: invalid message type %v", ErrBadMessage, t[0])
		}
		msg, fields = MsgType(m), t[1:]
	case V6:
		if len(payload) == 0 || payload[0] < 1 || payload[0] > 3 {
			if len(payload) == 0 {
				return 0, 0, nil, 0, fmt.Errorf("%w: empty v6 message", ErrBadMessage)
			}
			return 0, 0, nil, 0, fmt.Errorf("%w: invalid message type %d", ErrBadMessage, payload[0])
		}
		v, n, err := dec.LoadSized(payload[1:])
		size = n
		if err != nil {
			return 0, 0, nil, 0, err
		}
		t, ok := v.(brine.Tuple)
		if !ok || len(t) != 2 {
			return 0, 0, nil, 0, fmt.Errorf("%w: v6 message is not a 2-tuple", ErrBadMessage)
		}
		msg, fields = MsgType(payload[0]), t
	default:
		return 0, 0, nil, 0, fmt.Errorf("compat: cannot decode with dialect %v", d)
	}
	s, ok := fields[0].(int64)
	if !ok {
		return 0, 0, nil, 0, fmt.Errorf("%w: sequence number %v is not an int", ErrBadMessage, fields[0])
	}
	return msg, s, fields[1], size, nil
}

// Detect guesses the dialect of a message payload from its first bytes:
// 12 followed by 51/52/53 is V5; 01/02/03 followed by 11 is V6. It reports false for anything
// else.
func Detect(payload []byte) (Dialect, bool) {
	if len(payload) < 2 {
		return Auto, false
	}
	switch {
	case payload[0] == 0x12 && payload[1] >= 0x51 && payload[1] <= 0x53:
		return V5, true
	case payload[0] >= 1 && payload[0] <= 3 && payload[1] == 0x11:
		return V6, true
	}
	return Auto, false
}

// Features describes the behaviour of a peer version beyond the envelope.
type Features struct {
	// Dialect is the message envelope.
	Dialect Dialect
	// SyncClose: the peer's close() waits for a reply to HANDLE_CLOSE, for EOF, or for its
	// sync_request_timeout (6.x); 5.x sends CLOSE asynchronously and closes at once.
	SyncClose bool
	// BuiltinNetrefNames lists the name_packs for which a Python client of this version builds a
	// proxy class locally, without sending HANDLE_INSPECT.
	BuiltinNetrefNames []string
	// RegistryListTakesFilter: LIST carries ((filter_host,),) (5.2.1+) rather than () (5.1.x).
	RegistryListTakesFilter bool
}

// builtinNames are the 32 names every version from 4.1 builds locally (CPython 3.11 spelling).
var builtinNames = []string{
	"builtins.BaseException", "builtins.Exception", "builtins.NoneType", "builtins.bool",
	"builtins.builtin_function_or_method", "builtins.bytearray", "builtins.bytes", "builtins.code",
	"builtins.complex", "builtins.dict", "builtins.float", "builtins.frame", "builtins.frozenset",
	"builtins.function", "builtins.generator", "builtins.int", "builtins.list",
	"builtins.list_iterator", "builtins.memoryview", "builtins.method", "builtins.method-wrapper",
	"builtins.object", "builtins.range_iterator", "builtins.set", "builtins.set_iterator",
	"builtins.slice", "builtins.str", "builtins.traceback", "builtins.tuple",
	"builtins.tuple_iterator", "builtins.type", "builtins.wrapper_descriptor",
}

// For returns the features of a Dialect's newest supported Python version (5.3 for V5, 6.0.2 for
// V6), which is what an unknown peer of that dialect is assumed to be.
func For(d Dialect) Features {
	names := append(append([]string{}, builtinNames...), "builtins.mappingproxy")
	f := Features{Dialect: d, RegistryListTakesFilter: true, BuiltinNetrefNames: names}
	if d == V6 {
		f.SyncClose = true
		f.BuiltinNetrefNames = append(names, "builtins.module")
	}
	return f
}

// IsBuiltinNetrefName reports whether a Python client of these features proxies name_pack
// without sending HANDLE_INSPECT.
func (f Features) IsBuiltinNetrefName(name string) bool {
	for _, n := range f.BuiltinNetrefNames {
		if n == name {
			return true
		}
	}
	return false
}
