package protocol

import (
	"context"

	"github.com/gorpyc/rpyc/compat"
)

// Observer is told what connections do, for metrics and tracing (Config.Observer). Its methods
// run synchronously on the connection's goroutines, so they must be quick and must not block;
// a connection without an Observer pays nothing for the hooks.
type Observer interface {
	// Opened is called when a connection starts, before its root's OnConnect.
	Opened(c *Conn)
	// Closed is called once when a connection has ended, with the reason (see Conn.Err).
	Closed(c *Conn, cause error)
	// Request is called when a request starts: one this side sends (incoming false; ctx is the
	// caller's) or one of the peer's that this side serves (incoming true; ctx is the one the
	// handler's user code receives). It returns the context to go on with (a span can ride
	// on it, so that callbacks made by the handler are children of the request) and a function
	// called once when the request ends, with its error (nil on success).
	Request(ctx context.Context, c *Conn, h compat.Handler, incoming bool) (context.Context, func(err error))
	// Transferred is called for every message: n bytes of payload sent (out) or received.
	Transferred(c *Conn, n int, out bool)
}
