//go:build unix

package hostile

import (
	"net"
	"syscall"
	"time"
)

// DialSmallWindow connects to addr with a receive buffer of rcvBuf bytes, set before the
// connection is made so that the advertised TCP window stays that small: the peer of a suite
// case that never reads, whose few unread bytes must not hide the server's backpressure behind
// megabytes of kernel buffers.
func DialSmallWindow(addr string, rcvBuf int) (*Peer, error) {
	d := net.Dialer{
		Timeout: 3 * time.Second,
		Control: func(_, _ string, rc syscall.RawConn) error {
			var serr error
			err := rc.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, rcvBuf)
			})
			if err != nil {
				return err
			}
			return serr
		},
	}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	tc := c.(*net.TCPConn)
	_ = tc.SetNoDelay(true)
	return NewPeer(tc), nil
}
