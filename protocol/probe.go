package protocol

import (
	"errors"
	"fmt"
	"io"

	"github.com/gorpyc/rpyc/brine"
	"github.com/gorpyc/rpyc/channel"
	"github.com/gorpyc/rpyc/compat"
	"github.com/gorpyc/rpyc/internal/wire"
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

// Probe sends one PING in dialect d and reads the first answer. A peer of dialect d echoes it;
// a Python peer of the other dialect cannot parse it, sends its own CLOSE (from which the other
// dialect is recognised) and closes the stream. The probe costs one round trip; a mismatch also
// costs the stream, so the caller must reconnect. The channel must not be in use by anyone else.
func Probe(ch *channel.Channel, d compat.Dialect) error {
	const token = "gorpyc dialect probe"
	req, err := d.AppendMessage(nil, wire.MsgRequest, 0,
		brine.Tuple{int64(wire.HandlePing), brine.Tuple{int64(wire.LabelValue), brine.Tuple{token}}})
	if err != nil {
		return err
	}
	if err := ch.Send(req); err != nil {
		return err
	}
	payload, err := ch.Recv()
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return &ProbeError{Tried: d, Err: err}
		}
		return err
	}
	got, ok := compat.Detect(payload)
	if !ok {
		return fmt.Errorf("%w: unrecognised answer % x to the dialect probe", ErrProtocol, head(payload))
	}
	if got != d {
		return &ProbeError{Tried: d, Peer: got, Err: errors.New("peer answered in the other dialect")}
	}
	msg, seq, body, err := d.ParseMessage(payload)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrProtocol, err)
	}
	if msg == wire.MsgReply && seq == 0 && brine.Equal(body, brine.Tuple{int64(wire.LabelValue), token}) {
		return nil
	}
	return &ProbeError{Tried: d, Err: fmt.Errorf("unexpected answer %v %d", msg, seq)}
}
