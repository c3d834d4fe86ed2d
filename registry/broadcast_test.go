//go:build unix

package registry_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gorpyc/rpyc/internal/interop"
	"github.com/gorpyc/rpyc/registry"
)

// startBroadcastRegistry serves a Go UDP registry on 127.255.255.255, the loopback network's
// broadcast address, so that broadcasting clients reach it without touching a real network.
func startBroadcastRegistry(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.255.255.255:0")
	if err != nil {
		t.Skipf("cannot bind the loopback broadcast address here: %v", err)
	}
	srv := &registry.Server{AllowListing: true}
	go func() { _ = srv.ServePacket(pc) }()
	t.Cleanup(func() { srv.Close() })
	return pc.LocalAddr().String()
}

// TestBroadcastLoopback: the Go UDP client in broadcast mode (a "255" component turns on
// SO_BROADCAST, as in Python) registers, discovers and lists through the loopback broadcast
// address.
func TestBroadcastLoopback(t *testing.T) {
	addr := startBroadcastRegistry(t)
	c := &registry.UDPClient{Addr: addr, Interface: "127.0.0.1"}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Register(ctx, []string{"bcast"}, 4242); err != nil {
		t.Fatalf("Register by broadcast: %v", err)
	}
	eps, err := c.Discover(ctx, "BCAST")
	if err != nil || len(eps) != 1 || eps[0].IP != "127.0.0.1" || eps[0].Port != 4242 {
		t.Fatalf("Discover by broadcast = %v, %v", eps, err)
	}
	names, err := c.List(ctx, "")
	if err != nil || len(names) != 1 || names[0] != "BCAST" {
		t.Fatalf("List by broadcast = %v, %v", names, err)
	}
}

// TestBroadcastLoopbackPython: Python's UDPRegistryClient broadcasting to the loopback broadcast
// address registers with the Go registry and discovers through it.
func TestBroadcastLoopbackPython(t *testing.T) {
	interop.ForEachPeer(t, func(t *testing.T, p interop.Peer) {
		addr := startBroadcastRegistry(t)
		out := p.Run(t, "registry_client.py", "--mode", "udp", "--addr", addr,
			"register", "PYBCAST", "5151", "discover", "pybcast")
		for _, want := range []string{`{"op": "register", "result": true}`,
			`{"op": "discover", "result": [["127.0.0.1", 5151]]}`} {
			if !strings.Contains(out, want) {
				t.Errorf("registry_client.py printed\n%s\nwant a line %s", out, want)
			}
		}
	})
}
