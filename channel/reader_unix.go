//go:build unix

package channel

import (
	"io"
	"os"
	"syscall"
)

// initRaw sets up reading through the transport's file descriptor, when it has one.
func (b *reader) initRaw() {
	sc, ok := b.r.(syscall.Conn)
	if !ok {
		return
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return
	}
	b.raw = raw
	b.rawFn = b.rawRead
}

// rawRead is called by RawConn.Read with the descriptor, again each time it became readable, until
// it returns true. The buffer is borrowed for the system call and given back if it would block.
func (b *reader) rawRead(fd uintptr) bool {
	if b.buf == nil {
		b.buf = getBuf(readBufferSize)[:readBufferSize]
	}
	for {
		n, err := syscall.Read(int(fd), b.buf)
		switch err {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			b.drop()
			return false
		}
		b.n, b.err = n, err
		return true
	}
}

// rawFill is fill through the raw connection.
func (b *reader) rawFill() error {
	b.n, b.err = 0, nil
	if err := b.raw.Read(b.rawFn); err != nil {
		b.drop()
		return err // deadlines (os.ErrDeadlineExceeded), a closed transport
	}
	switch {
	case b.err != nil:
		b.drop()
		return os.NewSyscallError("read", b.err)
	case b.n == 0:
		b.drop()
		return io.EOF
	}
	b.pos, b.end = 0, b.n
	return nil
}
