package channel

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"
)

// Tests for the reader's defences against hostile peers: zlib bombs, frames that never finish
// (FrameTimeout), and headers that lie about their length.

// zeroBomb returns a zlib stream of n zero bytes (about n/1000 bytes long).
func zeroBomb(t testing.TB, n int) []byte {
	t.Helper()
	var zb bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&zb, zlib.BestCompression)
	zeros := make([]byte, 64<<10)
	for n > 0 {
		k := min(n, len(zeros))
		zw.Write(zeros[:k])
		n -= k
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return zb.Bytes()
}

// A zlib bomb is refused with ErrMessageTooLarge having allocated far less than
// MaxMessageSize, and a stream inflating to exactly the limit costs about the limit.
func TestZlibBombMemory(t *testing.T) {
	const limit = 4 << 20
	cfg := Config{MaxMessageSize: limit}
	bomb := zeroBomb(t, 16<<20) // 16 MiB of zeros in about 16 KB
	bombFrame := frame(uint32(len(bomb)), 1, bomb, Flusher)
	atLimit := zeroBomb(t, limit)
	atLimitFrame := frame(uint32(len(atLimit)), 1, atLimit, Flusher)
	t.Logf("bomb: %d bytes on the wire for 16 MiB; %d bytes for %d", len(bomb), len(atLimit), limit)

	readers := map[string]func(f []byte) ([]byte, error){
		"Recv": func(f []byte) ([]byte, error) {
			return New(&readOnly{bytes.NewReader(f)}, cfg).Recv()
		},
		"ReadFrame": func(f []byte) ([]byte, error) {
			return ReadFrame(bytes.NewReader(f), cfg, nil)
		},
		"ParseFrame": func(f []byte) ([]byte, error) {
			p, _, err := ParseFrame(f, cfg)
			return p, err
		},
	}
	for name, read := range readers {
		t.Run(name, func(t *testing.T) {
			var err error
			n := allocated(func() { _, err = read(bombFrame) })
			if !errors.Is(err, ErrMessageTooLarge) {
				t.Fatalf("bomb: %v, want ErrMessageTooLarge", err)
			}
			t.Logf("bomb refused after %d bytes allocated (limit %d)", n, limit)
			if n > limit*13/10 {
				t.Errorf("bomb: %d bytes allocated, more than 1.3 x the %d-byte limit", n, limit)
			}
			if n > 1<<20 {
				t.Errorf("bomb: %d bytes allocated; the output should not be allocated at all", n)
			}

			var p []byte
			n = allocated(func() { p, err = read(atLimitFrame) })
			if err != nil || len(p) != limit || cap(p) > limit {
				t.Fatalf("at the limit: %d bytes (cap %d), %v", len(p), cap(p), err)
			}
			t.Logf("at the limit: %d bytes allocated", n)
			if n > limit*13/10 {
				t.Errorf("at the limit: %d bytes allocated, more than 1.3 x the %d-byte limit", n, limit)
			}
		})
	}
}

// Four bombs at once cost little more than one: nothing is allocated for their output.
func TestConcurrentZlibBombs(t *testing.T) {
	const limit = 8 << 20
	bomb := zeroBomb(t, 32<<20)
	f := frame(uint32(len(bomb)), 1, bomb, Flusher)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	n := allocated(func() {
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = New(&readOnly{bytes.NewReader(f)}, Config{MaxMessageSize: limit}).Recv()
			}()
		}
		wg.Wait()
	})
	for _, err := range errs {
		if !errors.Is(err, ErrMessageTooLarge) {
			t.Fatalf("Recv = %v, want ErrMessageTooLarge", err)
		}
	}
	t.Logf("4 concurrent bombs: %d bytes allocated (limit %d each)", n, limit)
	if n > 4<<20 {
		t.Errorf("4 concurrent bombs allocated %d bytes", n)
	}
}

