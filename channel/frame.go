package channel

import (
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// HeaderSize is the size of the frame header: a big-endian uint32
	// payload length followed by a one-byte compression flag.
	HeaderSize = 5

	// Flusher is the byte written after every payload. Readers consume the
	// byte that follows a payload without checking its value.
	Flusher byte = 0x0a

	// DefaultCompressionThreshold is the payload length above which outgoing
	// payloads are compressed: a payload is compressed when its length is
	// strictly greater than the threshold (3000 bytes stay raw, 3001 bytes
	// are compressed if that pays). This is Python rpyc's threshold.
	DefaultCompressionThreshold = 3000

	// DefaultCompressionLevel is the zlib level Python rpyc uses (1, the
	// fastest level; the stream header is 78 01).
	DefaultCompressionLevel = 1

	// DefaultMaxFrameSize is the default cap on the length a reader accepts
	// in a frame header, i.e. on the payload as it appears on the wire
	// (after compression): every length the 32-bit field can carry (4 GiB -
	// 1; less on 32-bit platforms), so that a default reader never refuses
	// a frame Python would read. What a reader actually holds is bounded by
	// Config.Budget (a server's MemoryBudget, a client connection's own).
	DefaultMaxFrameSize = min(math.MaxUint32, math.MaxInt)

	// DefaultMaxMessageSize is the default cap on the size of a payload after
	// decompression (and on raw payloads): the same as DefaultMaxFrameSize.
	DefaultMaxMessageSize = min(math.MaxUint32, math.MaxInt)

	// DefaultFrameTimeout is the default interval in which a reader expects
	// a frame to make progress, from the first byte of its header (see
	// Config.FrameTimeout): 64 KiB of the frame, or its end, every 30
	// seconds. A slow but steady peer gets any frame through, while a peer
	// that trickles a frame, or sends part of one and stalls, is cut off
	// within half a minute.
	DefaultFrameTimeout = 30 * time.Second

	// DefaultWriteTimeout is the default time a writer waits for a peer that does not read.
	DefaultWriteTimeout = 30 * time.Second
)

// Errors returned by this package. They are always wrapped with context, so
// test for them with [errors.Is].
var (
	// ErrClosed is returned by Send and Recv on a Channel that was closed.
	ErrClosed = errors.New("channel: closed")

	// ErrFrameTooLarge is returned when a frame header declares a wire
	// payload longer than Config.MaxFrameSize, or when an outgoing frame
	// would not fit the 32-bit length field or the sender's own
	// MaxFrameSize (nothing is written then).
	ErrFrameTooLarge = errors.New("channel: frame too large")

	// ErrMessageTooLarge is returned when a payload, after decompression,
	// would be larger than Config.MaxMessageSize. Decompression stops as soon
	// as the limit is passed, having allocated nothing for the output beyond
	// the reader's buffer. A sender returns it, writing nothing, for a
	// payload larger than its own MaxMessageSize.
	ErrMessageTooLarge = errors.New("channel: message too large")

	// ErrCorrupt is returned when a frame is flagged as compressed but its
	// payload is not a valid zlib stream.
	ErrCorrupt = errors.New("channel: corrupt compressed payload")

	// ErrFrameTimeout is returned when a frame did not arrive whole within
	// Config.FrameTimeout of its first byte. The error also wraps the
	// transport's os.ErrDeadlineExceeded. The stream is then mid-frame, so
	// the error is sticky.
	ErrFrameTimeout = errors.New("channel: frame timeout")

	// ErrInvalidConfig is returned when a Config field is out of range
	// (see [Config.Validate]).
	ErrInvalidConfig = errors.New("channel: invalid config")

	// ErrBudget is returned by a reader when a frame's memory does not fit Config.Budget.
	ErrBudget = errors.New("channel: memory budget exhausted")
)

// Flag is the second field of a frame header.
type Flag uint8

const (
	// FlagRaw marks a payload that is sent as is.
	FlagRaw Flag = 0
	// FlagZlib marks a zlib-compressed payload. Writers use 1; readers treat
	// every non-zero flag as compressed, as Python rpyc does.
	FlagZlib Flag = 1
)

// Compressed reports whether a reader treats the payload as a zlib stream,
// which is the case for every non-zero flag.
func (f Flag) Compressed() bool { return f != FlagRaw }

// String returns "raw", "zlib", or "zlib(N)" for other non-zero values.
func (f Flag) String() string {
	switch f {
	case FlagRaw:
		return "raw"
	case FlagZlib:
		return "zlib"
	}
	return "zlib(" + strconv.Itoa(int(f)) + ")"
}

