package rpyc

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// Default backoff of a [Redialer].
const (
	DefaultMinBackoff = 100 * time.Millisecond
	DefaultMaxBackoff = 10 * time.Second
)

// Redialer keeps one connection to a server and makes a new one when it is gone: [Redialer.Conn]
// returns the current connection while it is open, and otherwise connects again, retrying with
// exponential backoff (from MinBackoff, doubling up to MaxBackoff, each wait drawn at random
// between half and all of it, so that many clients do not retry in step) until it succeeds or
// its context ends. Between calls it runs nothing: no goroutine, no timer.
//
// It does not replay anything: a call that failed because the connection died failed, and the
// proxies (Refs) of the old connection stay dead; take the root and every proxy again from the
// new connection. Whether a call may be repeated is the caller's decision. Pair it with
// [WithPing] to learn of a silent server, not only of a closed one.
//
// A Redialer is safe for concurrent use; concurrent callers share one connection attempt.
type Redialer struct {
	// MinBackoff is the first wait after a failed attempt (DefaultMinBackoff if zero).
	MinBackoff time.Duration
	// MaxBackoff caps the wait between attempts (DefaultMaxBackoff if zero).
	MaxBackoff time.Duration

	dial   func(ctx context.Context) (*Conn, error)
	turn   chan struct{} // holds a token while one caller connects
	closed chan struct{} // closed by Close: ends a wait between attempts

	mu      sync.Mutex
	conn    *Conn
	done    bool          // Close was called
	backoff time.Duration // the next wait after a failure; 0 after a success
	next    time.Time     // no attempt before this
}

// NewRedialer returns a Redialer connecting with Connect(ctx, address, opts...). Nothing is
// dialed before the first Conn.
func NewRedialer(address string, opts ...Option) *Redialer {
	return NewRedialerFunc(func(ctx context.Context) (*Conn, error) { return Connect(ctx, address, opts...) })
}

// NewRedialerFunc returns a Redialer connecting with dial (ConnectVia through a tunnel, a
// connection that needs setting up after it is made, ...).
func NewRedialerFunc(dial func(ctx context.Context) (*Conn, error)) *Redialer {
	return &Redialer{dial: dial, turn: make(chan struct{}, 1), closed: make(chan struct{})}
}

// Conn returns an open connection: the current one, or a new one made after it closed
// (conn.Closed(): the server closed it, the keepalive found it silent, or it was closed). Failed
// attempts are retried after the backoff until ctx ends; the error then wraps ctx's error and
// the last attempt's. The wait after a failure carries over to the next call, so callers
// looping on Conn do not hammer a server that is down.
func (r *Redialer) Conn(ctx context.Context) (*Conn, error) {
	if c, err := r.current(); c != nil || err != nil {
		return c, err
	}
	select {
	case r.turn <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("rpyc: redial: %w", context.Cause(ctx))
	}
	defer func() { <-r.turn }()
	if c, err := r.current(); c != nil || err != nil {
		return c, err // another caller connected meanwhile
	}
	var last error
	for {
		r.mu.Lock()
		wait := time.Until(r.next)
		r.mu.Unlock()
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return nil, r.gaveUp(ctx, last)
			case <-r.closed:
				t.Stop()
				return nil, fmt.Errorf("rpyc: redial: %w", ErrClosed)
			}
		}
		c, err := r.dial(ctx)
		r.mu.Lock()
		if err == nil {
			r.backoff, r.next = 0, time.Time{}
			if r.done {
				r.mu.Unlock()
				c.Close()
				return nil, fmt.Errorf("rpyc: redial: %w", ErrClosed)
			}
			r.conn = c
			r.mu.Unlock()
			return c, nil
		}
		r.backoff = r.nextBackoff()
		r.next = time.Now().Add(r.backoff/2 + rand.N(r.backoff/2+1))
		r.mu.Unlock()
		last = err
		if ctx.Err() != nil {
			return nil, r.gaveUp(ctx, last)
		}
	}
}

// current returns the open connection, or ErrClosed after Close; (nil, nil) means connect.
func (r *Redialer) current() (*Conn, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done {
		return nil, fmt.Errorf("rpyc: redial: %w", ErrClosed)
	}
	if r.conn != nil && !r.conn.Closed() {
		return r.conn, nil
	}
	r.conn = nil // a closed connection finishes by itself: nothing to release
	return nil, nil
}

func (r *Redialer) nextBackoff() time.Duration {
	lo, hi := r.MinBackoff, r.MaxBackoff
	if lo <= 0 {
		lo = DefaultMinBackoff
	}
	if hi <= 0 {
		hi = DefaultMaxBackoff
	}
	return min(max(2*r.backoff, lo), hi)
}

func (r *Redialer) gaveUp(ctx context.Context, last error) error {
	if last == nil {
		return fmt.Errorf("rpyc: redial: %w", context.Cause(ctx))
	}
	return fmt.Errorf("rpyc: redial: %w (last attempt: %w)", context.Cause(ctx), last)
}

// Close closes the current connection, if any; a Conn waiting to retry and later calls to Conn
// fail with ErrClosed. It is idempotent.
func (r *Redialer) Close() error {
	r.mu.Lock()
	c := r.conn
	if !r.done {
		close(r.closed)
	}
	r.conn, r.done = nil, true
	r.mu.Unlock()
	if c != nil {
		return c.Close()
	}
	return nil
}
