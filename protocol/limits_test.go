package protocol_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/gorpyc/rpyc/brine"
	"github.com/gorpyc/rpyc/channel"
	"github.com/gorpyc/rpyc/compat"
	"github.com/gorpyc/rpyc/protocol"
	"github.com/gorpyc/rpyc/pyobj"
)

// bulkService returns large values, for the output limits.
type bulkService struct{}

// Blob returns n bytes.
func (bulkService) Blob(n int) []byte { return bytes.Repeat([]byte{'x'}, n) }

// rawPeer is the far end of a net.Pipe, speaking v5 frames by hand. net.Pipe has no buffer: a
// write blocks until the other side reads, so "the connection stopped reading" shows at once.
type rawPeer struct {
	nc net.Conn
	ch *channel.Channel
}

func newServed(t *testing.T, root any, cfg protocol.Config) (*protocol.Conn, *rawPeer) {
	t.Helper()
	a, b := net.Pipe()
	conn := protocol.New(channel.New(a, cfg.Channel), root, cfg, protocol.WithObjects(pyobj.Handler{}))
	t.Cleanup(func() { conn.Close(); b.Close() })
	return conn, &rawPeer{nc: b, ch: channel.New(b, channel.Config{DisableCompression: true})}
}

// request writes one request frame, giving up after d (the server does not read).
func (p *rawPeer) request(t *testing.T, seq int64, h compat.Handler, args brine.Tuple, d time.Duration) error {
	t.Helper()
	msg, err := compat.V5.AppendMessage(nil, compat.MsgRequest, seq,
		brine.Tuple{int64(h), brine.Tuple{int64(compat.LabelValue), args}})
	if err != nil {
		t.Fatal(err)
	}
	_ = p.nc.SetWriteDeadline(time.Now().Add(d))
	defer p.nc.SetWriteDeadline(time.Time{})
	return p.ch.Send(msg)
}

// TestReplyBackpressure: a peer that sends requests and never reads the answers stops being
// served once MaxQueuedOutput bytes of replies wait (or MaxInflight handlers hold answers not yet
// written), instead of making the connection hold every reply; when it reads again, every answer
// arrives.
func TestReplyBackpressure(t *testing.T) {
	cfg := protocol.DefaultConfig()
	cfg.MaxQueuedOutput = 300 << 10
	cfg.MaxInflight = 8
	_, peer := newServed(t, bulkService{}, cfg)
	const blob = 100 << 10
	// GETROOT first, answered: the root is exported as the first object (instance id 1).
	if err := peer.request(t, 0, compat.HandleGetRoot, brine.Tuple{}, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	reply, err := peer.ch.Recv()
	if err != nil {
		t.Fatal(err)
	}
	_, _, body, err := compat.V5.ParseMessage(reply)
	if err != nil {
		t.Fatal(err)
	}
	rootID := body.(brine.Tuple)[1]
	callBlob := func(seq int64, d time.Duration) error {
		msg, err := compat.V5.AppendMessage(nil, compat.MsgRequest, seq, brine.Tuple{int64(compat.HandleCallAttr),
			brine.Tuple{int64(compat.LabelTuple), brine.Tuple{
				brine.Tuple{int64(compat.LabelLocalRef), rootID},
				brine.Tuple{int64(compat.LabelValue), "blob"},
				brine.Tuple{int64(compat.LabelValue), brine.Tuple{int64(blob)}},
				brine.Tuple{int64(compat.LabelValue), brine.Tuple{}},
			}}})
		if err != nil {
			t.Fatal(err)
		}
		_ = peer.nc.SetWriteDeadline(time.Now().Add(d))
		defer peer.nc.SetWriteDeadline(time.Time{})
		return peer.ch.Send(msg)
	}
	sent := 0
	for seq := int64(1); seq <= 40; seq++ {
		if err := callBlob(seq, 500*time.Millisecond); err != nil {
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("request %d: %v", seq, err)
			}
			break
		}
		sent++
	}
	// The reader stops once the queued replies pass 300 KiB (the 4th answer) or, if it outran
	// the handlers, once MaxInflight (8) of them hold answers: then the RuntimeError for the 9th
	// blocks the reader itself.
	if sent > 9 {
		t.Fatalf("the connection read %d requests whose answers were not read; want at most 9", sent)
	}
	t.Logf("stopped reading after %d requests with unread 100 KiB answers", sent)
	// Reading again resumes service: every request sent gets an answer (the full blob, or a
	// RuntimeError beyond MaxInflight).
	got := 0
	_ = peer.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	for got < sent {
		p, err := peer.ch.Recv()
		if err != nil {
			t.Fatalf("after %d answers: %v", got, err)
		}
		msg, _, body, err := compat.V5.ParseMessage(p)
		switch {
		case err != nil:
			t.Fatalf("answer %d: %v", got, err)
		case msg == compat.MsgReply:
			if b, _ := body.(brine.Tuple)[1].([]byte); len(b) != blob {
				t.Fatalf("answer %d has %d bytes", got, len(b))
			}
		case msg != compat.MsgException:
			t.Fatalf("answer %d is %v", got, msg)
		}
		got++
	}
	if err := callBlob(100, 5*time.Second); err != nil {
		t.Fatalf("after draining, a new request was not read: %v", err)
	}
}