// Config tunes compression and reader limits. The zero value selects every
// default and is what Python rpyc does on the sending side.
type Config struct {
	// CompressionThreshold: outgoing payloads strictly longer than this many
	// bytes are compressed, when compression pays (see the package
	// documentation: a payload that compression would not shrink by an
	// eighth goes out raw). 0 means DefaultCompressionThreshold (3000).
	// Negative values are invalid.
	CompressionThreshold int

	// CompressionLevel is the zlib level used for outgoing compressed
	// payloads, from zlib.HuffmanOnly (-2) to zlib.BestCompression (9);
	// zlib.DefaultCompression (-1) is allowed. 0 means
	// DefaultCompressionLevel (1), so zlib.NoCompression cannot be selected;
	// use DisableCompression instead.
	CompressionLevel int

	// DisableCompression makes writers never compress. Incoming compressed
	// frames are still accepted. Default false.
	DisableCompression bool

	// MaxFrameSize caps the payload length (as on the wire) a reader accepts
	// from a frame header; longer frames fail with ErrFrameTooLarge before
	// anything is allocated for them. 0 means DefaultMaxFrameSize (4 GiB - 1,
	// everything a header can declare). A writer refuses, with
	// ErrFrameTooLarge and before writing anything, a frame its own limit
	// would refuse, so that two peers configured alike fail with a clear
	// local error rather than a reset. Negative values are invalid.
	MaxFrameSize int

	// MaxMessageSize caps the payload size a reader returns: the
	// decompressed size of compressed frames, and the length of raw frames.
	// Larger payloads fail with ErrMessageTooLarge, and decompression never
	// allocates more than this for its output. 0 means
	// DefaultMaxMessageSize (4 GiB - 1). Writers refuse larger payloads (see
	// MaxFrameSize). Negative values are invalid.
	MaxMessageSize int

	// FrameTimeout is how long a frame may take to make progress once its
	// first header byte arrived: every interval of FrameTimeout must bring
	// 64 KiB of the frame, or its end. A frame that falls behind (a peer
	// that trickles it, or sends part of it and stalls) fails with
	// ErrFrameTimeout, and the reader is unusable (the error is sticky, as
	// after any failure mid-frame); a slow but steady peer gets any frame
	// through. Time between frames is not limited. 0 means
	// DefaultFrameTimeout (30 s); a negative value turns the timeout off.
	// Python's rpyc has no such limit.
	//
	// It is enforced through the transport's SetReadDeadline (net.Conn,
	// pollable os.File such as pipes): the reader leaves the deadline alone
	// while frames arrive in time, and when a frame falls behind it sets the
	// deadline in the past, interrupting the blocked read (a deadline the
	// caller set is lost then; the channel is unusable anyway). On a
	// transport without SetReadDeadline, or whose SetReadDeadline fails
	// (os.ErrNoDeadline), FrameTimeout is not enforced.
	FrameTimeout time.Duration

	// WriteTimeout bounds how long a Send may block on a peer that does not read: the frame is
	// handed to the transport 4 MiB at a time at most, and a call not done within WriteTimeout
	// (give or take half of it) fails with an error wrapping os.ErrDeadlineExceeded (sticky if
	// part of the frame was written). A large frame to a slow but steady reader thus gets
	// through. It is enforced through the transport's SetWriteDeadline (net.Conn, os.File
	// pipes), refreshed at most twice per timeout so that writing costs no system call; on a
	// transport without deadlines it is not enforced. 0 means DefaultWriteTimeout (30 s); a
	// negative value turns it off. Python's rpyc has no such limit.
	WriteTimeout time.Duration

	// Budget, if set, is charged for the memory a reader allocates for a frame beyond
	// growStep-sized buffers (large raw payloads as their pieces arrive, decompressed output
	// before it is allocated): a frame that does not fit fails with ErrBudget, and the stream is
	// unusable. A Channel gives a payload's charge back when the next Recv starts (the payload
	// is valid until then) or when it closes. Servers share one Budget among their connections,
	// so that N connections cannot together hold more than it. nil charges nothing.
	Budget Budget
}

// Budget lends memory to the readers of frames. Reserve reports whether n more bytes fit;
// Release gives them back. Implementations are safe for concurrent use (protocol.Budget is one).
type Budget interface {
	Reserve(n int64) bool
	Release(n int64)
}

// account is what a reader holds of a Budget.
type account struct {
	b      Budget
	held   atomic.Int64
	pooled bool // a Channel's: payload buffers come from the pools (alloc)
}

// reserve charges n bytes; small allocations (up to growStep) are not charged.
func (a *account) reserve(n int) error {
	if a == nil || a.b == nil || n <= growStep {
		return nil
	}
	if !a.b.Reserve(int64(n)) {
		return fmt.Errorf("channel: %d bytes for a frame do not fit the memory budget: %w", n, ErrBudget)
	}
	a.held.Add(int64(n))
	return nil
}

// whole returns the size of the budget when it tells it (a Limit method, as protocol.Budget
// has), else -1.
func (a *account) whole() int64 {
	if a == nil || a.b == nil {
		return -1
	}
	if l, ok := a.b.(interface{ Limit() int64 }); ok && l.Limit() > 0 {
		return l.Limit()
	}
	return -1
}

// fits refuses at once a frame of n bytes that the budget could not lend now (nothing is held).
func (a *account) fits(n int) error {
	if a == nil || a.b == nil || n <= growStep {
		return nil
	}
	if !a.b.Reserve(int64(n)) {
		return fmt.Errorf("channel: a frame of %d bytes does not fit the memory budget: %w", n, ErrBudget)
	}
	a.b.Release(int64(n))
	return nil
}

