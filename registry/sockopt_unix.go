//go:build unix

package registry

import (
	"net"
	"syscall"
)

// broadcastControl returns a socket Control function that enables SO_BROADCAST when on is set,
// as Python's UDPRegistryClient does for broadcast destinations.
func broadcastControl(on bool) func(network, address string, c syscall.RawConn) error {
	if !on {
		return nil
	}
	return func(network, address string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_BROADCAST, 1)
		})
		if err != nil {
			return err
		}
		return serr
	}
}

// hasPending reports whether bytes (or an end of stream) have arrived on c that its reader has
// not consumed yet: such a connection is not stalled, only waiting for its goroutine to run.
func hasPending(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	pending := false
	var b [1]byte
	_ = rc.Control(func(fd uintptr) {
		_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		pending = err == nil // 0 bytes and no error: the end of the stream
	})
	return pending
}
