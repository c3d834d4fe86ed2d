package channel

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
)

// getRoot is the payload of a protocol-v5 GETROOT request.
var getRoot = []byte{0x12, 0x51, 0x50, 0x11, 0x53, 0x11, 0x51, 0x02}

// getRootFrame is the frame Python rpyc sends for getRoot.
var getRootFrame = []byte{
	0x00, 0x00, 0x00, 0x08, // length
	0x00,                                           // flag
	0x12, 0x51, 0x50, 0x11, 0x53, 0x11, 0x51, 0x02, // payload
	0x0a, // flusher
}

// pyZlibA3001 is zlib.compress(b"a"*3001, 1) as produced by CPython with C
// zlib 1.2.13.
const pyZlibA3001 = "7801edd0c1000000000321d6f39798c61e855061c0800103060c183060c0c0fdc000b2027156"

func mustAppend(t testing.TB, payload []byte, cfg Config) []byte {
	t.Helper()
	f, err := AppendFrame(nil, payload, cfg)
	if err != nil {
		t.Fatalf("AppendFrame(%d bytes): %v", len(payload), err)
	}
	return f
}

func mustParse(t testing.TB, frame []byte, cfg Config) []byte {
	t.Helper()
	p, n, err := ParseFrame(frame, cfg)
	if err != nil {
		t.Fatalf("ParseFrame: %v", err)
	}
	if n != len(frame) {
		t.Fatalf("ParseFrame consumed %d of %d bytes", n, len(frame))
	}
	q, err := ReadFrame(bytes.NewReader(frame), cfg, nil)
	if err != nil {
		t.Fatalf("ReadFrame: %v", err)
	}
	if !bytes.Equal(p, q) {
		t.Fatalf("ParseFrame and ReadFrame disagree")
	}
	return p
}

// frame builds a frame by hand.
func frame(length uint32, flag byte, body []byte, flusher byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, length)
	b = append(b, flag)
	b = append(b, body...)
	return append(b, flusher)
}

func zlibBytes(t testing.TB, data []byte, level int) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := zlib.NewWriterLevel(&buf, level)
	if err != nil {
		t.Fatal(err)
	}
	zw.Write(data)
	zw.Close()
	return buf.Bytes()
}

func inflate(t testing.TB, z []byte) []byte {
	t.Helper()
	zr, err := zlib.NewReader(bytes.NewReader(z))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// allocated reports the bytes allocated on the heap while f runs.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestGetRootFrame(t *testing.T) {
	got := mustAppend(t, getRoot, Config{})
	if !bytes.Equal(got, getRootFrame) {
		t.Fatalf("AppendFrame = % x, want % x", got, getRootFrame)
	}
	if p := mustParse(t, getRootFrame, Config{}); !bytes.Equal(p, getRoot) {
		t.Fatalf("payload = % x, want % x", p, getRoot)
	}

	var buf bytes.Buffer
	ch := New(&buf, Config{})
	if err := ch.Send(getRoot); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), getRootFrame) {
		t.Fatalf("Send wrote % x, want % x", buf.Bytes(), getRootFrame)
	}
	p, err := ch.Recv()
	if err != nil || !bytes.Equal(p, getRoot) {
		t.Fatalf("Recv = % x, %v", p, err)
	}
	if _, err := ch.Recv(); err != io.EOF {
		t.Fatalf("Recv at end = %v, want io.EOF", err)
	}
}

func TestEmptyPayload(t *testing.T) {
	got := mustAppend(t, nil, Config{})
	want := []byte{0, 0, 0, 0, 0, 0x0a}
	if !bytes.Equal(got, want) {
		t.Fatalf("AppendFrame(empty) = % x, want % x", got, want)
	}
	if p := mustParse(t, got, Config{}); len(p) != 0 {
		t.Fatalf("payload = % x", p)
	}
}

