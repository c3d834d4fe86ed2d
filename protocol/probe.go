package protocol

import (
	"context"
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

// NewClient starts the connecting side of a connection over ch, like [New]. If cfg.Dialect is
// compat.Auto it first finds the peer's dialect: it sends one PING in the v5 envelope (see
// [WithProbeDialect]) and reads
// the answer. A peer of that dialect echoes it; a Python peer of the other dialect cannot parse
// it, sends its own CLOSE (from which its dialect is recognised) and closes the stream: NewClient
// then returns a *ProbeError whose Peer says which dialect to use on a new stream.
//
// The probe is bounded by ctx or, when ctx has no deadline, by cfg.SyncRequestTimeout; when it
// expires the channel is closed and the error wraps context.DeadlineExceeded. On any error ch
// is closed.
//
// A peer that speaks first (a server whose service calls the client on connect, such as
// ClassicService) may send a request before it answers the PING: that request is served once
// the connection is up, and the PING's late answer is dropped.
func NewClient(ctx context.Context, ch *channel.Channel, root any, cfg Config, opts ...Option) (*Conn, error) {
	var first []byte
	if cfg.Dialect == compat.Auto {
		if _, ok := ctx.Deadline(); !ok && cfg.SyncRequestTimeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeoutCause(ctx, cfg.SyncRequestTimeout,
				fmt.Errorf("rpyc: dialect probe: no answer within %v: %w", cfg.SyncRequestTimeout, context.DeadlineExceeded))
			defer cancel()
		}
		stop := context.AfterFunc(ctx, func() { _ = ch.Close() })
		d := compat.V5
		var o connOptions
		for _, opt := range opts {
			opt(&o)
		}
		if o.probe != compat.Auto {
			d = o.probe
		}
		var err error
		first, err = probe(ch, d)
		interrupted := !stop()
		if err != nil || interrupted {
			_ = ch.Close()
			if interrupted && ctx.Err() != nil {
				return nil, context.Cause(ctx)
			}
			return nil, err
		}
		cfg.Dialect = d
	}
	return newConn(ch, root, cfg, first, opts), nil
}

// probe sends one PING in dialect d and reads the first answer (see NewClient). The channel
// must not be in use by anyone else.
func probe(ch *channel.Channel, d compat.Dialect) (first []byte, err error) {
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
