package registry

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gorpyc/rpyc/brine"
)

// TestRegistryStoreUDP and TestRegistryStoreTCP run a server whose Store is set (an explicit
// MemoryStore), so that writes take the path of a shared store: acknowledged after the Store
// returns, over UDP from a goroutine of their own.
func TestRegistryStoreUDP(t *testing.T) {
	addr := serve(t, &Server{AllowListing: true, Store: NewMemoryStore(time.Minute, 0, 0)}, "udp")
	testClient(t, &UDPClient{Addr: addr, Interface: "127.0.0.1", Timeout: ioTimeout})
}

func TestRegistryStoreTCP(t *testing.T) {
	addr := serve(t, &Server{AllowListing: true, Store: NewMemoryStore(time.Minute, 0, 0)}, "tcp")
	testClient(t, &TCPClient{Addr: addr, Interface: "127.0.0.1", Timeout: ioTimeout})
}

// blockingStore is a Store whose writes wait until release is closed or their context ends:
// a store that stopped answering.
type blockingStore struct {
	*MemoryStore
	release chan struct{}
}

func (b blockingStore) Register(ctx context.Context, now time.Time, ep Entry, names []string) (int, int, error) {
	select {
	case <-b.release:
	case <-ctx.Done():
		return 0, 0, ctx.Err()
	}
	return b.MemoryStore.Register(ctx, now, ep, names)
}

// TestRegistryStorePendingWrites checks that a Store that stops answering costs bounded
// goroutines: beyond MaxPendingWrites, UDP writes are dropped (and logged), QUERY is still
// answered at once, and writes waiting past StoreTimeout get no reply.
func TestRegistryStorePendingWrites(t *testing.T) {
	log, buf := testLogger(t)
	st := blockingStore{NewMemoryStore(time.Minute, 0, 0), make(chan struct{})}
	s := &Server{Store: st, MaxPendingWrites: 2, StoreTimeout: time.Second, Logger: log}
	addr := serve(t, s, "udp")
	c, err := net.Dial("udp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	reg, _ := brine.Append(nil, brine.Tuple{"RPYC", "REGISTER", brine.Tuple{brine.Tuple{"SLOW"}, int64(1)}})
	for range 5 {
		if _, err := c.Write(reg); err != nil {
			t.Fatal(err)
		}
	}
	q, _ := brine.Append(nil, brine.Tuple{"RPYC", "QUERY", brine.Tuple{"SLOW"}})
	if got := udpExchange(t, addr, q); len(got) != 1 || got[0] != 0x02 {
		t.Fatalf("QUERY while writes hang: reply %x, want 02 (empty tuple)", got)
	}
	deadline := time.Now().Add(ioTimeout)
	for !strings.Contains(buf.String(), "too many store writes in progress") {
		if time.Now().After(deadline) {
			t.Fatal("no log line for the dropped writes")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The two pending writes time out (no reply); then writes go through again.
	_ = c.SetReadDeadline(time.Now().Add(1500 * time.Millisecond))
	if n, err := c.Read(make([]byte, 64)); err == nil {
		t.Fatalf("got a %d-byte reply to a write that timed out", n)
	}
	close(st.release)
	if got := udpExchange(t, addr, reg); string(got) != string(okReply) {
		t.Fatalf("REGISTER after the store recovered: reply %x", got)
	}
}
