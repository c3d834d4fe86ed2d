package channel

import (
	"io"
	"syscall"
)

// readBufferSize is the size of the read buffer a Channel borrows while it reads frames.
const readBufferSize = 32 << 10

// smallRead is the size of the buffer a Channel without a raw connection waits for a frame's
// first bytes with.
const smallRead = 16

// reader is a Channel's buffered reader. Like a bufio.Reader of readBufferSize bytes, one read
// system call brings a whole small frame (header, payload and flusher), or several; unlike it,
// the buffer is borrowed from a pool only while it holds unread bytes, so an idle Channel holds
// none.
//
// On transports that expose their file descriptor (syscall.Conn: TCP and Unix sockets, pipes),
// the buffer is taken from the pool inside the read system call's retry loop and given back when
// the call would block, so waiting costs no buffer and no extra system call. On other transports
// (TLS, net.Pipe, user types) the reader waits for the first bytes of a frame with a 16-byte
// buffer of its own and borrows the pooled buffer for the rest.
type reader struct {
	r     io.Reader
	raw   syscall.RawConn // nil: use r.Read
	rawFn func(fd uintptr) bool
	buf   []byte // pooled, len readBufferSize; nil when nothing is buffered
	pos   int    // buf[pos:end] is unread
	end   int
	n     int   // result of the last raw read
	err   error // result of the last raw read
	small [smallRead]byte
}

func newReader(r io.Reader) *reader {
	rd := &reader{r: r}
	rd.initRaw()
	return rd
}

// Buffered returns the number of bytes that can be read without touching the transport.
func (b *reader) Buffered() int { return b.end - b.pos }

// Read reads into p: from the buffer if it holds bytes, straight from the transport when p is at
// least as large as the buffer, else through the buffer.
func (b *reader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if b.pos == b.end {
		if len(p) >= readBufferSize {
			return b.r.Read(p)
		}
		if err := b.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, b.buf[b.pos:b.end])
	b.pos += n
	if b.pos == b.end {
		b.drop()
	}
	return n, nil
}

// drop gives the (drained) buffer back to the pool.
func (b *reader) drop() {
	if b.buf != nil {
		putBuf(b.buf)
		b.buf = nil
	}
	b.pos, b.end = 0, 0
}

// fill reads at least one byte into the empty buffer, or fails.
func (b *reader) fill() error {
	if b.raw != nil {
		return b.rawFill()
	}
	// Wait with the small buffer; borrow the large one once bytes arrived.
	n, err := b.r.Read(b.small[:])
	if n == 0 {
		if err == nil {
			err = io.ErrNoProgress
		}
		return err
	}
	b.buf = getBuf(readBufferSize)[:readBufferSize]
	b.end = copy(b.buf, b.small[:n])
	b.pos = 0
	return nil // a read error with n > 0 comes back from the next read, as with io.Reader
}

// release gives the buffer back when it holds nothing: called when a frame has been read.
func (b *reader) release() {
	if b.pos == b.end {
		b.drop()
	}
}