// release gives n bytes of the charge back (for storage that became garbage).
func (a *account) release(n int) {
	if a == nil || a.b == nil || n <= growStep {
		return
	}
	a.b.Release(int64(n))
	a.held.Add(-int64(n))
}

// releaseAll gives the whole charge back.
func (a *account) releaseAll() {
	if a == nil || a.b == nil {
		return
	}
	if h := a.held.Swap(0); h != 0 {
		a.b.Release(h)
	}
}

// Validate reports whether every field is in range. The error wraps
// ErrInvalidConfig.
func (c Config) Validate() error {
	switch {
	case c.CompressionThreshold < 0:
		return fmt.Errorf("channel: CompressionThreshold %d is negative: %w", c.CompressionThreshold, ErrInvalidConfig)
	case c.CompressionLevel < zlib.HuffmanOnly || c.CompressionLevel > zlib.BestCompression:
		return fmt.Errorf("channel: CompressionLevel %d outside [%d, %d]: %w",
			c.CompressionLevel, zlib.HuffmanOnly, zlib.BestCompression, ErrInvalidConfig)
	case c.MaxFrameSize < 0:
		return fmt.Errorf("channel: MaxFrameSize %d is negative: %w", c.MaxFrameSize, ErrInvalidConfig)
	case c.MaxMessageSize < 0:
		return fmt.Errorf("channel: MaxMessageSize %d is negative: %w", c.MaxMessageSize, ErrInvalidConfig)
	}
	return nil
}

// normalize fills in defaults and validates.
func (c Config) normalize() (Config, error) {
	if err := c.Validate(); err != nil {
		return c, err
	}
	if c.CompressionThreshold == 0 {
		c.CompressionThreshold = DefaultCompressionThreshold
	}
	if c.CompressionLevel == 0 {
		c.CompressionLevel = DefaultCompressionLevel
	}
	if c.MaxFrameSize == 0 {
		c.MaxFrameSize = DefaultMaxFrameSize
	}
	if c.MaxMessageSize == 0 {
		c.MaxMessageSize = DefaultMaxMessageSize
	}
	if c.FrameTimeout == 0 {
		c.FrameTimeout = DefaultFrameTimeout
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	return c, nil
}

// ---------------------------------------------------------------------------
// Writing

// appendWriter is an io.Writer that appends to a slice.
type appendWriter struct{ b []byte }

func (a *appendWriter) Write(p []byte) (int, error) {
	a.b = append(a.b, p...)
	return len(p), nil
}

// deflater is a pooled zlib writer together with its output sink.
type deflater struct {
	out appendWriter
	zw  *zlib.Writer
}

// deflaters holds one pool per zlib level (index level - zlib.HuffmanOnly).
var deflaters [zlib.BestCompression - zlib.HuffmanOnly + 1]sync.Pool

func getDeflater(level int) (*deflater, error) {
	p := &deflaters[level-zlib.HuffmanOnly]
	if d, ok := p.Get().(*deflater); ok {
		d.zw.Reset(&d.out)
		return d, nil
	}
	d := new(deflater)
	zw, err := zlib.NewWriterLevel(&d.out, level)
	if err != nil {
		return nil, fmt.Errorf("channel: zlib level %d: %v: %w", level, err, ErrInvalidConfig)
	}
	d.zw = zw
	return d, nil
}

func putDeflater(level int, d *deflater) {
	d.out.b = nil
	deflaters[level-zlib.HuffmanOnly].Put(d)
}

// AppendFrame appends one complete frame carrying payload to dst and returns
// the extended slice: the 5-byte header, the payload (zlib-compressed when
// compression is enabled, len(payload) > CompressionThreshold and
// compression pays) and the Flusher byte. It never retains payload or dst.
// On error dst is returned unchanged.
func AppendFrame(dst, payload []byte, cfg Config) ([]byte, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return dst, err
	}
	one := [1][]byte{payload}
	return appendFrame(dst, one[:], len(payload), &cfg)
}

// checkSend refuses a payload of total bytes that the 32-bit length field, or a reader with
// the sender's own limits, would refuse.
func checkSend(total int, cfg *Config) error {
	switch {
	case uint64(total) > math.MaxUint32:
		return fmt.Errorf("channel: payload of %d bytes does not fit a frame (limit %d): %w", total, uint32(math.MaxUint32), ErrFrameTooLarge)
	case total > cfg.MaxMessageSize:
		return fmt.Errorf("channel: payload of %d bytes exceeds MaxMessageSize %d: %w", total, cfg.MaxMessageSize, ErrMessageTooLarge)
	}
	return nil
}

// checkWire refuses a frame whose wire payload of n bytes exceeds the sender's own MaxFrameSize.
func checkWire(n int, cfg *Config) error {
	if n > cfg.MaxFrameSize {
		return fmt.Errorf("channel: frame of %d bytes exceeds MaxFrameSize %d: %w", n, cfg.MaxFrameSize, ErrFrameTooLarge)
	}
	return nil
}

