package protocol

import (
	"errors"
	"fmt"
	"io"

	"github.com/gorpyc/rpyc/brine"
	"github.com/gorpyc/rpyc/channel"
	"github.com/gorpyc/rpyc/compat"
)

// ErrDialectMismatch means the peer does not speak the dialect that was tried. Its
// ProbeResult says which one it does speak, when that could be told.
var ErrDialectMismatch = errors.New("rpyc: peer speaks another dialect")

// ProbeError is returned by Probe when the peer refused the dialect.
type ProbeError struct {
	Tried compat.Dialect // the dialect sent
	Peer  compat.Dialect // the peer's dialect, from its CLOSE message; compat.Auto if unknown
	Err   error
}

// Error describes the refused probe.
func (e *ProbeError) Error() string {
	return fmt.Sprintf("rpyc: peer refused dialect %v (peer speaks %v): %v", e.Tried, e.Peer, e.Err)
}

// Unwrap returns ErrDialectMismatch.
func (e *ProbeError) Unwrap() error { return ErrDialectMismatch }

// probeSeq is the sequence number of the probe's PING: far above any number a connection uses,
// so that a late answer to it can never be taken for the answer to a real request.
const probeSeq = 1 << 62

// Probe sends one PING in dialect d and reads the first answer. A peer of dialect d echoes it;
// a Python peer of the other dialect cannot parse it, sends its own CLOSE (from which the other
// dialect is recognised) and closes the stream. The probe costs one round trip; a mismatch also
// costs the stream, so the caller must reconnect. The channel must not be in use by anyone else.
//
// A peer that speaks first (a server whose service calls the client on connect, such as
// ClassicService) may send a request of dialect d before it answers the PING: Probe then returns
// that message as first, and the caller passes it on in Config.Unread so the connection serves it.
// The PING's answer arrives later and is dropped.
func Probe(ch *channel.Channel, d compat.Dialect) (first []byte, err error) {
	const token = "gorpyc dialect probe"
	req, err := d.AppendMessage(nil, compat.MsgRequest, probeSeq,
		brine.Tuple{int64(compat.HandlePing), brine.Tuple{int64(compat.LabelValue), brine.Tuple{token}}})
	if err != nil {
		return nil, err
	}
	if err := ch.Send(req); err != nil {
		return nil, err
	}
	payload, err := ch.Recv()
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, &ProbeError{Tried: d, Err: err}
		}
		return nil, err
	}
	got, ok := compat.Detect(payload)
	if !ok {
		return nil, fmt.Errorf("%w: unrecognised answer % x to the dialect probe", ErrProtocol, head(payload))
	}
	if got != d {
		return nil, &ProbeError{Tried: d, Peer: got, Err: errors.New("peer answered in the other dialect")}
	}
	msg, seq, body, err := d.ParseMessage(payload)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrProtocol, err)
	}
	switch {
	case msg == compat.MsgReply && seq == probeSeq && brine.Equal(body, brine.Tuple{int64(compat.LabelValue), token}):
		return nil, nil
	case msg == compat.MsgRequest:
		return append([]byte(nil), payload...), nil // the peer speaks first, in our dialect
	}
	return nil, &ProbeError{Tried: d, Err: fmt.Errorf("unexpected answer %v %d", msg, seq)}
}