// Compressed payloads larger than the reader's buffer are decompressed twice (counted, then
// written into a slice of their size): check the contents, the corruption checks of the first
// pass, and that buffers beyond maxRetained are not kept.
func TestLargeCompressedPayloads(t *testing.T) {
	var stream bytes.Buffer
	w := New(&stream, Config{})
	sizes := []int{200 << 10, 8 << 20, 300 << 10, 310 << 10, 5 << 20, 100, 3 << 20}
	var payloads [][]byte
	for i, n := range sizes {
		p := benchText(n)
		p[0] = byte(i)
		payloads = append(payloads, p)
		if err := w.Send(p); err != nil {
			t.Fatal(err)
		}
	}
	r := New(&readOnly{bytes.NewReader(stream.Bytes())}, Config{})
	for i, want := range payloads {
		var got []byte
		var err error
		n := allocated(func() { got, err = r.Recv() })
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("payload %d (%d bytes): %d bytes, %v", i, len(want), len(got), err)
		}
		t.Logf("%d-byte payload: %d bytes allocated, cap %d", len(want), n, cap(got))
		if n > uint64(len(want))*13/10+1<<20 {
			t.Errorf("%d-byte payload: %d bytes allocated", len(want), n)
		}
		if len(want) <= maxRetained && cap(got) > maxRetained {
			t.Errorf("%d-byte payload in a %d-byte buffer", len(want), cap(got))
		}
	}
	if cap(r.rbuf) > maxRetained {
		// dropped at the next Recv
		if _, err := r.Recv(); err != io.EOF {
			t.Fatal(err)
		}
		if r.rbuf != nil && cap(r.rbuf) > maxRetained {
			t.Errorf("a %d-byte buffer is retained", cap(r.rbuf))
		}
	}

	// The first pass checks the whole stream, also when the output does not fit.
	good := zlibBytes(t, benchText(300<<10), 1)
	badSum := append([]byte(nil), good...)
	badSum[len(badSum)-1] ^= 0xff
	for name, z := range map[string][]byte{"bad checksum": badSum, "truncated": good[:len(good)-100]} {
		f := frame(uint32(len(z)), 1, z, Flusher)
		if _, _, err := ParseFrame(f, Config{}); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: ParseFrame = %v, want ErrCorrupt", name, err)
		}
		if _, err := New(&readOnly{bytes.NewReader(f)}, Config{}).Recv(); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: Recv = %v, want ErrCorrupt", name, err)
		}
	}
}

// tcpPair returns both ends of a TCP connection over the loopback interface.
func tcpPair(t *testing.T) (net.Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s := <-accepted
	if s == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return c, s
}

// transports returns a writer and a reader with read deadlines, connected.
var transports = map[string]func(t *testing.T) (io.Writer, io.ReadCloser){
	"tcp": func(t *testing.T) (io.Writer, io.ReadCloser) {
		a, b := tcpPair(t)
		return a, b
	},
	"net.Pipe": func(t *testing.T) (io.Writer, io.ReadCloser) {
		a, b := net.Pipe()
		t.Cleanup(func() { a.Close(); b.Close() })
		// net.Pipe writes block until read: write from a goroutine.
		return asyncWriter{a}, b
	},
	"os.Pipe": func(t *testing.T) (io.Writer, io.ReadCloser) {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close(); w.Close() })
		return w, r
	},
}

// asyncWriter writes in the background.
type asyncWriter struct{ w io.Writer }

func (a asyncWriter) Write(p []byte) (int, error) {
	p = append([]byte(nil), p...)
	go a.w.Write(p)
	return len(p), nil
}

