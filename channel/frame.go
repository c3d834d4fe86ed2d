package channel

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"sync"
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
	// are compressed). This is the rule Python rpyc uses.
	DefaultCompressionThreshold = 3000

	// DefaultCompressionLevel is the zlib level Python rpyc uses (1, the
	// fastest level; the stream header is 78 01).
	DefaultCompressionLevel = 1

	// DefaultMaxFrameSize is the default cap on the length a reader accepts
	// in a frame header, i.e. on the payload as it appears on the wire
	// (after compression).
	DefaultMaxFrameSize = 64 << 20

	// DefaultMaxMessageSize is the default cap on the size of a payload after
	// decompression (and on raw payloads).
	DefaultMaxMessageSize = 256 << 20
)

// Errors returned by this package. They are always wrapped with context, so
// test for them with [errors.Is].
var (
	// ErrClosed is returned by Send and Recv on a Channel that was closed.
	ErrClosed = errors.New("channel: closed")

	// ErrFrameTooLarge is returned when a frame header declares a wire
	// payload longer than Config.MaxFrameSize, or when an outgoing frame
	// would not fit the 32-bit length field.
	ErrFrameTooLarge = errors.New("channel: frame too large")

	// ErrMessageTooLarge is returned when a payload, after decompression,
	// would be larger than Config.MaxMessageSize. Decompression stops as soon
	// as the limit is passed; at most MaxMessageSize+1 bytes are produced.
	ErrMessageTooLarge = errors.New("channel: message too large")

	// ErrCorrupt is returned when a frame is flagged as compressed but its
	// payload is not a valid zlib stream.
	ErrCorrupt = errors.New("channel: corrupt compressed payload")

	// ErrInvalidConfig is returned when a Config field is out of range
	// (see [Config.Validate]).
	ErrInvalidConfig = errors.New("channel: invalid config")
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
	// bytes are compressed. 0 means DefaultCompressionThreshold (3000).
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
	// anything is allocated for them. 0 means DefaultMaxFrameSize (64 MiB).
	// Writers do not enforce it. Negative values are invalid.
	MaxFrameSize int

	// MaxMessageSize caps the payload size a reader returns: the
	// decompressed size of compressed frames, and the length of raw frames.
	// Larger payloads fail with ErrMessageTooLarge. 0 means
	// DefaultMaxMessageSize (256 MiB). Negative values are invalid.
	MaxMessageSize int
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
// compression is enabled and len(payload) > CompressionThreshold) and the
// Flusher byte. It never retains payload or dst. On error dst is returned
// unchanged.
func AppendFrame(dst, payload []byte, cfg Config) ([]byte, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return dst, err
	}
	return appendFrame(dst, payload, &cfg)
}

// appendFrame is AppendFrame with an already normalized config.
func appendFrame(dst, payload []byte, cfg *Config) ([]byte, error) {
	if cfg.DisableCompression || len(payload) <= cfg.CompressionThreshold {
		if uint64(len(payload)) > math.MaxUint32 {
			return dst, fmt.Errorf("channel: payload of %d bytes does not fit a frame: %w", len(payload), ErrFrameTooLarge)
		}
		dst = slices.Grow(dst, HeaderSize+len(payload)+1)
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(payload)))
		dst = append(dst, byte(FlagRaw))
		dst = append(dst, payload...)
		return append(dst, Flusher), nil
	}

	start := len(dst)
	d, err := getDeflater(cfg.CompressionLevel)
	if err != nil {
		return dst, err
	}
	d.out.b = append(dst, 0, 0, 0, 0, byte(FlagZlib))
	_, werr := d.zw.Write(payload)
	cerr := d.zw.Close()
	out := d.out.b
	putDeflater(cfg.CompressionLevel, d)
	if werr != nil || cerr != nil {
		return out[:start], fmt.Errorf("channel: compressing payload: %v", errors.Join(werr, cerr))
	}
	n := len(out) - start - HeaderSize
	if uint64(n) > math.MaxUint32 {
		return out[:start], fmt.Errorf("channel: compressed payload of %d bytes does not fit a frame: %w", n, ErrFrameTooLarge)
	}
	binary.BigEndian.PutUint32(out[start:], uint32(n))
	return append(out, Flusher), nil
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

