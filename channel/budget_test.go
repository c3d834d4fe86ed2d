package channel_test

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorpyc/rpyc/channel"
)

// testBudget is a channel.Budget that records what is held.
type testBudget struct {
	limit, used, peak atomic.Int64
}

func (b *testBudget) Reserve(n int64) bool {
	if b.used.Add(n) > b.limit.Load() {
		b.used.Add(-n)
		return false
	}
	if u := b.used.Load(); u > b.peak.Load() {
		b.peak.Store(u)
	}
	return true
}

func (b *testBudget) Release(n int64) { b.used.Add(-n) }

// TestReaderBudget: large frames are charged to Config.Budget while their payload is the
// caller's, and a frame that does not fit fails with ErrBudget; small frames are not charged.
func TestReaderBudget(t *testing.T) {
	for _, tc := range []struct {
		name       string
		compressed bool
	}{{"raw", false}, {"compressed", true}} {
		t.Run(tc.name, func(t *testing.T) {
			b := &testBudget{}
			b.limit.Store(2 << 20) // a raw frame holds its pieces and the joined payload for a moment
			a, c := net.Pipe()
			r := channel.New(a, channel.Config{Budget: b})
			w := channel.New(c, channel.Config{DisableCompression: !tc.compressed})
			defer r.Close()
			defer w.Close()
			send := func(p []byte) { go func() { _ = w.Send(p) }() }

			send([]byte("small"))
			if _, err := r.Recv(); err != nil || b.used.Load() != 0 {
				t.Fatalf("small frame: %v, %d bytes charged", err, b.used.Load())
			}
			mid := bytes.Repeat([]byte{'a'}, 600<<10) // fits
			send(mid)
			p, err := r.Recv()
			if err != nil || !bytes.Equal(p, mid) {
				t.Fatalf("600 KiB frame: %v", err)
			}
			if held := b.used.Load(); held < int64(len(mid)) || held > 1<<20 { // the payload only, pieces given back
				t.Fatalf("600 KiB payload held as %d bytes of the budget", held)
			}
			send([]byte("next"))
			if _, err := r.Recv(); err != nil || b.used.Load() != 0 {
				t.Fatalf("the next Recv did not give the payload's charge back: %v, %d", err, b.used.Load())
			}
			big := bytes.Repeat([]byte{'b'}, 3<<20) // does not fit
			send(big)
			if _, err := r.Recv(); !errors.Is(err, channel.ErrBudget) {
				t.Fatalf("3 MiB frame with a 2 MiB budget: %v, want ErrBudget", err)
			}
			if b.used.Load() != 0 {
				t.Fatalf("a refused frame holds %d bytes of the budget", b.used.Load())
			}
		})
	}
}

// TestWriteTimeout: a Send to a peer that never reads fails within WriteTimeout, and the
// channel is unusable afterwards.
func TestWriteTimeout(t *testing.T) {
	a, b := net.Pipe() // unbuffered: a write blocks until the other side reads
	defer b.Close()
	w := channel.New(a, channel.Config{WriteTimeout: 200 * time.Millisecond})
	defer w.Close()
	start := time.Now()
	err := w.Send([]byte("nobody reads this"))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Send to a peer that does not read: %v, want os.ErrDeadlineExceeded", err)
	}
	if d := time.Since(start); d < 90*time.Millisecond || d > 5*time.Second {
		t.Fatalf("Send gave up after %v, want about 200 ms", d)
	}
}

// sizedBudget is a testBudget that tells its size, as protocol.Budget does.
type sizedBudget struct{ testBudget }

func (b *sizedBudget) Limit() int64 { return b.limit.Load() }

// TestBombHoldsNoBudget: a compressed frame that inflates past the whole of a budget that tells
// its size is refused without holding that budget while it is counted, so that the other
// connections sharing it are not refused meanwhile (a budget that does not tell its size is
// reserved as the count goes, and the bomb is refused all the same).
func TestBombHoldsNoBudget(t *testing.T) {
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestSpeed)
	_, _ = zw.Write(make([]byte, 32<<20)) // 32 MiB of zeros, about 150 KB compressed
	_ = zw.Close()
	frame := binary.BigEndian.AppendUint32(nil, uint32(z.Len()))
	frame = append(append(append(frame, 1), z.Bytes()...), channel.Flusher)

	sized := &sizedBudget{}
	unsized := &testBudget{}
	for _, tc := range []struct {
		name  string
		b     channel.Budget
		stats *testBudget
	}{{"sized", sized, &sized.testBudget}, {"unsized", unsized, unsized}} {
		t.Run(tc.name, func(t *testing.T) {
			tc.stats.limit.Store(8 << 20)
			r := channel.NewSplit(bytes.NewReader(frame), io.Discard, nil, channel.Config{Budget: tc.b})
			defer r.Close()
			if _, err := r.Recv(); !errors.Is(err, channel.ErrBudget) {
				t.Fatalf("a 32 MiB bomb with an 8 MiB budget: %v, want ErrBudget", err)
			}
			if u := tc.stats.used.Load(); u != 0 {
				t.Fatalf("the refused bomb still holds %d bytes", u)
			}
			peak := tc.stats.peak.Load()
			t.Logf("%s budget: peak held while counting: %d bytes", tc.name, peak)
			if tc.name == "sized" && peak > 4<<20 {
				t.Fatalf("counting the bomb held %d bytes of a budget that tells its size (want at most the first 4 MiB output buffer)", peak)
			}
			if tc.name == "unsized" && peak < 6<<20 {
				t.Fatalf("an unsized budget held only %d bytes while counting: the reserving path was not taken", peak)
			}
		})
	}
}
