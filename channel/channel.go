package channel

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Channel sends and receives frames over a byte stream.
//
// One goroutine may call Recv while any number of goroutines call Send
// concurrently; each frame is written under a mutex (one Write call, or
// 4 MiB calls for large frames), so frames never interleave. (Concurrent Recv calls are serialized
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

	wmu      sync.Mutex
	werr     error      // sticky error after a partial write
	vectored bool       // w writes net.Buffers with one system call (writev)
	wdl      wdeadliner // w, if its writes can be given a deadline (WriteTimeout)
	wdlNext  time.Time  // when the write deadline must be pushed back next

	rmu   sync.Mutex
	rd    *reader // r, buffered
	rbuf  []byte  // the last payload's storage, pooled, given back when the next Recv starts
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
	ft := newFrameTimer(r, ncfg.FrameTimeout)
	ch := &Channel{cfg: ncfg, cfgErr: err, rd: newReader(r, ft), w: w, closer: c,
		timer: ft, acct: account{b: ncfg.Budget, pooled: true}}
	switch w.(type) {
	case *net.TCPConn, *net.UnixConn:
		ch.vectored = true
	}
	if d, ok := w.(wdeadliner); ok && ncfg.WriteTimeout > 0 {
		ch.wdl = d
	}
	return ch
}

// wdeadliner is a transport whose writes can be given a deadline.
type wdeadliner interface {
	SetWriteDeadline(t time.Time) error
}

// Config returns the configuration in effect, with defaults filled in.
func (c *Channel) Config() Config { return c.cfg }

// Send writes payload as one frame, compressing it according to the
// Config (see the package documentation: only when that pays). The frame is
// built in a pooled buffer and written with one Write call, or calls of
// 4 MiB for larger frames (on a socket, a large raw payload is written from
// where it is, see SendParts); Send does not retain payload. It is safe to
// call from several goroutines at once: frames never interleave.
//
// A payload that a reader with this Channel's Config would refuse (larger
// than MaxMessageSize, or a wire length over MaxFrameSize or the 32-bit
// field) is refused before anything is written, with an error wrapping
// ErrMessageTooLarge or ErrFrameTooLarge that names the size and the limit;
// the Channel stays usable.
func (c *Channel) Send(payload []byte) error {
	one := [1][]byte{payload}
	return c.SendParts(one[:])
}

// vecMin is the smallest part that SendParts hands to the transport as it is, instead of copying
// it into the frame's buffer.
const vecMin = 64 << 10