// frameSource yields at most n bytes of r and remembers the first error of r
// (with io.EOF before the n-th byte turned into io.ErrUnexpectedEOF), so
// that transport failures can be told apart from corrupt zlib data.
type frameSource struct {
	r   io.Reader
	n   int64
	err error
}

func (s *frameSource) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if s.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > s.n {
		p = p[:s.n]
	}
	n, err := s.r.Read(p)
	s.n -= int64(n)
	if err != nil {
		if err == io.EOF {
			if s.n == 0 {
				return n, io.EOF
			}
			err = io.ErrUnexpectedEOF
		}
		s.err = err
	}
	return n, err
}

// inflater is pooled decompression state.
type inflater struct {
	src  frameSource
	br   *bufio.Reader
	bsrc bytes.Reader
	zr   io.ReadCloser // implements zlib.Resetter once set
	one  [1]byte
}

const inflaterBufSize = 16 << 10

var inflaters = sync.Pool{New: func() any {
	st := new(inflater)
	st.br = bufio.NewReaderSize(&st.src, inflaterBufSize)
	return st
}}

func getInflater() *inflater { return inflaters.Get().(*inflater) }

func putInflater(st *inflater) {
	st.src = frameSource{}
	st.br.Reset(&st.src)
	st.bsrc.Reset(nil)
	inflaters.Put(st)
}

// start points the zlib reader at r (which must implement io.ByteReader so
// that zlib does not allocate its own buffer) and reads the zlib header.
func (st *inflater) start(r io.Reader) error {
	if st.zr == nil {
		zr, err := zlib.NewReader(r)
		if err != nil {
			return err
		}
		st.zr = zr
		return nil
	}
	return st.zr.(zlib.Resetter).Reset(r, nil)
}

// growStep is the smallest step by which payload buffers grow.
const growStep = 64 << 10

// inflateInto decompresses all of zr into out[:0], growing it as data is
// produced, never beyond limit+1 bytes. It returns ErrMessageTooLarge (bare)
// when more than limit bytes come out, and other errors from zr as is.
func inflateInto(zr io.Reader, out []byte, limit int) ([]byte, error) {
	out = out[:0]
	for {
		if len(out) == cap(out) {
			newCap := max(2*cap(out), 4<<10)
			if limit < math.MaxInt && newCap > limit+1 {
				newCap = limit + 1
			}
			out = slices.Grow(out, newCap-len(out))
		}
		n, err := zr.Read(out[len(out):cap(out)])
		out = out[:len(out)+n]
		if len(out) > limit {
			return out[:0], ErrMessageTooLarge
		}
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out[:0], err
		}
	}
}

// ReadFrame reads exactly one frame from r and returns its payload,
// decompressed if the flag is non-zero. buf is storage the payload may be
// written into (pass the previous result to reuse it, or nil); the result
// aliases buf whenever it fits.
//
// A clean end of stream before the first header byte returns io.EOF
// itself. A stream that ends inside a frame returns an error wrapping
// io.ErrUnexpectedEOF. Other errors wrap ErrFrameTooLarge,
// ErrMessageTooLarge, ErrCorrupt, ErrInvalidConfig or the reader's error.
//
// Memory is bounded by what actually arrives: a header is checked against
// cfg's limits before anything is allocated for it, and large payloads are
// read in chunks that grow with the data received.
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
	payload, _, err = readFrame(r, &cfg, buf, buf[:HeaderSize])
	return payload, err
}