func TestCompressionThreshold(t *testing.T) {
	p3000 := bytes.Repeat([]byte{'a'}, 3000)
	f := mustAppend(t, p3000, Config{})
	if len(f) != HeaderSize+3000+1 || f[4] != 0 || binary.BigEndian.Uint32(f) != 3000 || f[len(f)-1] != Flusher {
		t.Fatalf("3000-byte payload: header % x, len %d", f[:5], len(f))
	}
	if !bytes.Equal(f[5:len(f)-1], p3000) {
		t.Fatal("3000-byte payload not sent as is")
	}

	p3001 := bytes.Repeat([]byte{'a'}, 3001)
	f = mustAppend(t, p3001, Config{})
	if f[4] != 1 {
		t.Fatalf("3001-byte payload: flag %d, want 1", f[4])
	}
	n := binary.BigEndian.Uint32(f)
	if int(n) != len(f)-HeaderSize-1 || f[len(f)-1] != Flusher {
		t.Fatalf("length field %d for a %d-byte frame", n, len(f))
	}
	if f[5] != 0x78 || f[6] != 0x01 {
		t.Fatalf("zlib header % x, want 78 01", f[5:7])
	}
	if !bytes.Equal(inflate(t, f[5:len(f)-1]), p3001) {
		t.Fatal("compressed payload does not inflate to the original")
	}
	if !bytes.Equal(mustParse(t, f, Config{}), p3001) {
		t.Fatal("round trip failed")
	}
}

// Python compresses above the threshold even when that grows the payload; gorpyc sends
// incompressible payloads raw (Python reads raw frames of any size), small or large, and still
// compresses what compresses, including a payload whose compressible part comes after an
// incompressible start shorter than the probe.
func TestCompressIncompressible(t *testing.T) {
	noise := func(n int) []byte {
		p := make([]byte, n)
		_, _ = rand.NewChaCha8([32]byte{1}).Read(p)
		return p
	}
	for _, tc := range []struct {
		name string
		p    []byte
		flag byte
	}{
		{"3001 noise", noise(3001), 0},
		{"1 MiB noise", noise(1 << 20), 0},
		{"1 MiB text", benchText(1 << 20), 1},
		{"20 KiB noise then text", append(noise(20<<10), benchText(1<<20)...), 1},
	} {
		f := mustAppend(t, tc.p, Config{})
		if f[4] != tc.flag {
			t.Errorf("%s: flag %d, want %d", tc.name, f[4], tc.flag)
		}
		if tc.flag == 0 && !bytes.Equal(f[HeaderSize:len(f)-1], tc.p) {
			t.Errorf("%s: raw frame differs from the payload", tc.name)
		}
		if !bytes.Equal(mustParse(t, f, Config{}), tc.p) {
			t.Fatalf("%s: round trip failed", tc.name)
		}
	}
}

func TestDisableCompression(t *testing.T) {
	p := bytes.Repeat([]byte("xyz"), 10000)
	f := mustAppend(t, p, Config{DisableCompression: true})
	if f[4] != 0 || binary.BigEndian.Uint32(f) != uint32(len(p)) || !bytes.Equal(f[5:len(f)-1], p) {
		t.Fatalf("DisableCompression: header % x", f[:5])
	}
	// A reader with compression disabled still reads compressed frames.
	c := mustAppend(t, p, Config{})
	if !bytes.Equal(mustParse(t, c, Config{DisableCompression: true}), p) {
		t.Fatal("compressed frame not read with DisableCompression")
	}
}

func TestCustomThresholdAndLevel(t *testing.T) {
	p := bytes.Repeat([]byte("hello "), 50) // 300 bytes
	if f := mustAppend(t, p, Config{CompressionThreshold: 300}); f[4] != 0 {
		t.Fatal("300 bytes compressed with threshold 300")
	}
	if f := mustAppend(t, p, Config{CompressionThreshold: 299}); f[4] != 1 {
		t.Fatal("300 bytes not compressed with threshold 299")
	}
	for _, tc := range []struct {
		level int
		hdr   string
	}{
		{0, "7801"},
		{zlib.HuffmanOnly, "7801"},
		{zlib.BestSpeed, "7801"},
		{zlib.DefaultCompression, "789c"},
		{5, "785e"},
		{zlib.BestCompression, "78da"},
	} {
		cfg := Config{CompressionThreshold: 10, CompressionLevel: tc.level}
		f := mustAppend(t, p, cfg)
		if got := hex.EncodeToString(f[5:7]); got != tc.hdr {
			t.Errorf("level %d: zlib header %s, want %s", tc.level, got, tc.hdr)
		}
		if !bytes.Equal(mustParse(t, f, cfg), p) {
			t.Errorf("level %d: round trip failed", tc.level)
		}
	}
}

