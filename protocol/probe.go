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

// probeSeq is the sequence number of the probe's GETROOT: far above any number a connection
// uses, so that its answer can never be taken for the answer to a real request.
const probeSeq = 1 << 62

// NewClient starts the connecting side of a connection over ch, like [New]. If cfg.Dialect is
// compat.Auto it first finds the peer's dialect: it sends GETROOT in the v5 envelope (see
// [WithProbeDialect]) and reads the answer. A peer of that dialect answers with its root, which
// the connection keeps for the first [Conn.Root] (so the probe costs no round trip of its own);
// a Python peer of the other dialect cannot parse it, sends its own CLOSE (from which its
// dialect is recognised) and closes the stream: NewClient then returns a *ProbeError whose Peer
// says which dialect to use on a new stream.
//
// The probe is bounded by ctx or, when ctx has no deadline, by cfg.SyncRequestTimeout; when it
// expires the channel is closed and the error wraps context.DeadlineExceeded. On any error ch
// is closed.
//
// A peer that speaks first (a server whose service calls the client on connect, such as
// ClassicService) may send a request before it answers the GETROOT: that request is served once
// the connection is up, and the root is taken from the answer when it comes.
func NewClient(ctx context.Context, ch *channel.Channel, root any, cfg Config, opts ...Option) (*Conn, error) {
	var first []byte
	probed := false
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
		probed = true
	}
	c := newConn(ch, root, cfg, first, opts)
	if probed {
		// The probe's answer (first, or a later message) resolves the root.
		c.rootRes = newAsyncResult()
		c.pending[probeSeq] = c.rootRes
	}
	c.launch()
	return c, nil
}

// probe sends GETROOT in dialect d and reads the first answer (see NewClient), which it returns
// for the reader to dispatch first: the GETROOT's answer, or a request of a peer that speaks
// first. The channel must not be in use by anyone else; the answer stays valid until the next
// Recv, which only the reader makes once it dispatched it.
func probe(ch *channel.Channel, d compat.Dialect) (first []byte, err error) {
	req, err := d.AppendMessage(nil, compat.MsgRequest, probeSeq,
		brine.Tuple{int64(compat.HandleGetRoot), brine.Tuple{int64(compat.LabelValue), brine.Tuple{}}})
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
	msg, seq, _, err := d.ParseMessage(payload)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrProtocol, err)
	}
	switch {
	case (msg == compat.MsgReply || msg == compat.MsgException) && seq == probeSeq,
		msg == compat.MsgRequest: // the peer speaks first, in our dialect
		return payload, nil
	}
	return nil, &ProbeError{Tried: d, Err: fmt.Errorf("unexpected answer %v %d", msg, seq)}
}