// A peer that sends a header declaring 60 MiB (or half a zlib bomb) and stalls costs only what
// it sent, and Recv fails with ErrFrameTimeout once FrameTimeout has passed.
func TestFrameTimeoutStalledFrame(t *testing.T) {
	const timeout = 200 * time.Millisecond
	bomb := zeroBomb(t, 64<<20)
	stalls := map[string][]byte{
		"raw 60 MiB":        append(frame(60<<20, 0, nil, Flusher)[:HeaderSize], "0123456789"...),
		"compressed 60 MiB": append(frame(60<<20, 1, nil, Flusher)[:HeaderSize], zlibBytes(t, []byte("short"), 1)...),
		"half a bomb":       append(frame(uint32(len(bomb)), 1, nil, Flusher)[:HeaderSize], bomb[:len(bomb)/2]...),
		"half a header":     {0, 0, 1},
	}
	for tname, pair := range transports {
		for sname, sent := range stalls {
			t.Run(tname+"/"+sname, func(t *testing.T) {
				w, r := pair(t)
				if _, err := w.Write(sent); err != nil {
					t.Fatal(err)
				}
				ch := NewSplit(r, io.Discard, r, Config{FrameTimeout: timeout})
				var err error
				start := time.Now()
				n := allocated(func() { _, err = ch.Recv() })
				elapsed := time.Since(start)
				if !errors.Is(err, ErrFrameTimeout) || !errors.Is(err, os.ErrDeadlineExceeded) {
					t.Fatalf("Recv = %v, want ErrFrameTimeout", err)
				}
				t.Logf("%d bytes sent; Recv failed after %v, %d bytes allocated: %v", len(sent), elapsed.Round(time.Millisecond), n, err)
				if elapsed < timeout || elapsed > timeout+5*time.Second {
					t.Errorf("Recv failed after %v, timeout %v", elapsed, timeout)
				}
				if n > 1<<20 {
					t.Errorf("a stalled frame cost %d bytes", n)
				}
				// Sticky: the stream is mid-frame.
				start = time.Now()
				if _, err2 := ch.Recv(); err2 != err || time.Since(start) > timeout/2 {
					t.Errorf("second Recv = %v after %v, want the same error at once", err2, time.Since(start))
				}
			})
		}
	}
	// ReadFrame applies FrameTimeout too when the reader has deadlines.
	w, r := tcpPair(t)
	w.Write(stalls["raw 60 MiB"])
	start := time.Now()
	if _, err := ReadFrame(r, Config{FrameTimeout: timeout}, nil); !errors.Is(err, ErrFrameTimeout) {
		t.Fatalf("ReadFrame = %v, want ErrFrameTimeout", err)
	}
	if elapsed := time.Since(start); elapsed < timeout {
		t.Errorf("ReadFrame failed after %v", elapsed)
	}
}

// A slowloris peer, sending one byte of a frame every 100 ms, is cut off after FrameTimeout
// although every read makes progress.
func TestFrameTimeoutSlowloris(t *testing.T) {
	const timeout = 500 * time.Millisecond
	w, r := tcpPair(t)
	f := mustAppend(t, bytes.Repeat([]byte("slow"), 16), Config{})
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for _, b := range f {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			if _, err := w.Write([]byte{b}); err != nil {
				return
			}
		}
	}()
	ch := New(r, Config{FrameTimeout: timeout})
	start := time.Now()
	_, err := ch.Recv()
	elapsed := time.Since(start)
	if !errors.Is(err, ErrFrameTimeout) {
		t.Fatalf("Recv = %v, want ErrFrameTimeout", err)
	}
	// The clock starts with the first byte, 100 ms in.
	t.Logf("slowloris cut off after %v: %v", elapsed.Round(time.Millisecond), err)
	if elapsed < timeout || elapsed > timeout+5*time.Second {
		t.Errorf("cut off after %v, timeout %v", elapsed, timeout)
	}
}

