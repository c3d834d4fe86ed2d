//go:build !unix

package registry

import (
	"net"
	"syscall"
)

// broadcastControl returns nil: outside Unix, Go's net package already enables SO_BROADCAST on
// UDP sockets where the platform has it.
func broadcastControl(on bool) func(network, address string, c syscall.RawConn) error {
	return nil
}

// hasPending reports false: outside Unix, unconsumed bytes are not looked for.
func hasPending(c net.Conn) bool { return false }