func TestInvalidConfig(t *testing.T) {
	for _, cfg := range []Config{
		{CompressionThreshold: -1},
		{CompressionLevel: 10},
		{CompressionLevel: -3},
		{MaxFrameSize: -1},
		{MaxMessageSize: -1},
	} {
		if err := cfg.Validate(); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%+v: Validate = %v", cfg, err)
		}
		if _, err := AppendFrame(nil, getRoot, cfg); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%+v: AppendFrame = %v", cfg, err)
		}
		if _, err := ReadFrame(bytes.NewReader(getRootFrame), cfg, nil); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%+v: ReadFrame = %v", cfg, err)
		}
		if _, _, err := ParseFrame(getRootFrame, cfg); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%+v: ParseFrame = %v", cfg, err)
		}
		ch := New(&bytes.Buffer{}, cfg)
		if err := ch.Send(getRoot); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%+v: Send = %v", cfg, err)
		}
		if _, err := ch.Recv(); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%+v: Recv = %v", cfg, err)
		}
	}
	if err := (Config{}).Validate(); err != nil {
		t.Errorf("zero Config: %v", err)
	}
}

func TestAppendFrameAppends(t *testing.T) {
	prefix := []byte("prefix")
	f, err := AppendFrame(append([]byte(nil), prefix...), getRoot, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(f, append(append([]byte(nil), prefix...), getRootFrame...)) {
		t.Fatalf("got % x", f)
	}
	big := bytes.Repeat([]byte{'q'}, 5000)
	f, err = AppendFrame(append([]byte(nil), prefix...), big, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(f, prefix) || !bytes.Equal(mustParse(t, f[len(prefix):], Config{}), big) {
		t.Fatal("compressed frame not appended correctly")
	}
}

func TestReadPythonZlib(t *testing.T) {
	z, _ := hex.DecodeString(pyZlibA3001)
	want := bytes.Repeat([]byte{'a'}, 3001)
	f := frame(uint32(len(z)), 1, z, Flusher)
	if !bytes.Equal(mustParse(t, f, Config{}), want) {
		t.Fatal("C zlib stream not decoded")
	}
}

func TestNonZeroFlagIsCompressed(t *testing.T) {
	p := []byte("flag seven means compressed too")
	z := zlibBytes(t, p, 1)
	for _, flag := range []byte{1, 2, 7, 0x80, 0xff} {
		f := frame(uint32(len(z)), flag, z, Flusher)
		if got := mustParse(t, f, Config{}); !bytes.Equal(got, p) {
			t.Errorf("flag %d: payload %q", flag, got)
		}
	}
	if Flag(7).String() != "zlib(7)" || FlagZlib.String() != "zlib" || FlagRaw.String() != "raw" {
		t.Error("Flag.String")
	}
	if !Flag(7).Compressed() || FlagRaw.Compressed() {
		t.Error("Flag.Compressed")
	}
}

func TestFlusherNotValidated(t *testing.T) {
	z := zlibBytes(t, []byte("compressed"), 1)
	var stream []byte
	stream = append(stream, frame(3, 0, []byte("one"), 0x00)...)
	stream = append(stream, frame(uint32(len(z)), 1, z, 0xff)...)
	stream = append(stream, frame(3, 0, []byte("two"), 'X')...)
	want := []string{"one", "compressed", "two"}

	rest := stream
	for _, w := range want {
		p, n, err := ParseFrame(rest, Config{})
		if err != nil || string(p) != w {
			t.Fatalf("ParseFrame = %q, %v; want %q", p, err, w)
		}
		rest = rest[n:]
	}
	if len(rest) != 0 {
		t.Fatalf("%d bytes left", len(rest))
	}

	ch := New(&readOnly{bytes.NewReader(stream)}, Config{})
	for _, w := range want {
		p, err := ch.Recv()
		if err != nil || string(p) != w {
			t.Fatalf("Recv = %q, %v; want %q", p, err, w)
		}
	}
	if _, err := ch.Recv(); err != io.EOF {
		t.Fatalf("Recv at end = %v", err)
	}
}

// readOnly adapts a reader to io.ReadWriter, failing writes.
type readOnly struct{ io.Reader }

func (readOnly) Write([]byte) (int, error) { return 0, errors.New("read only") }

func TestTruncatedPrefixes(t *testing.T) {
	frames := map[string][]byte{
		"getroot":    getRootFrame,
		"empty":      mustAppend(t, nil, Config{}),
		"compressed": mustAppend(t, bytes.Repeat([]byte("abc"), 1001), Config{}),
		"large raw":  mustAppend(t, bytes.Repeat([]byte{1}, 200<<10), Config{DisableCompression: true}),
	}
	for name, f := range frames {
		for i := 0; i < len(f); i++ {
			if name == "large raw" && i > 64 && i < len(f)-64 && i%4099 != 0 {
				continue
			}
			prefix := f[:i]
			_, err := ReadFrame(bytes.NewReader(prefix), Config{}, nil)
			if i == 0 {
				if err != io.EOF {
					t.Fatalf("%s: ReadFrame(empty) = %v, want io.EOF", name, err)
				}
			} else if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("%s: ReadFrame(%d of %d bytes) = %v, want ErrUnexpectedEOF", name, i, len(f), err)
			}
			if _, n, err := ParseFrame(prefix, Config{}); !errors.Is(err, io.ErrUnexpectedEOF) || n != 0 {
				t.Fatalf("%s: ParseFrame(%d of %d bytes) = %d, %v, want ErrUnexpectedEOF", name, i, len(f), n, err)
			}
			ch := New(&readOnly{bytes.NewReader(prefix)}, Config{})
			_, err = ch.Recv()
			if i == 0 {
				if err != io.EOF {
					t.Fatalf("%s: Recv(empty) = %v, want io.EOF", name, err)
				}
			} else if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("%s: Recv(%d of %d bytes) = %v, want ErrUnexpectedEOF", name, i, len(f), err)
			}
		}
	}
}

