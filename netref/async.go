package netref

import (
	"context"

	"github.com/gorpyc/rpyc/protocol"
)

// AsyncResult is the pending result of an asynchronous call (Python's AsyncResult). It is safe
// for concurrent use.
type AsyncResult struct {
	res *protocol.AsyncResult
	err error // set instead of res when the call could not be sent
}

// Done returns a channel closed when the result is ready.
func (a *AsyncResult) Done() <-chan struct{} {
	if a.res == nil {
		return closed
	}
	return a.res.Done()
}

var closed = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// Ready reports whether the result has arrived.
func (a *AsyncResult) Ready() bool { return a.res == nil || a.res.Ready() }

// Wait blocks until the result arrives or ctx ends, and returns it. Giving up on the wait does
// not cancel the remote call (RPyC has no cancel message); the late reply is discarded.
func (a *AsyncResult) Wait(ctx context.Context) (any, error) {
	if a.res == nil {
		return nil, a.err
	}
	v, err := a.res.Wait(ctx)
	return Wrap(v), err
}

// Value returns the result value, or nil if it is not ready or the call failed.
func (a *AsyncResult) Value() any {
	if a.res == nil {
		return nil
	}
	return Wrap(a.res.Value())
}

// Err returns the call's error, or nil if it is not ready or it succeeded.
func (a *AsyncResult) Err() error {
	if a.res == nil {
		return a.err
	}
	return a.res.Err()
}