// compresses reports whether a payload of total bytes is offered to compression.
func compresses(total int, cfg *Config) bool {
	return !cfg.DisableCompression && total > cfg.CompressionThreshold
}

// appendFrame appends the frame of the concatenation of parts (total bytes) to dst.
func appendFrame(dst []byte, parts [][]byte, total int, cfg *Config) ([]byte, error) {
	if err := checkSend(total, cfg); err != nil {
		return dst, err
	}
	if compresses(total, cfg) {
		out, ok, err := compressFrame(dst, parts, total, cfg)
		if err != nil || ok {
			return out, err
		}
		dst = out
	}
	if err := checkWire(total, cfg); err != nil {
		return dst, err
	}
	return appendRaw(dst, parts, total), nil
}

// appendRaw appends the raw frame of parts (total bytes) to dst.
func appendRaw(dst []byte, parts [][]byte, total int) []byte {
	dst = slices.Grow(dst, HeaderSize+total+1)
	dst = binary.BigEndian.AppendUint32(dst, uint32(total))
	dst = append(dst, byte(FlagRaw))
	for _, p := range parts {
		dst = append(dst, p...)
	}
	return append(dst, Flusher)
}

const (
	// probeSize is how much of a large payload is compressed before deciding whether the rest is.
	probeSize = 32 << 10
	// A payload goes out compressed only if compression saves at least 1/payGain of it.
	payGain = 8
)

// pays reports whether compressing in bytes into out bytes saves enough.
func pays(in, out int) bool { return out <= in-in/payGain }

// compressFrame appends the zlib frame of parts (total bytes) to dst and reports ok, or, when
// compression does not pay, reports !ok and returns dst with nothing appended (its storage may
// have grown). A payload larger than probeSize is compressed in two steps: its first probeSize
// bytes, flushed, and the rest only if those shrank by an eighth; incompressible data (random,
// already compressed) thus costs the compression of 32 KiB. A frame ends up compressed only if
// the whole payload shrank by an eighth.
func compressFrame(dst []byte, parts [][]byte, total int, cfg *Config) (out []byte, ok bool, err error) {
	start := len(dst)
	d, err := getDeflater(cfg.CompressionLevel)
	if err != nil {
		return dst, false, err
	}
	defer putDeflater(cfg.CompressionLevel, d)
	d.out.b = append(dst, 0, 0, 0, 0, byte(FlagZlib))
	probe := min(total, probeSize)
	werr := writeRange(d.zw, parts, 0, probe)
	if werr == nil && probe < total {
		if werr = d.zw.Flush(); werr == nil {
			got := len(d.out.b) - start - HeaderSize
			if !pays(probe, got) {
				return d.out.b[:start], false, nil
			}
			// Room for the rest at the ratio of the probe, plus some.
			d.out.b = slices.Grow(d.out.b, int(int64(total-probe)*int64(got)/int64(probe))+total/64)
			werr = writeRange(d.zw, parts, probe, total)
		}
	}
	cerr := d.zw.Close()
	out = d.out.b
	if werr != nil || cerr != nil {
		return out[:start], false, fmt.Errorf("channel: compressing payload: %v", errors.Join(werr, cerr))
	}
	n := len(out) - start - HeaderSize
	if !pays(total, n) {
		return out[:start], false, nil
	}
	if uint64(n) > math.MaxUint32 {
		return out[:start], false, fmt.Errorf("channel: compressed payload of %d bytes does not fit a frame: %w", n, ErrFrameTooLarge)
	}
	if err := checkWire(n, cfg); err != nil {
		return out[:start], false, err
	}
	binary.BigEndian.PutUint32(out[start:], uint32(n))
	return append(out, Flusher), true, nil
}

// writeRange writes bytes [from, to) of the concatenation of parts to w.
func writeRange(w io.Writer, parts [][]byte, from, to int) error {
	off := 0
	for _, p := range parts {
		lo, hi := max(from-off, 0), min(to-off, len(p))
		off += len(p)
		if lo >= hi {
			continue
		}
		if _, err := w.Write(p[lo:hi]); err != nil {
			return err
		}
	}
	return nil
}

// ---------------------------------------------------------------------------
// Reading

// checkHeader applies the limits that can be checked from the header alone.
func checkHeader(length uint32, flag Flag, cfg *Config) error {
	if uint64(length) > uint64(cfg.MaxFrameSize) {
		return fmt.Errorf("channel: frame declares %d bytes, limit %d: %w", length, cfg.MaxFrameSize, ErrFrameTooLarge)
	}
	if !flag.Compressed() && uint64(length) > uint64(cfg.MaxMessageSize) {
		return fmt.Errorf("channel: raw frame declares %d bytes, message limit %d: %w", length, cfg.MaxMessageSize, ErrMessageTooLarge)
	}
	return nil
}