func TestFrameTooLarge(t *testing.T) {
	hdr := []byte{0xff, 0xff, 0xff, 0xff, 0}
	var err error
	lim := Config{MaxFrameSize: 64 << 20} // the default accepts every length
	n := allocated(func() { _, err = ReadFrame(bytes.NewReader(hdr), lim, nil) })
	if !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("ReadFrame = %v, want ErrFrameTooLarge", err)
	}
	t.Logf("rejected frame: %d bytes allocated", n)
	if n > 1<<20 {
		t.Errorf("ReadFrame allocated %d bytes for a rejected frame", n)
	}
	if !strings.Contains(err.Error(), "4294967295") {
		t.Errorf("error lacks context: %v", err)
	}
	if _, _, err := ParseFrame(hdr, lim); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("ParseFrame = %v, want ErrFrameTooLarge", err)
	}
	ch := New(&readOnly{bytes.NewReader(hdr)}, lim)
	if _, err := ch.Recv(); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("Recv = %v", err)
	}
	// The error is sticky: the stream is mid-frame.
	if _, err := ch.Recv(); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("second Recv = %v", err)
	}

	// Exact limit: MaxFrameSize bytes pass, one more fails.
	cfg := Config{MaxFrameSize: 100, DisableCompression: true}
	ok := mustAppend(t, make([]byte, 100), cfg)
	mustParse(t, ok, cfg)
	bad := mustAppend(t, make([]byte, 101), Config{DisableCompression: true}) // cfg refuses to send it
	if _, err := ReadFrame(bytes.NewReader(bad), cfg, nil); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("101 > 100: %v", err)
	}
	// Compressed frames are limited by their wire length.
	z := zlibBytes(t, make([]byte, 1000), 9)
	cfg.MaxFrameSize = len(z) - 1
	if _, _, err := ParseFrame(frame(uint32(len(z)), 1, z, Flusher), cfg); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("compressed over limit: %v", err)
	}
}

