package netref

import (
	"context"
	"sync"
)

// AsyncResult is the pending result of an asynchronous request (Python's AsyncResult). It is
// safe for concurrent use.
type AsyncResult struct {
	done  chan struct{}
	once  sync.Once
	value any
	err   error
}

// NewAsyncResult returns an unresolved result; connections resolve it with Resolve.
func NewAsyncResult() *AsyncResult {
	return &AsyncResult{done: make(chan struct{})}
}

// Resolve sets the result and wakes every waiter. Only the first call has an effect.
func (a *AsyncResult) Resolve(value any, err error) {
	a.once.Do(func() {
		a.value, a.err = value, err
		close(a.done)
	})
}

// Done returns a channel closed when the result is ready.
func (a *AsyncResult) Done() <-chan struct{} { return a.done }

// Ready reports whether the result has arrived.
func (a *AsyncResult) Ready() bool {
	select {
	case <-a.done:
		return true
	default:
		return false
	}
}

// Wait blocks until the result arrives or ctx ends, and returns it. Giving up on the wait does
// not cancel the remote call (RPyC has no cancel message); the late reply is discarded.
func (a *AsyncResult) Wait(ctx context.Context) (any, error) {
	select {
	case <-a.done:
		return a.value, a.err
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

// Value returns the result value, or nil if it is not ready or the request failed.
func (a *AsyncResult) Value() any {
	if !a.Ready() {
		return nil
	}
	return a.value
}

// Err returns the request's error, or nil if it is not ready or it succeeded.
func (a *AsyncResult) Err() error {
	if !a.Ready() {
		return nil
	}
	return a.err
}