const (
	// growStep is the size up to which a frame is read into one buffer at once, and the smallest
	// piece of a larger one.
	growStep = 64 << 10
	// maxPiece is the largest piece of a large frame read before its whole buffer is allocated.
	maxPiece = 4 << 20
	// aheadFactor: a large raw payload is read in pieces until 1/aheadFactor of it has arrived,
	// then into one buffer of its whole size, so that memory never exceeds aheadFactor times what
	// arrived (plus growStep) while only the first 1/aheadFactor of the payload is copied.
	aheadFactor = 8
	// minInflate is the smallest output buffer decompression starts with.
	minInflate = 4 << 10
	// inflateScratch is the buffer that decompressed bytes are counted in when they do not fit
	// the output buffer.
	inflateScratch = 16 << 10
	// inflateCharge is the step in which counting decompressed bytes reserves them (Config.Budget).
	inflateCharge = 1 << 20
)

// alloc returns a slice of length n: from the buffer pools when a is a Channel's account (the
// Channel gives it back when the caller is done), else newly allocated.
func (a *account) alloc(n int) []byte {
	if a != nil && a.pooled {
		return getBuf(n)[:n]
	}
	return make([]byte, n)
}

// free gives p back to the pools if alloc took it from them.
func (a *account) free(p []byte) {
	if a != nil && a.pooled {
		putBuf(p)
	}
}

// readExactly reads total bytes of r into buf's storage if they fit, else into a new slice
// (acct.alloc). Totals up to growStep are read with one io.ReadFull. Larger ones are read in
// pieces that grow with the data received (from growStep up to maxPiece) until 1/aheadFactor of
// the payload has arrived; then one buffer of the payload's size is allocated, the pieces are
// copied into it and the rest is read straight into it. A header declaring more than the peer
// sends thus costs at most aheadFactor times what was sent, and a large payload is copied only
// for its first 1/aheadFactor.
func readExactly(r io.Reader, buf []byte, total int, acct *account) ([]byte, error) {
	if total <= cap(buf) || total <= growStep {
		if total <= cap(buf) {
			buf = buf[:total]
		} else {
			buf = acct.alloc(total)
		}
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		return buf, nil
	}
	var pieces [][]byte
	got := 0
	fromBuf := false                                       // pieces[0] is buf, which is not charged
	if first := buf[:cap(buf)]; len(first) >= minInflate { // worth using as the first piece
		if _, err := io.ReadFull(r, first); err != nil {
			return nil, err
		}
		pieces = append(pieces, first)
		got = len(first)
		fromBuf = true
	}
	part := (total + aheadFactor - 1) / aheadFactor
	for got < part {
		n := min(part-got, maxPiece, max(got, growStep))
		if err := acct.reserve(n); err != nil {
			return nil, err
		}
		p := acct.alloc(n)
		if _, err := io.ReadFull(r, p); err != nil {
			return nil, eofToUnexpected(err)
		}
		pieces = append(pieces, p)
		got += len(p)
	}
	if err := acct.reserve(total); err != nil {
		return nil, err
	}
	out := acct.alloc(total)
	off := 0
	for i, p := range pieces {
		off += copy(out[off:], p)
		if i > 0 || !fromBuf {
			acct.release(len(p)) // a charged piece, garbage now
			acct.free(p)
		}
	}
	if _, err := io.ReadFull(r, out[got:]); err != nil {
		return nil, eofToUnexpected(err)
	}
	return out, nil
}

// eofToUnexpected converts io.EOF to io.ErrUnexpectedEOF: called only when
// a frame is partially read.
func eofToUnexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// inflater is pooled decompression state.
type inflater struct {
	src     piecesReader
	zr      io.ReadCloser // implements zlib.Resetter once set
	pieces  [][]byte      // the compressed payload
	keep    [][]byte      // storage for pieces, kept for reuse (at most wireRetained bytes)
	scratch [inflateScratch]byte
}

// wireRetained is the most storage for compressed payloads a pooled inflater keeps.
const wireRetained = 1 << 20

var inflaters = sync.Pool{New: func() any { return new(inflater) }}

func getInflater() *inflater { return inflaters.Get().(*inflater) }

func putInflater(st *inflater) {
	st.src = piecesReader{}
	clear(st.pieces)
	st.pieces = st.pieces[:0]
	inflaters.Put(st)
}

// readWire reads total bytes of r into st.pieces, reusing the storage in st.keep first. New
// pieces grow with the data received (from growStep to maxPiece), so that a header declaring
// more than the peer sends costs only what was sent. The pieces are not assembled: the zlib
// reader reads them in turn.
func (st *inflater) readWire(r io.Reader, total int) error {
	st.pieces = st.pieces[:0]
	got := 0
	for i := 0; got < total; i++ {
		var p []byte
		if i < len(st.keep) {
			p = st.keep[i][:min(cap(st.keep[i]), total-got)]
		} else {
			p = make([]byte, min(total-got, maxPiece, max(got, growStep)))
		}
		if _, err := io.ReadFull(r, p); err != nil {
			return err
		}
		st.pieces = append(st.pieces, p)
		got += len(p)
	}
	// Keep the storage for the next frame, up to wireRetained bytes.
	st.keep = st.keep[:0]
	kept := 0
	for _, p := range st.pieces {
		if kept+cap(p) > wireRetained {
			break
		}
		st.keep = append(st.keep, p[:0])
		kept += cap(p)
	}
	return nil
}

