package channel

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"
)

// testPayloads covers the interesting sizes around the compression
// threshold, empty payloads, and compressible and incompressible data.
func testPayloads() [][]byte {
	rng := rand.New(rand.NewPCG(1, 2))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	return [][]byte{
		{},
		getRoot,
		bytes.Repeat([]byte{'x'}, 2999),
		bytes.Repeat([]byte{'x'}, 3000),
		bytes.Repeat([]byte{'x'}, 3001),
		random(3001),
		random(100_000),
		bytes.Repeat([]byte("compressible text "), 60_000), // ~1 MB
		random(1 << 20),
	}
}

func TestRoundTripBuffer(t *testing.T) {
	for _, cfg := range []Config{{}, {DisableCompression: true}, {CompressionThreshold: 1, CompressionLevel: 9}} {
		var buf bytes.Buffer
		ch := New(&buf, cfg)
		payloads := testPayloads()
		for _, p := range payloads {
			if err := ch.Send(p); err != nil {
				t.Fatal(err)
			}
		}
		for i, want := range payloads {
			got, err := ch.Recv()
			if err != nil {
				t.Fatalf("%+v: Recv %d: %v", cfg, i, err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("%+v: payload %d differs (%d vs %d bytes)", cfg, i, len(got), len(want))
			}
		}
		if _, err := ch.Recv(); err != io.EOF {
			t.Fatalf("Recv at end = %v", err)
		}
	}
}

func TestRoundTripNetPipe(t *testing.T) {
	a, b := net.Pipe()
	ca, cb := New(a, Config{}), New(b, Config{})
	defer ca.Close()
	defer cb.Close()
	payloads := testPayloads()
	errc := make(chan error, 1)
	go func() {
		for _, p := range payloads {
			if err := ca.Send(p); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	for i, want := range payloads {
		got, err := cb.Recv()
		if err != nil {
			t.Fatalf("Recv %d: %v", i, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("payload %d differs", i)
		}
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	// Replies flow the other way on the same connection.
	go func() { errc <- cb.Send(getRoot) }()
	if got, err := ca.Recv(); err != nil || !bytes.Equal(got, getRoot) {
		t.Fatalf("reply: %q, %v", got, err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

// oneByteReader returns at most one byte per Read, splitting every frame.
type oneByteReader struct{ r io.Reader }

func (o oneByteReader) Read(p []byte) (int, error) {
	if len(p) > 1 {
		p = p[:1]
	}
	return o.r.Read(p)
}

func TestRoundTripSplitPipes(t *testing.T) {
	pr, pw := io.Pipe()
	sender := NewSplit(nil, pw, pw, Config{})
	receiver := NewSplit(oneByteReader{pr}, nil, pr, Config{})
	payloads := testPayloads()[:7] // keep one-byte reads reasonably quick
	go func() {
		for _, p := range payloads {
			if err := sender.Send(p); err != nil {
				return
			}
		}
		sender.Close() // closes pw: the receiver sees a clean EOF
	}()
	for i, want := range payloads {
		got, err := receiver.Recv()
		if err != nil {
			t.Fatalf("Recv %d: %v", i, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("payload %d differs", i)
		}
	}
	if _, err := receiver.Recv(); err != io.EOF {
		t.Fatalf("Recv after writer closed = %v, want io.EOF", err)
	}
	if err := receiver.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestCoalescedFrames(t *testing.T) {
	var stream []byte
	var want [][]byte
	for i := 0; i < 500; i++ {
		p := []byte(fmt.Sprintf("frame %d ", i))
		if i%50 == 0 {
			p = bytes.Repeat(p, 400) // compressed
		}
		want = append(want, p)
		var err error
		stream, err = AppendFrame(stream, p, Config{})
		if err != nil {
			t.Fatal(err)
		}
	}

	ch := New(&readOnly{bytes.NewReader(stream)}, Config{})
	for i, w := range want {
		got, err := ch.Recv()
		if err != nil || !bytes.Equal(got, w) {
			t.Fatalf("Recv %d = %q, %v", i, got, err)
		}
	}
	if _, err := ch.Recv(); err != io.EOF {
		t.Fatalf("Recv at end = %v", err)
	}

	rest := stream
	for i, w := range want {
		got, n, err := ParseFrame(rest, Config{})
		if err != nil || !bytes.Equal(got, w) {
			t.Fatalf("ParseFrame %d = %q, %v", i, got, err)
		}
		rest = rest[n:]
	}
	if len(rest) != 0 {
		t.Fatalf("%d bytes left over", len(rest))
	}
}

// concurrentPayload is the distinct content goroutine g sends as frame i;
// some are long enough to be compressed.
func concurrentPayload(g, i int) []byte {
	var b []byte
	b = binary.BigEndian.AppendUint32(b, uint32(g))
	b = binary.BigEndian.AppendUint32(b, uint32(i))
	n := (g*131 + i*17) % 64
	if (g+i)%23 == 0 {
		n = 400 // 400*8+8 bytes: over the threshold
	}
	for j := 0; j < n; j++ {
		b = binary.BigEndian.AppendUint64(b, uint64(g)<<40|uint64(i)<<16|uint64(j))
	}
	return b
}

func TestConcurrentSenders(t *testing.T) {
	const senders, perSender = 32, 200
	a, b := net.Pipe()
	tx, rx := New(a, Config{}), New(b, Config{})
	defer tx.Close()
	defer rx.Close()

	var wg sync.WaitGroup
	errs := make(chan error, senders)
	for g := 0; g < senders; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perSender; i++ {
				if err := tx.Send(concurrentPayload(g, i)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}

	next := make([]int, senders)
	for k := 0; k < senders*perSender; k++ {
		p, err := rx.Recv()
		if err != nil {
			t.Fatalf("Recv %d: %v", k, err)
		}
		if len(p) < 8 {
			t.Fatalf("short payload %x", p)
		}
		g, i := int(binary.BigEndian.Uint32(p)), int(binary.BigEndian.Uint32(p[4:]))
		if g >= senders {
			t.Fatalf("bad sender id %d", g)
		}
		if i != next[g] {
			t.Fatalf("sender %d: got frame %d, want %d", g, i, next[g])
		}
		if !bytes.Equal(p, concurrentPayload(g, i)) {
			t.Fatalf("sender %d frame %d corrupted", g, i)
		}
		next[g]++
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestClose(t *testing.T) {
	a, b := net.Pipe()
	ch := New(a, Config{})
	defer b.Close()
	if err := ch.Close(); err != nil {
		t.Fatal(err)
	}
	if err := ch.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	if err := ch.Send(getRoot); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send after Close = %v", err)
	}
	if _, err := ch.Recv(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Recv after Close = %v", err)
	}
	// The connection itself was closed.
	if _, err := b.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("peer read after Close = %v, want io.EOF", err)
	}

	// NewSplit with a nil closer.
	s := NewSplit(bytes.NewReader(nil), io.Discard, nil, Config{})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Send(getRoot); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send after Close = %v", err)
	}
}

type errCloser struct{ n int }

func (e *errCloser) Close() error { e.n++; return errors.New("close failed") }

func TestCloseReturnsCloserErrorOnce(t *testing.T) {
	c := &errCloser{}
	ch := NewSplit(bytes.NewReader(nil), io.Discard, c, Config{})
	if err := ch.Close(); err == nil {
		t.Fatal("first Close hid the closer's error")
	}
	if err := ch.Close(); err != nil || c.n != 1 {
		t.Fatalf("second Close = %v, closer called %d times", err, c.n)
	}
}

func TestCloseUnblocksRecv(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	ch := New(a, Config{})
	errc := make(chan error, 1)
	go func() {
		_, err := ch.Recv()
		errc <- err
	}()
	time.Sleep(10 * time.Millisecond) // not an assertion; just lets Recv block
	ch.Close()
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Fatalf("blocked Recv after Close = %v", err)
	}
}

func TestConfigDefaults(t *testing.T) {
	got := New(&bytes.Buffer{}, Config{}).Config()
	want := Config{
		CompressionThreshold: DefaultCompressionThreshold,
		CompressionLevel:     DefaultCompressionLevel,
		MaxFrameSize:         DefaultMaxFrameSize,
		MaxMessageSize:       DefaultMaxMessageSize,
		FrameTimeout:         DefaultFrameTimeout,
		WriteTimeout:         DefaultWriteTimeout,
	}
	if got != want {
		t.Fatalf("Config() = %+v, want %+v", got, want)
	}
	custom := Config{CompressionThreshold: 7, CompressionLevel: 9, DisableCompression: true, MaxFrameSize: 10, MaxMessageSize: 20,
		FrameTimeout: -1, WriteTimeout: -1}
	if got := New(&bytes.Buffer{}, custom).Config(); got != custom {
		t.Fatalf("Config() = %+v, want %+v", got, custom)
	}
}

// failWriter writes up to n bytes of each call, then fails.
type failWriter struct {
	n     int
	calls int
}

func (f *failWriter) Write(p []byte) (int, error) {
	f.calls++
	if len(p) <= f.n {
		return len(p), nil
	}
	return f.n, errors.New("write failed")
}

func TestSendErrors(t *testing.T) {
	// A failure before any byte is written leaves the stream usable.
	w := &failWriter{n: 0}
	ch := NewSplit(nil, w, nil, Config{})
	if err := ch.Send(getRoot); err == nil {
		t.Fatal("Send succeeded")
	}
	w.n = 1 << 20
	if err := ch.Send(getRoot); err != nil {
		t.Fatalf("Send after a clean failure = %v", err)
	}

	// A partial write breaks the stream for good.
	w = &failWriter{n: 3}
	ch = NewSplit(nil, w, nil, Config{})
	first := ch.Send(getRoot)
	if first == nil {
		t.Fatal("Send succeeded")
	}
	w.n = 1 << 20
	if err := ch.Send(getRoot); err == nil {
		t.Fatal("Send after a partial write succeeded")
	}
	if w.calls != 1 {
		t.Fatalf("Write called %d times, want 1", w.calls)
	}
}

// countingWriter records the size of every Write call.
type countingWriter struct {
	bytes.Buffer
	writes []int
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.writes = append(c.writes, len(p))
	return c.Buffer.Write(p)
}

func TestSendIsOneWrite(t *testing.T) {
	var w countingWriter
	ch := NewSplit(nil, &w, nil, Config{})
	for _, p := range testPayloads() {
		if err := ch.Send(p); err != nil {
			t.Fatal(err)
		}
	}
	if len(w.writes) != len(testPayloads()) {
		t.Fatalf("%d Write calls for %d frames", len(w.writes), len(testPayloads()))
	}
	r := bytes.NewReader(w.Bytes())
	for i, want := range testPayloads() {
		got, err := ReadFrame(r, Config{}, nil)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("frame %d: %v", i, err)
		}
		if i < len(w.writes) && w.writes[i] < HeaderSize+1 {
			t.Fatalf("write %d too short", i)
		}
	}
}

func TestRecvErrorBeforeFrameIsNotSticky(t *testing.T) {
	r := &scriptedReader{steps: []readStep{
		{err: errors.New("timeout")},
		{data: getRootFrame},
	}}
	ch := NewSplit(r, io.Discard, nil, Config{})
	if _, err := ch.Recv(); err == nil {
		t.Fatal("Recv succeeded")
	}
	if p, err := ch.Recv(); err != nil || !bytes.Equal(p, getRoot) {
		t.Fatalf("Recv after a clean failure = %q, %v", p, err)
	}
}

type readStep struct {
	data []byte
	err  error
}

type scriptedReader struct{ steps []readStep }

func (s *scriptedReader) Read(p []byte) (int, error) {
	if len(s.steps) == 0 {
		return 0, io.EOF
	}
	st := &s.steps[0]
	if st.err != nil {
		err := st.err
		s.steps = s.steps[1:]
		return 0, err
	}
	n := copy(p, st.data)
	st.data = st.data[n:]
	if len(st.data) == 0 {
		s.steps = s.steps[1:]
	}
	return n, nil
}
