package channel_test

import (
	"bytes"
	"errors"
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