// piecesReader reads the first n bytes of a sequence of byte slices. It implements
// io.ByteReader, so that zlib reads it without a buffer of its own.
type piecesReader struct {
	pieces [][]byte
	i, off int // current piece and offset in it
	n      int // bytes left
}

func (pr *piecesReader) reset(pieces [][]byte, n int) { *pr = piecesReader{pieces: pieces, n: n} }

func (pr *piecesReader) Read(p []byte) (int, error) {
	if pr.n == 0 {
		return 0, io.EOF
	}
	for pr.off == len(pr.pieces[pr.i]) {
		pr.i, pr.off = pr.i+1, 0
	}
	k := copy(p[:min(len(p), pr.n)], pr.pieces[pr.i][pr.off:])
	pr.off += k
	pr.n -= k
	return k, nil
}

func (pr *piecesReader) ReadByte() (byte, error) {
	if pr.n == 0 {
		return 0, io.EOF
	}
	for pr.off == len(pr.pieces[pr.i]) {
		pr.i, pr.off = pr.i+1, 0
	}
	b := pr.pieces[pr.i][pr.off]
	pr.off++
	pr.n--
	return b, nil
}

// start points the zlib reader at the beginning of the first n bytes of st.pieces and reads the
// zlib header.
func (st *inflater) start(n int) error {
	st.src.reset(st.pieces, n)
	if st.zr == nil {
		zr, err := zlib.NewReader(&st.src)
		if err != nil {
			return err
		}
		st.zr = zr
		return nil
	}
	return st.zr.(zlib.Resetter).Reset(&st.src, nil)
}

