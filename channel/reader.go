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
	n     int         // result of the last raw read
	err   error       // result of the last raw read
	ft    *frameTimer // told what is read (may be nil)
	idle  bool        // waiting for a frame: the next fill waits with small (no raw connection)
	small [smallRead]byte
}

func newReader(r io.Reader, ft *frameTimer) *reader {
	rd := &reader{r: r, ft: ft}
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
			n, err := b.r.Read(p)
			b.ft.count(n)
			return n, err
		}
		if err := b.fill(); err != nil || b.end == 0 {
			return 0, err
		}
		b.ft.count(b.end)
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

// fill reads into the empty buffer, or fails. It may read nothing (a reader returning 0, nil).
func (b *reader) fill() error {
	if b.raw != nil {
		return b.rawFill()
	}
	var n int
	var err error
	if b.idle {
		// Between frames: wait with the small buffer, borrow the large one once bytes arrived.
		n, err = b.r.Read(b.small[:])
		b.idle = n == 0
		b.buf = getBuf(readBufferSize)[:readBufferSize]
		copy(b.buf, b.small[:n])
	} else {
		// Within a frame: read into the large buffer at once.
		b.buf = getBuf(readBufferSize)[:readBufferSize]
		n, err = b.r.Read(b.buf)
	}
	b.pos, b.end = 0, n
	if n == 0 {
		b.drop()
		return err
	}
	return nil // a read error with n > 0 comes back from the next read, as with io.Reader
}

// waitFrame tells the reader that a frame is awaited: its next fill may wait long.
func (b *reader) waitFrame() { b.idle = true }

// release gives the buffer back when it holds nothing: called when a frame has been read.
func (b *reader) release() {
	if b.pos == b.end {
		b.drop()
	}
}