// Time between frames is not limited, frames split across reads within the timeout arrive,
// and the channel leaves a read deadline set by its user alone.
func TestFrameTimeoutIdleAndSplitFrames(t *testing.T) {
	const (
		timeout = 400 * time.Millisecond
		idle    = timeout + 200*time.Millisecond // longer than FrameTimeout
		pause   = 40 * time.Millisecond          // within a frame, well within FrameTimeout
	)
	for tname, pair := range transports {
		t.Run(tname, func(t *testing.T) {
			w, r := pair(t)
			ch := NewSplit(r, io.Discard, r, Config{FrameTimeout: timeout})
			recv := func(what string, want []byte) {
				t.Helper()
				got, err := ch.Recv()
				if err != nil || !bytes.Equal(got, want) {
					t.Fatalf("%s: Recv = %q, %v", what, got, err)
				}
			}
			later := func(d time.Duration, b []byte) {
				go func() {
					time.Sleep(d)
					w.Write(b)
				}()
			}
			big := benchText(200 << 10) // compressed, several reads
			bigFrame := mustAppend(t, big, Config{})

			w.Write(getRootFrame)
			recv("first frame", getRoot)
			later(idle, getRootFrame)
			recv("after idling longer than FrameTimeout", getRoot)
			w.Write(bigFrame[:3])
			later(pause, bigFrame[3:])
			recv("split header", big)
			w.Write(bigFrame[:len(bigFrame)/2])
			later(pause, bigFrame[len(bigFrame)/2:])
			recv("split payload", big)
			later(idle, getRootFrame) // no deadline was left behind
			recv("idle after split frames", getRoot)

			// A deadline set by the user applies while waiting for a frame and is not sticky.
			d, ok := r.(deadliner)
			if !ok {
				t.Fatalf("%T has no SetReadDeadline", r)
			}
			d.SetReadDeadline(time.Now().Add(pause))
			if _, err := ch.Recv(); !errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, ErrFrameTimeout) {
				t.Fatalf("Recv with the user's deadline = %v", err)
			}
			d.SetReadDeadline(time.Time{})
			w.Write(getRootFrame)
			recv("after the user's deadline", getRoot)
		})
	}
}

// A split frame whose halves are further apart than FrameTimeout.
func splitFrame(t *testing.T, w io.Writer, pause time.Duration) {
	t.Helper()
	f := mustAppend(t, benchText(10<<10), Config{})
	w.Write(f[:len(f)/2])
	go func() {
		time.Sleep(pause)
		w.Write(f[len(f)/2:])
	}()
}

// failingDeadline is a transport whose SetReadDeadline always fails, like a non-pollable file.
type failingDeadline struct {
	io.Reader
	calls int
}

func (f *failingDeadline) SetReadDeadline(time.Time) error { f.calls++; return os.ErrNoDeadline }

// FrameTimeout is off when negative, and not enforced on transports without working deadlines:
// slow frames then arrive whole.
func TestFrameTimeoutNotEnforced(t *testing.T) {
	const timeout = 50 * time.Millisecond
	pr, pw := io.Pipe()
	defer pr.Close()
	go splitFrame(t, pw, 4*timeout)
	ch := NewSplit(pr, io.Discard, nil, Config{FrameTimeout: timeout})
	if ch.timer != nil {
		t.Error("frame timer on an io.Pipe")
	}
	if _, err := ch.Recv(); err != nil {
		t.Fatalf("io.Pipe: %v", err)
	}

	pr2, pw2 := io.Pipe()
	defer pr2.Close()
	fd := &failingDeadline{Reader: pr2}
	go splitFrame(t, pw2, 4*timeout)
	if _, err := NewSplit(fd, io.Discard, nil, Config{FrameTimeout: timeout}).Recv(); err != nil {
		t.Fatalf("failing SetReadDeadline: %v", err)
	}
	if fd.calls == 0 {
		t.Error("the timeout did not try to set the deadline")
	}

	w, r := tcpPair(t)
	ch = New(r, Config{FrameTimeout: -1})
	if ch.Config().FrameTimeout >= 0 || ch.timer != nil {
		t.Errorf("FrameTimeout -1: %v, timer %v", ch.Config().FrameTimeout, ch.timer)
	}
	splitFrame(t, w, 4*timeout)
	if _, err := ch.Recv(); err != nil {
		t.Fatalf("FrameTimeout off: %v", err)
	}
}

