package registry

import (
	"bytes"
	"context"
	"encoding/hex"
	"log/slog"
	"net"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Bounds for tests: generous, since -race and a busy 2-core machine slow everything down.
const (
	ioTimeout   = 5 * time.Second
	noReplyWait = 300 * time.Millisecond // how long to wait before concluding "no reply"
)

// unhex decodes a hex string, ignoring spaces.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// logBuffer collects log output for assertions.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// testLogger returns a debug-level text logger writing into a buffer, dumped if the test fails.
func testLogger(t testing.TB) (*slog.Logger, *logBuffer) {
	buf := &logBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", buf.String())
		}
	})
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

// serve runs s on network ("udp" or "tcp") at 127.0.0.1:0 and returns the bound address. The
// server is closed when the test ends, and the test fails if it leaves goroutines behind.
func serve(t testing.TB, s *Server, network string) string {
	t.Helper()
	if s.Logger == nil {
		s.Logger, _ = testLogger(t)
	}
	started := make(chan net.Addr, 1)
	s.NotifyStarted = func(a net.Addr) { started <- a }
	errc := make(chan error, 1)
	switch network {
	case "udp":
		pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go func() { errc <- s.ServePacket(pc) }()
	case "tcp":
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go func() { errc <- s.Serve(l) }()
	default:
		t.Fatalf("bad network %q", network)
	}
	var addr string
	select {
	case a := <-started:
		addr = a.String()
	case err := <-errc:
		t.Fatalf("serve: %v", err)
	case <-time.After(ioTimeout):
		t.Fatal("server did not start")
	}
	liveServers.Add(1)
	t.Cleanup(func() {
		defer func() {
			if liveServers.Add(-1) == 0 {
				checkNoLeaks(t) // only once no other test server runs
			}
		}()
		_ = s.Close()
		select {
		case err := <-errc:
			if err != ErrServerClosed {
				t.Errorf("Serve returned %v, want ErrServerClosed", err)
			}
		case <-time.After(ioTimeout):
			t.Errorf("Serve did not return after Close")
		}
	})
	return addr
}

// liveServers counts the servers started by serve and not yet closed.
var liveServers atomic.Int32

// udpExchange sends one datagram to addr and returns the reply, or nil if none arrives within
// noReplyWait.
func udpExchange(t testing.TB, addr string, req []byte) []byte {
	t.Helper()
	c, err := net.Dial("udp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(req); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(noReplyWait))
	buf := make([]byte, 65536)
	n, err := c.Read(buf)
	if err != nil {
		return nil
	}
	return buf[:n]
}

// tcpExchange connects to addr, writes each chunk (pausing between them), and returns
// everything read until the server closes the connection (nil if nothing).
func tcpExchange(t testing.TB, addr string, pause time.Duration, chunks ...[]byte) []byte {
	t.Helper()
	c, err := net.DialTimeout("tcp4", addr, ioTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(ioTimeout))
	for i, ch := range chunks {
		if i > 0 {
			time.Sleep(pause)
		}
		if _, err := c.Write(ch); err != nil {
			return nil // the server may have given up already
		}
	}
	var out []byte
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			return out
		}
	}
}

// leakMarkers identify goroutines started by this package's non-test code.
var leakMarkers = []string{
	"registry.(*Server)",
	"registry.(*UDPClient)",
	"registry.(*TCPClient)",
	"registry.(*AutoRegistration)",
}

// checkNoLeaks fails the test if goroutines of the package's servers or clients are still
// running (after giving them up to ioTimeout to finish).
func checkNoLeaks(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(ioTimeout)
	for {
		leaked := leakedGoroutines()
		if len(leaked) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%d goroutine(s) leaked:\n%s", len(leaked), strings.Join(leaked, "\n\n"))
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func leakedGoroutines() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var leaked []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "_test.go") || strings.Contains(g, "testing.tRunner") {
			continue // a test's own goroutine (which may be calling into the package)
		}
		for _, m := range leakMarkers {
			if strings.Contains(g, m) {
				leaked = append(leaked, g)
				break
			}
		}
	}
	return leaked
}

// ctxTimeout returns a context bounded by d, canceled when the test ends.
func ctxTimeout(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// query returns a copy of name's live entries in the order QUERY answers them (table.live), with
// their registration times, for tests that look at those.
func (t *table) query(now time.Time, name string) []entry {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.live(now, name))
}