// eventually waits up to 5 s for cond.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestSharedBudget: a message that does not fit the shared budget closes its connection with
// ErrLimit; a message that fits is served, and the budget returns to zero once it is handled.
func TestSharedBudget(t *testing.T) {
	budget := protocol.NewBudget(64 << 10)
	cfg := protocol.DefaultConfig()
	cfg.Budget = budget
	conn, peer := newServed(t, bulkService{}, cfg)
	if err := peer.request(t, 0, compat.HandlePing, brine.Tuple{"small"}, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := peer.ch.Recv(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the PING's charge to be released", func() bool { return budget.Used() == 0 })
	if budget.Peak() == 0 {
		t.Fatal("the PING was not charged to the budget")
	}
	big := string(bytes.Repeat([]byte{'y'}, 100<<10))
	_ = peer.request(t, 1, compat.HandlePing, brine.Tuple{big}, 5*time.Second)
	select {
	case <-conn.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the connection did not close on a message over the shared budget")
	}
	if err := conn.Err(); !errors.Is(err, protocol.ErrLimit) || !errors.Is(err, protocol.ErrClosed) {
		t.Fatalf("Err() = %v, want ErrLimit and ErrClosed", err)
	}
	eventually(t, "the budget to return to zero", func() bool { return budget.Used() == 0 })
}

// TestDecodedSizeLimit: a message that would decode into more than MaxDecodedSize (here a PING
// of a tuple of 20 million one-byte ints: 20 MB of payload, 320 MB of Go values, over the default
// 256 MiB) closes the connection with ErrLimit, without building the value.
func TestDecodedSizeLimit(t *testing.T) {
	cfg := protocol.DefaultConfig()
	conn, peer := newServed(t, nil, cfg)
	const n = 20_000_000
	payload := []byte{0x12, 0x51, 0x50, 0x11, 0x51, 0x11, 0x51, 0x10, byte(brine.TagTupL4)} // (REQUEST, 0, (PING, (VALUE, (tuple,))))
	payload = binary.BigEndian.AppendUint32(payload, n)
	payload = append(payload, bytes.Repeat([]byte{0x51}, n)...)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	go func() { _ = peer.ch.Send(payload) }()
	select {
	case <-conn.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the connection did not close on a message over MaxDecodedSize")
	}
	runtime.ReadMemStats(&after)
	if err := conn.Err(); !errors.Is(err, protocol.ErrLimit) || !errors.Is(err, brine.ErrTooLarge) {
		t.Fatalf("Err() = %v, want ErrLimit wrapping brine.ErrTooLarge", err)
	}
	// The payload itself (20 MB, sent and received) and its frame are the only large allocations.
	if grown := after.TotalAlloc - before.TotalAlloc; grown > 64<<20 {
		t.Fatalf("refusing the message allocated %d MB", grown>>20)
	}
}
