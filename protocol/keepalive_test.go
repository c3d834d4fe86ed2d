package protocol_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorpyc/rpyc/channel"
	"github.com/gorpyc/rpyc/compat"
	"github.com/gorpyc/rpyc/protocol"
	"github.com/gorpyc/rpyc/pyobj"
)

// TestKeepAliveSilentPeer: a peer that accepted the TCP connection but never answers is
// detected by the keepalive within PingInterval+PingTimeout of the last message (here, of the
// start): the pending request and Err report ErrPeerUnresponsive, which is also ErrClosed.
func TestKeepAliveSilentPeer(t *testing.T) {
	cnc, _ := tcpPair(t) // the server side is never read nor written
	cfg := protocol.DefaultConfig()
	cfg.Dialect = compat.V5
	cfg.PingInterval = 100 * time.Millisecond
	cfg.PingTimeout = 150 * time.Millisecond
	c := protocol.New(channel.New(cnc, cfg.Channel), nil, cfg)
	closeAtEnd(t, c, "client connection")
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := c.Request(ctx, compat.HandlePing, "are you there?")
	took := time.Since(start)
	if !errors.Is(err, protocol.ErrPeerUnresponsive) || !errors.Is(err, protocol.ErrClosed) {
		t.Fatalf("the pending request failed with %v, want ErrPeerUnresponsive", err)
	}
	if !errors.Is(c.Err(), protocol.ErrPeerUnresponsive) {
		t.Errorf("Err() = %v, want ErrPeerUnresponsive", c.Err())
	}
	if bound := 10 * (cfg.PingInterval + cfg.PingTimeout); took > bound {
		t.Errorf("the silent peer was detected after %v, want within %v", took, bound)
	}
	t.Logf("detected after %v: %v", took.Round(time.Millisecond), err)
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the connection did not finish after the keepalive closed it")
	}
}

// countingObserver counts what a connection tells its Observer.
type countingObserver struct {
	in, out, requests, closed atomic.Int64
}

func (o *countingObserver) Opened(*protocol.Conn)        {}
func (o *countingObserver) Closed(*protocol.Conn, error) { o.closed.Add(1) }
func (o *countingObserver) Request(ctx context.Context, _ *protocol.Conn, _ compat.Handler, incoming bool) (context.Context, func(error)) {
	if !incoming {
		o.requests.Add(1)
	}
	return ctx, func(error) {}
}
func (o *countingObserver) Transferred(_ *protocol.Conn, _ int, out bool) {
	if out {
		o.out.Add(1)
	} else {
		o.in.Add(1)
	}
}

// TestKeepAliveIdle: two Go peers with the keepalive on both sides, idle for 20 intervals,
// stay connected (each answers the other's pings, from its reader); the user's Observer is
// still told everything, and Closed once.
func TestKeepAliveIdle(t *testing.T) {
	cnc, snc := tcpPair(t)
	const interval = 50 * time.Millisecond
	scfg := protocol.DefaultConfig()
	scfg.PingInterval = interval
	// Short enough that a keepalive blind to received messages (answers included) would close
	// the connection well within the idle time below.
	scfg.PingTimeout = 8 * interval
	server := protocol.New(channel.New(snc, scfg.Channel), nil, scfg, protocol.WithObjects(pyobj.Handler{}))
	closeAtEnd(t, server, "server connection")
	obs := &countingObserver{}
	ccfg := scfg
	ccfg.Dialect = compat.V5
	ccfg.Observer = obs
	client := protocol.New(channel.New(cnc, ccfg.Channel), nil, ccfg, protocol.WithObjects(pyobj.Handler{}))
	time.Sleep(20 * interval)
	if client.Closed() || server.Closed() {
		t.Fatalf("an idle connection was closed: client %v, server %v", client.Err(), server.Err())
	}
	if obs.in.Load() < 2 || obs.out.Load() < 2 {
		t.Errorf("after 20 idle intervals the client received %d and sent %d messages, want pings both ways",
			obs.in.Load(), obs.out.Load())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := client.Ping(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if obs.requests.Load() != 1 {
		t.Errorf("the Observer saw %d outgoing requests, want the one Ping (keepalive pings are not requests of the user's)", obs.requests.Load())
	}
	if err := client.Close(); err != nil {
		t.Fatal(err)
	}
	<-client.Done()
	if n := obs.closed.Load(); n != 1 {
		t.Errorf("Observer.Closed called %d times, want 1", n)
	}
	t.Logf("20 idle intervals: %d messages in, %d out", obs.in.Load(), obs.out.Load())
}