// SendParts writes the concatenation of parts as one frame, like Send,
// without first copying the parts into one payload. On TCP and Unix sockets
// (*net.TCPConn, *net.UnixConn) a raw frame's parts of 64 KiB or more go to
// the transport as they are, beside a pooled buffer holding the header, the
// smaller parts and the flusher, in one vectored write (writev); on other
// transports, and for compressed frames, the frame is built in a pooled
// buffer and written as by Send. SendParts does not retain parts or modify
// them.
func (c *Channel) SendParts(parts [][]byte) error {
	if c.cfgErr != nil {
		return c.cfgErr
	}
	total, large := 0, false
	for _, p := range parts {
		total += len(p)
		large = large || (c.vectored && len(p) >= vecMin)
	}
	if err := checkSend(total, &c.cfg); err != nil {
		return err
	}
	var frame []byte
	if compresses(total, &c.cfg) {
		out, ok, err := compressFrame(getBuf(min(HeaderSize+total+1, 2*probeSize)), parts, total, &c.cfg)
		if err != nil {
			putBuf(out)
			return err
		}
		if ok {
			frame = out
		} else {
			putBuf(out) // compression does not pay: the frame goes out raw
		}
	}
	if frame == nil {
		if err := checkWire(total, &c.cfg); err != nil {
			return err
		}
		if !large {
			frame = appendRaw(getBuf(HeaderSize+total+1), parts, total)
		}
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closed.Load() {
		putBuf(frame)
		return fmt.Errorf("channel: send: %w", ErrClosed)
	}
	if c.werr != nil {
		putBuf(frame)
		return c.werr
	}
	c.pushWriteDeadline()
	var n, size int
	var err error
	switch {
	case frame != nil && len(frame) <= writeChunk:
		size = len(frame)
		n, err = c.w.Write(frame)
		if err == nil && n != len(frame) {
			err = io.ErrShortWrite
		}
		putBuf(frame)
	case frame != nil:
		size = len(frame)
		n, err = c.writeVec(net.Buffers{frame})
		putBuf(frame)
	default:
		size = HeaderSize + total + 1
		n, err = c.writeParts(parts, total)
	}
	if err == nil {
		return nil
	}
	if c.closed.Load() {
		return fmt.Errorf("channel: send: %w (%v)", ErrClosed, err)
	}
	err = fmt.Errorf("channel: writing %d-byte frame: %w", size, err)
	if n > 0 && n < size {
		c.werr = fmt.Errorf("channel: stream broken by partial write of %d/%d bytes: %w", n, size, err)
	}
	return err
}

// pushWriteDeadline pushes the transport's write deadline back (WriteTimeout) when half of it
// has passed: a write that blocks fails within [WriteTimeout/2, WriteTimeout], and most writes
// cost no extra call. Called with wmu held.
func (c *Channel) pushWriteDeadline() {
	if c.wdl == nil {
		return
	}
	if now := time.Now(); now.After(c.wdlNext) {
		if c.wdl.SetWriteDeadline(now.Add(c.cfg.WriteTimeout)) != nil {
			c.wdl = nil // not supported after all (os.ErrNoDeadline)
		}
		c.wdlNext = now.Add(c.cfg.WriteTimeout / 2)
	}
}

// writeParts writes the raw frame of parts (total bytes) with vectored writes: the header, the
// parts under vecMin and the flusher are copied into one pooled buffer, and the larger parts are
// written from where they are.
func (c *Channel) writeParts(parts [][]byte, total int) (int, error) {
	small := HeaderSize + 1
	for _, p := range parts {
		if len(p) < vecMin {
			small += len(p)
		}
	}
	buf := getBuf(small) // never grows below: the vectors into it stay valid
	defer putBuf(buf)
	buf = binary.BigEndian.AppendUint32(buf, uint32(total))
	buf = append(buf, byte(FlagRaw))
	vec := make(net.Buffers, 0, 2*len(parts)+1)
	mark := 0
	for _, p := range parts {
		if len(p) < vecMin {
			buf = append(buf, p...)
			continue
		}
		if len(buf) > mark {
			vec = append(vec, buf[mark:])
			mark = len(buf)
		}
		vec = append(vec, p)
	}
	buf = append(buf, Flusher)
	vec = append(vec, buf[mark:])
	return c.writeVec(vec)
}

// writeChunk is the most a Channel hands to the transport in one call. WriteTimeout applies to
// each call (the deadline is pushed back between them), so a large frame written to a slow but
// steady reader (Python reads large frames at about 1 MB/s) is not cut off: it must only bring
// 4 MiB through per WriteTimeout.
const writeChunk = 4 << 20

// writeVec writes vec to the transport, writeChunk bytes per call at most, and returns how many
// bytes were written. It consumes vec.
func (c *Channel) writeVec(vec net.Buffers) (int, error) {
	written := 0
	var batch net.Buffers
	for len(vec) > 0 {
		batch = batch[:0]
		size := 0
		for len(vec) > 0 && size < writeChunk {
			b := vec[0]
			if k := writeChunk - size; len(b) > k {
				batch = append(batch, b[:k])
				vec[0] = b[k:]
				size += k
				break
			}
			batch = append(batch, b)
			size += len(b)
			vec = vec[1:]
		}
		n, err := batch.WriteTo(c.w)
		written += int(n)
		if err != nil {
			return written, err
		}
		c.pushWriteDeadline()
	}
	return written, nil
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
	// The previous payload is the caller's no more: its storage goes back to the pools (unless
	// TakePayload took it), as does its charge.
	putBuf(c.rbuf)
	c.rbuf = nil
	c.acct.releaseAll()
	c.rd.waitFrame()
	payload, desync, err := readFrame(c.rd, &c.cfg, nil, c.hdr[:], c.timer, c.rd, &c.acct)
	c.rd.release() // the read buffer goes back to the pools once drained
	if err != nil {
		c.acct.releaseAll()
		if desync {
			c.rerr = err
			c.rd.drop() // never read again
		}
		if c.closed.Load() {
			return nil, fmt.Errorf("channel: recv: %w (%v)", ErrClosed, err)
		}
		return nil, err
	}
	c.rbuf = payload
	return payload, nil
}

// TakePayload hands the storage of the payload the last Recv returned over
// to the caller: the Channel will not reuse it, so the payload stays valid
// after the next Recv, for as long as the caller keeps it. Call it from the
// goroutine that called Recv, before the next Recv; it costs the Channel a
// fresh buffer for a later frame. (The payload's share of Config.Budget is
// still released when the next Recv starts: charge what you keep elsewhere.)
func (c *Channel) TakePayload() {
	c.rmu.Lock()
	c.rbuf = nil
	c.rmu.Unlock()
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
