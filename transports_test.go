//go:build unix

package rpyc_test

import (
	"testing"
	"time"

	"github.com/gorpyc/rpyc/internal/interop"
)

// startServer starts tox-interop/transport_server.py with args (a ThreadedServer of its
// service) under p and returns it with its address.
func startServer(t *testing.T, p interop.Peer, args ...string) (*interop.Process, string) {
	t.Helper()
	proc := p.Start(t, "transport_server.py", args...)
	addr, err := proc.WaitListening(20 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return proc, addr
}