// recordingDeadline records the deadlines set on it.
type recordingDeadline struct {
	mu        sync.Mutex
	deadlines []time.Time
}

func (r *recordingDeadline) SetReadDeadline(t time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.deadlines = append(r.deadlines, t)
	return nil
}

// The frame timer touches the deadline only when it fires, and clears it when the frame made it
// anyway (the timer fired as the last byte arrived).
func TestFrameTimerStates(t *testing.T) {
	rd := &recordingDeadline{}
	ft := &frameTimer{d: rd, timeout: time.Hour}
	ft.arm()
	ft.arm() // no-op
	if err := ft.disarm(nil); err != nil || len(rd.deadlines) != 0 {
		t.Fatalf("frame in time: %v, deadlines %v", err, rd.deadlines)
	}
	ft.arm()
	ft.fire()
	if err := ft.disarm(nil); err != nil || len(rd.deadlines) != 2 || !rd.deadlines[0].Before(time.Now()) || !rd.deadlines[1].IsZero() {
		t.Fatalf("frame completed as the timer fired: %v, deadlines %v", err, rd.deadlines)
	}
	ft.fire() // late: disarmed already
	if len(rd.deadlines) != 2 {
		t.Fatalf("a late fire set a deadline")
	}
	ft.arm()
	ft.fire()
	readErr := &net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}
	err := ft.disarm(readErr)
	if !errors.Is(err, ErrFrameTimeout) || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("timed out frame: %v", err)
	}
	other := io.ErrUnexpectedEOF
	ft.arm()
	if err := ft.disarm(other); err != other {
		t.Fatalf("other error changed: %v", err)
	}
	var nilTimer *frameTimer
	nilTimer.arm()
	if err := nilTimer.disarm(other); err != other {
		t.Fatalf("nil timer: %v", err)
	}
}

// A header declaring 4 GiB fails at once over a real connection, before anything else arrives:
// with ErrFrameTooLarge when MaxFrameSize is lower, with ErrBudget when the default MaxFrameSize
// accepts it but the memory budget could not lend it.
func TestHugeHeaderOverTCP(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want error
	}{
		{Config{FrameTimeout: time.Hour, MaxFrameSize: 64 << 20}, ErrFrameTooLarge},
		{Config{FrameTimeout: time.Hour, Budget: &fixedBudget{limit: 128 << 20}}, ErrBudget},
	} {
		w, r := tcpPair(t)
		hdr := binary.BigEndian.AppendUint32(nil, 0xffffffff)
		w.Write(append(hdr, 0))
		ch := New(r, tc.cfg)
		var err error
		n := allocated(func() { _, err = ch.Recv() })
		if !errors.Is(err, tc.want) {
			t.Fatalf("Recv = %v, want %v", err, tc.want)
		}
		if n > 64<<10 {
			t.Errorf("refusing the header allocated %d bytes", n)
		}
	}
}

// fixedBudget is a Budget of limit bytes.
type fixedBudget struct {
	mu          sync.Mutex
	limit, used int64
}

func (b *fixedBudget) Reserve(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.used+n > b.limit {
		return false
	}
	b.used += n
	return true
}

func (b *fixedBudget) Release(n int64) {
	b.mu.Lock()
	b.used -= n
	b.mu.Unlock()
}

// A large frame cut short by the end of the stream is io.ErrUnexpectedEOF, raw or compressed.
func TestLargeFrameTruncated(t *testing.T) {
	raw := mustAppend(t, benchText(1<<20), Config{DisableCompression: true})
	z := mustAppend(t, benchText(4<<20), Config{})
	for name, f := range map[string][]byte{"raw": raw, "compressed": z} {
		for _, cut := range []int{HeaderSize + 1, len(f) / 3, len(f) - 1} {
			_, err := New(&readOnly{bytes.NewReader(f[:cut])}, Config{}).Recv()
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("%s cut at %d of %d: %v, want ErrUnexpectedEOF", name, cut, len(f), err)
			}
		}
	}
}