// readAll reads zr until p is full or zr fails (io.EOF included).
func readAll(zr io.Reader, p []byte) (int, error) {
	n := 0
	for n < len(p) {
		m, err := zr.Read(p[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// inflate decompresses the zlib stream in the first n bytes of st.pieces, never producing more
// than limit bytes. The output goes into buf's storage when it fits (a buffer of at most 64 KiB
// is allocated when buf is smaller). When it does not, the rest of the stream is only counted,
// in a fixed scratch buffer, and the stream is then decompressed a second time into a slice of
// exactly the right size: memory never exceeds the output, and a stream inflating beyond limit
// is refused having allocated nothing for its output. Bytes after the end of the zlib stream
// are ignored, as Python's zlib.decompress does. It returns ErrMessageTooLarge (bare) when more
// than limit bytes come out, and zlib's errors as they are.
func (st *inflater) inflate(n int, buf []byte, limit int, acct *account) ([]byte, error) {
	if err := st.start(n); err != nil {
		return nil, err
	}
	// A Channel's first output buffer comes from the pools and may be larger (16 times the input,
	// up to maxRetained): most payloads are then decompressed in one pass. Other readers keep the
	// output, and start with at most growStep.
	first := min(limit, max(minInflate, min(4*n, growStep)))
	if acct != nil && acct.pooled && 16*n <= maxRetained {
		first = min(limit, max(first, 16*n))
	}
	own := 0 // bytes of buf allocated (and charged) here
	if cap(buf) < first {
		if err := acct.reserve(first); err != nil {
			return nil, err
		}
		buf, own = acct.alloc(first), first
	}
	out := buf[:min(cap(buf), limit)]
	got, err := readAll(st.zr, out)
	if err == io.EOF {
		return out[:got], nil
	}
	if err != nil {
		return nil, err
	}
	// out is full: count what is left, so that a stream that will not fit the budget is refused
	// as soon as it passes it. Counting allocates nothing, so where the budget tells its size a
	// stream is only compared with it, and holds none of it: a bomb that could never fit is
	// refused without taking from the other connections what they share. Otherwise the count
	// is reserved as it goes.
	whole := acct.whole()
	size, reserved := got, 0
	for {
		m, err := st.zr.Read(st.scratch[:])
		size += m
		if size > limit {
			return nil, ErrMessageTooLarge
		}
		if whole >= 0 {
			if int64(size) > whole {
				return nil, fmt.Errorf("channel: a message inflating to at least %d bytes cannot fit the %d-byte memory budget: %w",
					size, whole, ErrBudget)
			}
		} else {
			for size-got > reserved {
				if err := acct.reserve(inflateCharge); err != nil {
					return nil, err
				}
				reserved += inflateCharge
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	if size == got {
		return out, nil
	}
	// Second pass, into a buffer of exactly the right size.
	if own > 0 {
		acct.release(own)
		acct.free(buf)
	}
	if size > reserved {
		if err := acct.reserve(size - reserved); err != nil {
			return nil, err
		}
	} else {
		acct.release(reserved - size)
	}
	out = acct.alloc(size)
	if err := st.start(n); err != nil {
		return nil, err
	}
	if got, err := readAll(st.zr, out); got != size || (err != nil && err != io.EOF) {
		return nil, fmt.Errorf("second pass gave %d of %d bytes: %v", got, size, err)
	}
	return out, nil
}

// deadliner is a transport whose reads can be interrupted by a deadline (net.Conn, os.File).
type deadliner interface {
	SetReadDeadline(t time.Time) error
}

// frameTimer enforces Config.FrameTimeout on one frame at a time: each interval of FrameTimeout
// must bring minProgress bytes of the frame, or its end. It does not touch the transport's read
// deadline unless a frame falls behind: it then sets the deadline in the past, which interrupts
// the blocked read and leaves the stream mid-frame (the error is sticky).
type frameTimer struct {
	d       deadliner
	timeout time.Duration
	t       *time.Timer  // created when first armed
	got     atomic.Int64 // bytes read since the timer was created (counted by the reader)

	mu    sync.Mutex
	state uint8 // timerIdle, timerArmed or timerFired
	mark  int64 // got when the current interval began
}

// minProgress is what each FrameTimeout interval of a frame must bring: 64 KiB, 2.2 KB/s with
// the default 30 s, so that a slow but steady peer (Python sends large frames at about 1 MB/s)
// gets its frame through while one that trickles or stalls is cut off.
const minProgress = 64 << 10

// count records n bytes read for the frame being timed (ft may be nil).
func (ft *frameTimer) count(n int) {
	if ft != nil && n > 0 {
		ft.got.Add(int64(n))
	}
}

// countingReader counts what it reads for a frameTimer (ReadFrame's reader).
type countingReader struct {
	r  io.Reader
	ft *frameTimer
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.ft.count(n)
	return n, err
}

const (
	timerIdle uint8 = iota
	timerArmed
	timerFired
)

// newFrameTimer returns a timer for reads from r, or nil when r has no read deadline or the
// timeout is off.
func newFrameTimer(r io.Reader, timeout time.Duration) *frameTimer {
	d, ok := r.(deadliner)
	if !ok || timeout <= 0 {
		return nil
	}
	return &frameTimer{d: d, timeout: timeout}
}

func (ft *frameTimer) fire() {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	if ft.state == timerArmed {
		if got := ft.got.Load(); got-ft.mark >= minProgress {
			ft.mark = got // the frame keeps arriving: give it another interval
			ft.t.Reset(ft.timeout)
			return
		}
		ft.state = timerFired
		_ = ft.d.SetReadDeadline(time.Unix(1, 0))
	}
}

// arm starts the clock for the current frame; it is a no-op when already armed (or nil).
func (ft *frameTimer) arm() {
	if ft == nil {
		return
	}
	ft.mu.Lock()
	if ft.state == timerIdle {
		ft.state = timerArmed
		ft.mark = ft.got.Load()
		if ft.t == nil {
			ft.t = time.AfterFunc(ft.timeout, ft.fire)
		} else {
			ft.t.Reset(ft.timeout)
		}
	}
	ft.mu.Unlock()
}

// disarm stops the clock after a frame ended. If the timeout fired, err (the frame's result) is
// wrapped in ErrFrameTimeout; if the frame completed anyway, the deadline set by fire is cleared.
func (ft *frameTimer) disarm(err error) error {
	if ft == nil {
		return err
	}
	ft.mu.Lock()
	defer ft.mu.Unlock()
	fired := ft.state == timerFired
	if ft.state == timerArmed {
		ft.t.Stop()
	}
	ft.state = timerIdle
	switch {
	case !fired:
		return err
	case err == nil:
		_ = ft.d.SetReadDeadline(time.Time{})
		return nil
	case errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Errorf("%w: frame not complete after %v: %w", ErrFrameTimeout, ft.timeout, err)
	}
	return err
}

// ReadFrame reads exactly one frame from r and returns its payload,
// decompressed if the flag is non-zero. buf is storage the payload may be
// written into (pass the previous result to reuse it, or nil); the result
// aliases buf whenever it fits.
//
// A clean end of stream before the first header byte returns io.EOF
// itself. A stream that ends inside a frame returns an error wrapping
// io.ErrUnexpectedEOF. Other errors wrap ErrFrameTooLarge,
// ErrMessageTooLarge, ErrCorrupt, ErrFrameTimeout, ErrInvalidConfig or the
// reader's error.
//
// Memory is bounded by what actually arrives: a header is checked against
// cfg's limits before anything is allocated for it, and large payloads are
// read in pieces that grow with the data received. If r has a
// SetReadDeadline method (net.Conn, os.File), cfg.FrameTimeout applies from
// the first byte of the header on, as for a [Channel].
func ReadFrame(r io.Reader, cfg Config, buf []byte) (payload []byte, err error) {
	cfg, err = cfg.normalize()
	if err != nil {
		return nil, err
	}
	if cap(buf) < HeaderSize {
		buf = make([]byte, 0, 512)
	}
	// The header is read into buf's storage; it is parsed before the
	// payload overwrites it.
	ft := newFrameTimer(r, cfg.FrameTimeout)
	if ft != nil {
		r = countingReader{r, ft}
	}
	payload, _, err = readFrame(r, &cfg, buf, buf[:HeaderSize], ft, nil, nil)
	return payload, err
}

// buffered is a reader that can tell how many bytes it holds (a Channel's).
type buffered interface{ Buffered() int }

// readFrame implements ReadFrame with a normalized config and caller-owned
// header storage (which may alias buf). desync reports whether bytes of a
// frame were consumed before the error, leaving the stream mid-frame. ft
// (which may be nil) is armed once the first header byte arrived, unless
// br, the buffered reader behind r (may be nil), already holds the rest of
// the frame.
func readFrame(r io.Reader, cfg *Config, buf, hdr []byte, ft *frameTimer, br buffered, acct *account) (payload []byte, desync bool, err error) {
	n, err := io.ReadAtLeast(r, hdr, 1)
	if err != nil {
		if err == io.EOF {
			return nil, false, io.EOF
		}
		return nil, false, fmt.Errorf("channel: reading frame header: %w", err)
	}
	// A frame has begun: from here on every failure leaves the stream mid-frame.
	payload, err = readRest(r, cfg, buf, hdr, n, ft, br, acct)
	if err = ft.disarm(err); err != nil {
		return nil, true, err
	}
	return payload, false, nil
}

// readRest reads the frame whose first n header bytes are in hdr.
func readRest(r io.Reader, cfg *Config, buf, hdr []byte, n int, ft *frameTimer, br buffered, acct *account) ([]byte, error) {
	if n < HeaderSize {
		ft.arm()
		if _, err := io.ReadFull(r, hdr[n:]); err != nil {
			return nil, fmt.Errorf("channel: reading frame header: %w", eofToUnexpected(err))
		}
	}
	length := binary.BigEndian.Uint32(hdr)
	flag := Flag(hdr[4])
	if err := checkHeader(length, flag, cfg); err != nil {
		return nil, err
	}
	total := int(length) + 1 // payload and flusher
	if err := acct.fits(total); err != nil {
		return nil, err
	}
	if br == nil || br.Buffered() < total {
		ft.arm()
	}
	if !flag.Compressed() {
		b, err := readExactly(r, buf, total, acct)
		if err != nil {
			return nil, fmt.Errorf("channel: reading %d-byte payload: %w", length, eofToUnexpected(err))
		}
		return b[:length], nil
	}
	// A compressed payload is read whole before it is decompressed, so that an incomplete frame
	// holds only the bytes that arrived, not what they inflate to.
	st := getInflater()
	defer putInflater(st)
	if err := st.readWire(r, total); err != nil {
		return nil, fmt.Errorf("channel: reading %d-byte compressed payload: %w", length, eofToUnexpected(err))
	}
	return inflatePayload(st, int(length), buf, cfg.MaxMessageSize, acct)
}

// inflatePayload decompresses the first n bytes of st.pieces, wrapping errors for the caller.
func inflatePayload(st *inflater, n int, buf []byte, limit int, acct *account) ([]byte, error) {
	out, err := st.inflate(n, buf, limit, acct)
	if err == ErrMessageTooLarge {
		return nil, fmt.Errorf("channel: %d-byte compressed payload inflates beyond %d bytes: %w",
			n, limit, ErrMessageTooLarge)
	}
	if errors.Is(err, ErrBudget) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("channel: %d-byte payload: %w: %v", n, ErrCorrupt, err)
	}
	return out, nil
}

// ParseFrame parses one frame from the start of b. It returns the payload
// and n, the number of bytes the frame occupies (HeaderSize + length + 1).
// If b holds less than a whole frame (including when b is empty) the error
// wraps io.ErrUnexpectedEOF; a header exceeding cfg's limits is reported
// even before the rest of the frame is present.
//
// A raw payload aliases b. A compressed payload is decompressed into a newly
// allocated slice. On error n is 0.
func ParseFrame(b []byte, cfg Config) (payload []byte, n int, err error) {
	cfg, err = cfg.normalize()
	if err != nil {
		return nil, 0, err
	}
	if len(b) < HeaderSize {
		return nil, 0, fmt.Errorf("channel: %d bytes, need %d for a frame header: %w", len(b), HeaderSize, io.ErrUnexpectedEOF)
	}
	length := binary.BigEndian.Uint32(b)
	flag := Flag(b[4])
	if err := checkHeader(length, flag, &cfg); err != nil {
		return nil, 0, err
	}
	total := uint64(HeaderSize) + uint64(length) + 1
	if uint64(len(b)) < total {
		return nil, 0, fmt.Errorf("channel: %d bytes, frame needs %d: %w", len(b), total, io.ErrUnexpectedEOF)
	}
	wire := b[HeaderSize : HeaderSize+int(length)]
	n = int(total)
	if !flag.Compressed() {
		return wire, n, nil
	}
	st := getInflater()
	defer putInflater(st)
	st.pieces = append(st.pieces[:0], wire)
	out, err := inflatePayload(st, len(wire), nil, cfg.MaxMessageSize, nil)
	if err != nil {
		return nil, 0, err
	}
	return out, n, nil
}
