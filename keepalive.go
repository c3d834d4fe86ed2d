package rpyc

import (
	"time"

	"github.com/gorpyc/rpyc/protocol"
)

// ErrPeerUnresponsive means the keepalive found the peer silent (see [WithPing]); it is
// protocol.ErrPeerUnresponsive, and errors matching it match [ErrClosed] too.
var ErrPeerUnresponsive = protocol.ErrPeerUnresponsive

// WithPing turns on the keepalive (protocol.Config.PingInterval and PingTimeout): when nothing
// has been received from the server for interval, the connection sends it a PING; if nothing
// arrives within timeout after it (0 means interval), the server is taken for gone, the
// connection closes, and every pending call fails with an error matching ErrPeerUnresponsive
// (and ErrClosed), as does conn.Err(). A silent server is thus detected between interval and
// interval+timeout after its last message, even while calls wait for it. It costs one timer
// per connection and a PING only on a quiet connection.
//
// A Python server answers a PING only between the requests of this connection (it serves them
// one at a time): timeout must exceed the longest call made on it. Unlike WithKeepAlive (TCP
// keep-alive probes, which the kernel answers even for a stopped or deadlocked server), it
// detects a server that is alive but does not serve.
func WithPing(interval, timeout time.Duration) Option {
	return setting(func(c *protocol.Config) { c.PingInterval, c.PingTimeout = interval, timeout })
}