// A header announcing 60 MB followed by a few bytes must not allocate 60 MB.
func TestLyingLengthDoesNotAllocate(t *testing.T) {
	for _, flag := range []byte{0, 1} {
		body := []byte("0123456789")
		if flag == 1 {
			body = zlibBytes(t, []byte("short"), 1)
		}
		f := frame(60<<20, flag, body, Flusher)
		f = f[:len(f)-1] // no flusher: the stream just ends
		var err error
		n := allocated(func() { _, err = ReadFrame(bytes.NewReader(f), Config{}, nil) })
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("flag %d: ReadFrame = %v, want ErrUnexpectedEOF", flag, err)
		}
		t.Logf("flag %d: ReadFrame allocated %d bytes", flag, n)
		if n > 8<<20 {
			t.Errorf("flag %d: ReadFrame allocated %d bytes", flag, n)
		}
		ch := New(&readOnly{bytes.NewReader(f)}, Config{})
		n = allocated(func() { _, err = ch.Recv() })
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("flag %d: Recv = %v, want ErrUnexpectedEOF", flag, err)
		}
		if n > 8<<20 {
			t.Errorf("flag %d: Recv allocated %d bytes", flag, n)
		}
	}
}

func TestZlibBomb(t *testing.T) {
	// 10 MB of zeros compress to about 10 KB.
	var zb bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&zb, zlib.BestCompression)
	zeros := make([]byte, 64<<10)
	for i := 0; i < (10<<20)/len(zeros); i++ {
		zw.Write(zeros)
	}
	zw.Close()
	bomb := frame(uint32(zb.Len()), 1, zb.Bytes(), Flusher)
	cfg := Config{MaxMessageSize: 1 << 20}

	var err error
	n := allocated(func() { _, err = ReadFrame(bytes.NewReader(bomb), cfg, nil) })
	if !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("ReadFrame = %v, want ErrMessageTooLarge", err)
	}
	t.Logf("bomb: ReadFrame allocated %d bytes", n)
	if n > 6<<20 {
		t.Errorf("ReadFrame allocated %d bytes for a 1 MiB limit", n)
	}
	n = allocated(func() { _, _, err = ParseFrame(bomb, cfg) })
	if !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("ParseFrame = %v, want ErrMessageTooLarge", err)
	}
	if n > 6<<20 {
		t.Errorf("ParseFrame allocated %d bytes for a 1 MiB limit", n)
	}
	ch := New(&readOnly{bytes.NewReader(bomb)}, cfg)
	if _, err := ch.Recv(); !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("Recv = %v", err)
	}

	// Exactly at the limit is fine, one byte more is not.
	cfg = Config{MaxMessageSize: 5000}
	at := mustAppend(t, make([]byte, 5000), cfg)
	mustParse(t, at, cfg)
	over := mustAppend(t, make([]byte, 5001), Config{}) // a sender with cfg would refuse it
	if _, _, err := ParseFrame(over, cfg); !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("ParseFrame(5001 > 5000) = %v", err)
	}
	if _, err := ReadFrame(bytes.NewReader(over), cfg, nil); !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("ReadFrame(5001 > 5000) = %v", err)
	}
	// Raw frames are held to MaxMessageSize too.
	raw := mustAppend(t, make([]byte, 5001), Config{DisableCompression: true})
	if _, _, err := ParseFrame(raw, cfg); !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("raw ParseFrame(5001 > 5000) = %v", err)
	}
	if _, err := ReadFrame(bytes.NewReader(raw), cfg, nil); !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("raw ReadFrame(5001 > 5000) = %v", err)
	}
}

func TestCorrupt(t *testing.T) {
	good := zlibBytes(t, bytes.Repeat([]byte("payload "), 100), 1)
	badSum := append([]byte(nil), good...)
	badSum[len(badSum)-1] ^= 0xff
	dict := []byte{0x78, 0xbb, 0, 0, 0, 1, 0x03, 0x00} // FDICT set
	cases := map[string][]byte{
		"garbage":        []byte("this is not zlib at all"),
		"empty":          nil,
		"one byte":       {0x78},
		"bad checksum":   badSum,
		"truncated":      good[:len(good)/2],
		"bad header":     append([]byte{0x78, 0x02}, good[2:]...),
		"raw deflate":    good[2 : len(good)-4],
		"preset dict":    dict,
		"gzip":           {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0},
		"bad block type": {0x78, 0x01, 0x07, 0, 0, 0, 0},
	}
	for name, body := range cases {
		f := frame(uint32(len(body)), 1, body, Flusher)
		if _, _, err := ParseFrame(f, Config{}); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: ParseFrame = %v, want ErrCorrupt", name, err)
		}
		_, err := ReadFrame(bytes.NewReader(f), Config{}, nil)
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: ReadFrame = %v, want ErrCorrupt", name, err)
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("%s: corrupt data reported as a truncated stream", name)
		}
	}
}

