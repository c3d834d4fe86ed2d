//go:build unix

package channel_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorpyc/rpyc/channel"
	"github.com/gorpyc/rpyc/internal/interop"
)

// countingConn counts the bytes that cross a connection, to tell compressed frames from raw ones.
type countingConn struct {
	net.Conn
	read, written atomic.Int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.read.Add(int64(n))
	return n, err
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.written.Add(int64(n))
	return n, err
}

// startChannelPeer starts tox-interop/brine_peer.py under p and connects a Channel with cfg to it.
// The whole exchange must finish within a minute.
func startChannelPeer(t *testing.T, p interop.Peer, cfg channel.Config) (*channel.Channel, *countingConn) {
	t.Helper()
	proc := p.Start(t, "brine_peer.py")
	conn, err := proc.Dial(30 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.SetDeadline(time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	cc := &countingConn{Conn: conn}
	ch := channel.New(cc, cfg)
	t.Cleanup(func() {
		_ = ch.Send([]byte("Q"))
		_ = ch.Close()
	})
	return ch, cc
}

// echoPayload returns a frame payload of exactly size bytes for the Python echo command: empty,
// or "B" followed by random (incompressible) or repetitive bytes.
func echoPayload(r *rand.Rand, size int, repetitive bool) []byte {
	b := make([]byte, size)
	if size == 0 {
		return b
	}
	b[0] = 'B'
	for i := 1; i < size; i++ {
		if repetitive {
			b[i] = "gorpyc repetitive payload. "[i%27]
		} else {
			b[i] = byte(r.Uint32())
		}
	}
	return b
}

// concurrentPayload is frame seq of sender g in the concurrent phase: "B", g, seq (u16be), then a
// body whose length (0..5999, so some frames cross the compression threshold) and content derive
// from (g, seq), so the receiver can check an echo without shared state.
func concurrentPayload(g, seq int) []byte {
	r := rand.New(rand.NewPCG(uint64(g), uint64(seq)))
	body := make([]byte, r.IntN(6000))
	for i := range body {
		if r.IntN(4) == 0 {
			body[i] = byte(r.Uint32())
		} else {
			body[i] = 'a' + byte(i%7)
		}
	}
	p := []byte{'B', byte(g), 0, 0}
	binary.BigEndian.PutUint16(p[2:], uint16(seq))
	return append(p, body...)
}

func TestInteropFramesGoFirst(t *testing.T) {
	modes := []struct {
		name string
		cfg  channel.Config
	}{
		{"compressed", channel.Config{}},
		{"uncompressed", channel.Config{DisableCompression: true}},
	}
	interop.ForEachPeer(t, func(t *testing.T, p interop.Peer) {
		for _, mode := range modes {
			t.Run(mode.name, func(t *testing.T) {
				ch, cc := startChannelPeer(t, p, mode.cfg)
				r := rand.New(rand.NewPCG(1, 2))
				cases := []struct {
					size       int
					repetitive bool
				}{
					{0, true}, {1, true}, {2, false}, {2999, false}, {3000, false}, {3001, false},
					{3001, true}, {3002, false}, {64000, true}, {70000, false},
					{1 << 20, false}, {1 << 20, true},
				}
				for _, c := range cases {
					want := echoPayload(r, c.size, c.repetitive)
					r0, w0 := cc.read.Load(), cc.written.Load()
					if err := ch.Send(want); err != nil {
						t.Fatalf("size %d: send: %v", c.size, err)
					}
					got, err := ch.Recv()
					if err != nil {
						t.Fatalf("size %d: recv: %v", c.size, err)
					}
					if !bytes.Equal(got, want) {
						t.Fatalf("size %d (repetitive %v): echo differs: got %d bytes", c.size, c.repetitive, len(got))
					}
					read, written := cc.read.Load()-r0, cc.written.Load()-w0
					if c.size == 1<<20 && c.repetitive {
						// Python compresses whatever exceeds 3000 bytes; Go only when enabled.
						if read > 64<<10 {
							t.Errorf("Python's echo of a repetitive 1 MiB payload took %d bytes: not compressed?", read)
						}
						if mode.cfg.DisableCompression && written < 1<<20 {
							t.Errorf("wrote %d bytes for a 1 MiB payload with compression disabled", written)
						}
						if !mode.cfg.DisableCompression && written > 64<<10 {
							t.Errorf("wrote %d bytes for a repetitive 1 MiB payload: not compressed?", written)
						}
					}
					if c.size <= 3000 && (read != int64(c.size)+6 || written != int64(c.size)+6) {
						t.Errorf("size %d: %d bytes written, %d read; want %d each (raw frames)", c.size, written, read, c.size+6)
					}
				}

				// 8 goroutines send 25 frames each while this one reads the echoes.
				const senders, perSender = 8, 25
				errs := make(chan error, senders)
				var wg sync.WaitGroup
				for g := range senders {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for seq := range perSender {
							if err := ch.Send(concurrentPayload(g, seq)); err != nil {
								errs <- fmt.Errorf("sender %d frame %d: %w", g, seq, err)
								return
							}
						}
					}()
				}
				next := make([]int, senders)
				for i := range senders * perSender {
					got, err := ch.Recv()
					if err != nil {
						t.Fatalf("concurrent echo %d: recv: %v", i, err)
					}
					if len(got) < 4 || got[0] != 'B' || int(got[1]) >= senders {
						t.Fatalf("concurrent echo %d: bad header %x", i, got[:min(len(got), 4)])
					}
					g, seq := int(got[1]), int(binary.BigEndian.Uint16(got[2:]))
					if seq != next[g] {
						t.Fatalf("concurrent echo %d: sender %d frame %d arrived, want frame %d", i, g, seq, next[g])
					}
					next[g]++
					if !bytes.Equal(got, concurrentPayload(g, seq)) {
						t.Fatalf("concurrent echo %d: sender %d frame %d differs", i, g, seq)
					}
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					t.Error(err)
				}
				t.Logf("%d bytes written, %d read", cc.written.Load(), cc.read.Load())
			})
		}
	})
}

func TestInteropFramesPythonFirst(t *testing.T) {
	// Must match SIZES and pattern() in tox-interop/brine_peer.py.
	sizes := []int{0, 1, 2999, 3000, 3001, 65536, 70000, 200000, 1 << 20}
	const seed, count = 7, 20
	interop.ForEachPeer(t, func(t *testing.T, p interop.Peer) {
		ch, cc := startChannelPeer(t, p, channel.Config{})
		if err := ch.Send(fmt.Appendf(nil, "P%d %d", seed, count)); err != nil {
			t.Fatal(err)
		}
		total := 0
		for k := range count {
			got, err := ch.Recv()
			if err != nil {
				t.Fatalf("frame %d: recv: %v", k, err)
			}
			size := sizes[k%len(sizes)]
			if len(got) != size {
				t.Fatalf("frame %d: %d bytes, want %d", k, len(got), size)
			}
			for i, b := range got {
				if want := byte((i*31 + seed + k) % 251); b != want {
					t.Fatalf("frame %d: byte %d is %#x, want %#x", k, i, b, want)
				}
			}
			total += size
			if err := ch.Send(got); err != nil {
				t.Fatalf("frame %d: echo: %v", k, err)
			}
		}
		verdict, err := ch.Recv()
		if err != nil {
			t.Fatalf("verdict: %v", err)
		}
		if want := fmt.Sprintf("Rok %d", count); string(verdict) != want {
			t.Errorf("Python verdict %q, want %q", verdict, want)
		}
		// The patterns compress well, so Python's frames over 3000 bytes must have been compressed.
		if read := cc.read.Load(); read > int64(total)/4 {
			t.Errorf("read %d bytes for %d bytes of payload: Python did not compress?", read, total)
		}
		t.Logf("%d frames, %d payload bytes, %d bytes read, %d written", count, total, cc.read.Load(), cc.written.Load())
	})
}