// readFrame implements ReadFrame with a normalized config and caller-owned
// header storage (which may alias buf). desync reports whether bytes of a
// frame were consumed before the error, leaving the stream mid-frame.
func readFrame(r io.Reader, cfg *Config, buf, hdr []byte) (payload []byte, desync bool, err error) {
	if n, err := io.ReadFull(r, hdr); err != nil {
		if n == 0 && err == io.EOF {
			return nil, false, io.EOF
		}
		return nil, n > 0, fmt.Errorf("channel: reading frame header: %w", err)
	}
	length := binary.BigEndian.Uint32(hdr)
	flag := Flag(hdr[4])
	if err := checkHeader(length, flag, cfg); err != nil {
		return nil, true, err
	}
	if flag.Compressed() {
		payload, err = readCompressed(r, cfg, buf, int(length))
	} else {
		payload, err = readRaw(r, buf, int(length))
	}
	if err != nil {
		return nil, true, err
	}
	return payload, false, nil
}

// eofToUnexpected converts io.EOF to io.ErrUnexpectedEOF: called only when
// a frame is partially read.
func eofToUnexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// readRaw reads length payload bytes plus the flusher into buf.
func readRaw(r io.Reader, buf []byte, length int) ([]byte, error) {
	total := length + 1
	buf = buf[:0]
	if total <= cap(buf) || total <= growStep {
		buf = slices.Grow(buf, total)[:total]
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, fmt.Errorf("channel: reading %d-byte payload: %w", length, eofToUnexpected(err))
		}
		return buf[:length], nil
	}
	// Large frame: grow in steps no bigger than what has already arrived,
	// so a lying header cannot make us allocate its declared size.
	for len(buf) < total {
		cur := len(buf)
		next := min(total, max(2*cur, growStep))
		buf = slices.Grow(buf, next-cur)[:next]
		if _, err := io.ReadFull(r, buf[cur:next]); err != nil {
			return nil, fmt.Errorf("channel: reading %d-byte payload: %w", length, eofToUnexpected(err))
		}
	}
	return buf[:length], nil
}

// readCompressed streams length wire bytes of r through zlib into buf, then
// reads the flusher. Bytes after the end of the zlib stream but inside the
// frame are skipped, as Python's zlib.decompress ignores them.
func readCompressed(r io.Reader, cfg *Config, buf []byte, length int) ([]byte, error) {
	st := getInflater()
	defer putInflater(st)
	st.src = frameSource{r: r, n: int64(length)}
	st.br.Reset(&st.src)

	fail := func(err error) error {
		if st.src.err != nil {
			return fmt.Errorf("channel: reading %d-byte compressed payload: %w", length, st.src.err)
		}
		return fmt.Errorf("channel: %d-byte payload: %w: %v", length, ErrCorrupt, err)
	}
	if err := st.start(st.br); err != nil {
		return nil, fail(err)
	}
	out, err := inflateInto(st.zr, buf, cfg.MaxMessageSize)
	if err == ErrMessageTooLarge {
		return nil, fmt.Errorf("channel: %d-byte compressed payload inflates beyond %d bytes: %w",
			length, cfg.MaxMessageSize, ErrMessageTooLarge)
	}
	if err != nil {
		return nil, fail(err)
	}
	if rest := st.br.Buffered() + int(st.src.n); rest > 0 {
		if _, err := st.br.Discard(rest); err != nil {
			return nil, fail(err)
		}
	}
	if _, err := io.ReadFull(r, st.one[:]); err != nil {
		return nil, fmt.Errorf("channel: reading flusher: %w", eofToUnexpected(err))
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
	st.bsrc.Reset(wire)
	if err := st.start(&st.bsrc); err != nil {
		return nil, 0, fmt.Errorf("channel: %d-byte payload: %w: %v", length, ErrCorrupt, err)
	}
	out, err := inflateInto(st.zr, nil, cfg.MaxMessageSize)
	if err == ErrMessageTooLarge {
		return nil, 0, fmt.Errorf("channel: %d-byte compressed payload inflates beyond %d bytes: %w",
			length, cfg.MaxMessageSize, ErrMessageTooLarge)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("channel: %d-byte payload: %w: %v", length, ErrCorrupt, err)
	}
	return out, n, nil
}