// Like Python's zlib.decompress, data after the end of the zlib stream but
// inside the frame is ignored; the next frame is still found.
func TestTrailingBytesAfterZlibStream(t *testing.T) {
	p := []byte("the payload")
	body := append(zlibBytes(t, p, 1), "trailing junk"...)
	stream := frame(uint32(len(body)), 1, body, Flusher)
	stream = append(stream, getRootFrame...)
	got, n, err := ParseFrame(stream, Config{})
	if err != nil || !bytes.Equal(got, p) || n != len(stream)-len(getRootFrame) {
		t.Fatalf("ParseFrame = %q, %d, %v", got, n, err)
	}
	r := bytes.NewReader(stream)
	for _, want := range [][]byte{p, getRoot} {
		got, err := ReadFrame(r, Config{}, nil)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("ReadFrame = %q, %v; want %q", got, err, want)
		}
	}
}

func TestReadFrameReusesBuffer(t *testing.T) {
	buf := make([]byte, 0, 1<<16)
	p, err := ReadFrame(bytes.NewReader(getRootFrame), Config{}, buf)
	if err != nil || !bytes.Equal(p, getRoot) {
		t.Fatal(p, err)
	}
	if &p[0] != &buf[:1][0] {
		t.Error("raw payload not read into buf")
	}
	big := bytes.Repeat([]byte("0123456789"), 1000)
	p, err = ReadFrame(bytes.NewReader(mustAppend(t, big, Config{})), Config{}, buf)
	if err != nil || !bytes.Equal(p, big) {
		t.Fatal(err)
	}
	if &p[0] != &buf[:1][0] {
		t.Error("decompressed payload not written into buf")
	}
	// A buf too small for the header is fine.
	if p, err := ReadFrame(bytes.NewReader(getRootFrame), Config{}, make([]byte, 0, 2)); err != nil || !bytes.Equal(p, getRoot) {
		t.Fatal(p, err)
	}
}

func TestLargeRawFrameChunked(t *testing.T) {
	p := make([]byte, 3<<20+17)
	for i := range p {
		p[i] = byte(i * 13)
	}
	f := mustAppend(t, p, Config{DisableCompression: true})
	got, err := ReadFrame(iotestOneByteAtATimeAfter(bytes.NewReader(f), 1<<20), Config{}, nil)
	if err != nil || !bytes.Equal(got, p) {
		t.Fatalf("ReadFrame: %v", err)
	}
}

// iotestOneByteAtATimeAfter returns a reader that yields large reads until
// n bytes were read and then one byte per Read.
func iotestOneByteAtATimeAfter(r io.Reader, n int) io.Reader {
	return &slowAfter{r: r, n: n}
}

type slowAfter struct {
	r io.Reader
	n int
}

func (s *slowAfter) Read(p []byte) (int, error) {
	if s.n <= 0 && len(p) > 1 {
		p = p[:1]
	}
	n, err := s.r.Read(p)
	s.n -= n
	return n, err
}

func TestAppendFrameNoAllocs(t *testing.T) {
	buf := make([]byte, 0, 256)
	allocs := testing.AllocsPerRun(100, func() {
		buf, _ = AppendFrame(buf[:0], getRoot, Config{})
	})
	if allocs != 0 {
		t.Errorf("AppendFrame into a reused buffer: %v allocs", allocs)
	}
}

func TestMaxFrameSizeAboveUint32(t *testing.T) {
	if math.MaxInt == math.MaxInt32 {
		t.Skip("32-bit int")
	}
	cfg := Config{MaxFrameSize: math.MaxInt, MaxMessageSize: math.MaxInt}
	if !bytes.Equal(mustParse(t, getRootFrame, cfg), getRoot) {
		t.Fatal("round trip failed")
	}
	z := mustAppend(t, bytes.Repeat([]byte{'z'}, 4000), Config{})
	if len(mustParse(t, z, cfg)) != 4000 {
		t.Fatal("compressed round trip failed")
	}
}
