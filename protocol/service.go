package protocol

// Service hooks. A root object (service) may implement any of these. The connection calls
// OnConnect once the connection is set up and before any request of the peer is served (it may
// call the peer: replies are read meanwhile). OnDisconnect runs exactly once, after the
// transport closed (no I/O there) and never before OnConnect returned, whoever closed the
// connection and whenever.
type (
	// ConnectHook is implemented by services that want to know their connection.
	ConnectHook interface{ OnConnect(c *Conn) }
	// DisconnectHook is implemented by services that clean up when the peer goes away.
	DisconnectHook interface{ OnDisconnect(c *Conn) }
	// Releaser is implemented by exported values that hold resources: RPyCRelease runs when
	// the peer drops its last reference (HANDLE_DEL) or the connection ends; never on the
	// reader while it reads.
	Releaser interface{ RPyCRelease() }
)
