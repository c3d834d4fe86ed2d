package channel

import (
	"bufio"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// maxRetained is the largest buffer a Channel keeps for reuse between calls;
// larger buffers are dropped after use so one huge message does not pin
// memory for the life of the connection.
const maxRetained = 4 << 20

// Channel sends and receives frames over a byte stream.
//
// One goroutine may call Recv while any number of goroutines call Send
// concurrently; each frame is written with a single Write call under a
// mutex, so frames never interleave. (Concurrent Recv calls are serialized
// but make little sense, since the payload buffer is shared.) Close may be
// called at any time from any goroutine.
//
// If a Write or Read fails after part of a frame went through, the byte
// stream is no longer at a frame boundary; the Channel then remembers the
// error and returns it from every later Send (respectively Recv). This
// includes every error after the first byte of a frame arrived (limits,
// corrupt data, ErrFrameTimeout). An error that consumed or produced no byte
// of a frame, such as a deadline expiring while waiting for a header, is
// returned once and the Channel stays usable.
type Channel struct {
	cfg    Config
	cfgErr error
	w      io.Writer
	closer io.Closer

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error

	wmu     sync.Mutex
	wbuf    []byte
	werr    error      // sticky error after a partial write
	wdl     wdeadliner // w, if its writes can be given a deadline (WriteTimeout)
	wdlNext time.Time  // when the write deadline must be pushed back next

	rmu   sync.Mutex
	br    *bufio.Reader // r, buffered
	rbuf  []byte
	hdr   [HeaderSize]byte
	rerr  error       // sticky error after a partial read
	timer *frameTimer // FrameTimeout; nil when not enforced
	acct  account     // what the current payload holds of Config.Budget
}

// New returns a Channel reading from and writing to rw. If rw implements
// io.Closer, Close closes it. cfg's zero fields take their defaults; if cfg
// is invalid (see [Config.Validate]) every Send and Recv returns the
// validation error.
func New(rw io.ReadWriter, cfg Config) *Channel {
	closer, _ := rw.(io.Closer)
	return NewSplit(rw, rw, closer, cfg)
}

// NewSplit returns a Channel reading from r and writing to w, for transports
// such as pipes that use separate streams. Close closes c, which may be nil.
func NewSplit(r io.Reader, w io.Writer, c io.Closer, cfg Config) *Channel {
	ncfg, err := cfg.normalize()
	// A read buffer lets one read system call bring a whole small frame (header, payload and
	// flusher), or several, instead of one call for the header and another for the rest.
	br := bufio.NewReaderSize(r, readBufferSize)
	ch := &Channel{cfg: ncfg, cfgErr: err, br: br, w: w, closer: c,
		timer: newFrameTimer(r, ncfg.FrameTimeout), acct: account{b: ncfg.Budget}}
	if d, ok := w.(wdeadliner); ok && ncfg.WriteTimeout > 0 {
		ch.wdl = d
	}
	return ch
}

// wdeadliner is a transport whose writes can be given a deadline.
type wdeadliner interface {
	SetWriteDeadline(t time.Time) error
}

// readBufferSize is the size of a Channel's read buffer.
const readBufferSize = 32 << 10

// Config returns the configuration in effect, with defaults filled in.
func (c *Channel) Config() Config { return c.cfg }

// Send writes payload as one frame, compressing it according to the
// Config. The frame is built in a buffer reused across calls and written
// with exactly one Write call; Send does not retain payload. It is safe to
// call from several goroutines at once.
func (c *Channel) Send(payload []byte) error {
	if c.cfgErr != nil {
		return c.cfgErr
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closed.Load() {
		return fmt.Errorf("channel: send: %w", ErrClosed)
	}
	if c.werr != nil {
		return c.werr
	}
	frame, err := appendFrame(c.wbuf[:0], payload, &c.cfg)
	if err != nil {
		return err
	}
	if c.wdl != nil {
		// The deadline is pushed back only when half of it has passed: a write that blocks
		// fails within [WriteTimeout/2, WriteTimeout], and most writes cost no extra call.
		if now := time.Now(); now.After(c.wdlNext) {
			if c.wdl.SetWriteDeadline(now.Add(c.cfg.WriteTimeout)) != nil {
				c.wdl = nil // not supported after all (os.ErrNoDeadline)
			}
			c.wdlNext = now.Add(c.cfg.WriteTimeout / 2)
		}
	}
	n, err := c.w.Write(frame)
	if err == nil && n != len(frame) {
		err = io.ErrShortWrite
	}
	if cap(frame) <= maxRetained {
		c.wbuf = frame[:0]
	} else {
		c.wbuf = nil
	}
	if err == nil {
		return nil
	}
	if c.closed.Load() {
		return fmt.Errorf("channel: send: %w (%v)", ErrClosed, err)
	}
	err = fmt.Errorf("channel: writing %d-byte frame: %w", len(frame), err)
	if n > 0 && n < len(frame) {
		c.werr = fmt.Errorf("channel: stream broken by partial write of %d/%d bytes: %w", n, len(frame), err)
	}
	return err
}

// Recv reads the next frame and returns its payload, decompressed if it
// was compressed.
//
// The returned slice is owned by the Channel and is only valid until the
// next call to Recv, which may overwrite it; copy it to keep it.
//
// At the end of the stream Recv returns io.EOF itself if no byte of a new
// frame was read, and an error wrapping io.ErrUnexpectedEOF otherwise.
// Limits from the Config are enforced (ErrFrameTooLarge,
// ErrMessageTooLarge, ErrFrameTimeout), as is zlib validity (ErrCorrupt).
// Waiting for the first byte of a frame is not limited by FrameTimeout;
// a read deadline set on the transport by the caller applies to it (and
// fails Recv without making the error sticky). After Close, Recv returns an
// error wrapping ErrClosed.
func (c *Channel) Recv() ([]byte, error) {
	if c.cfgErr != nil {
		return nil, c.cfgErr
	}
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if c.closed.Load() {
		return nil, fmt.Errorf("channel: recv: %w", ErrClosed)
	}
	if c.rerr != nil {
		return nil, c.rerr
	}
	if cap(c.rbuf) > maxRetained {
		c.rbuf = nil
	}
	c.acct.releaseAll() // the previous payload is the caller's no more
	payload, desync, err := readFrame(c.br, &c.cfg, c.rbuf, c.hdr[:], c.timer, c.br, &c.acct)
	if err != nil {
		c.acct.releaseAll()
		if c.closed.Load() {
			return nil, fmt.Errorf("channel: recv: %w (%v)", ErrClosed, err)
		}
		if desync {
			c.rerr = err
		}
		return nil, err
	}
	c.rbuf = payload
	return payload, nil
}

// Close marks the Channel closed and closes the underlying io.Closer, if
// any, which also interrupts a blocked Send or Recv on most transports.
// Later calls to Send and Recv return errors wrapping ErrClosed. Close is
// idempotent: the first call returns the closer's error, later calls return
// nil.
func (c *Channel) Close() error {
	first := false
	c.closeOnce.Do(func() {
		first = true
		c.closed.Store(true)
		if c.closer != nil {
			c.closeErr = c.closer.Close()
		}
		c.acct.releaseAll() // a Recv still running gives back what it reserves after this
	})
	if first {
		return c.closeErr
	}
	return nil
}
