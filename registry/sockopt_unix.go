//go:build unix

package registry

import "syscall"

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
