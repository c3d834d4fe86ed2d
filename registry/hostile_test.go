package registry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorpyc/rpyc/brine"
)

// Hostile peers: scripted raw-socket clients send exact bytes at a Go registry while a healthy
// client keeps querying it. Every case checks that the offender gets an error or a closed
// connection (or, over UDP, no reply), that every healthy QUERY is answered correctly, that the
// server's goroutines return to their baseline, and that the heap stays bounded.
//
// The default (short) mode takes about 20 s; GORPYC_SOAK=1 runs longer and larger attacks.

// soak reports whether the long forms run (make soak).
func soak() bool { return os.Getenv("GORPYC_SOAK") != "" }

// heapBound is how far above its baseline the heap may grow during an attack.
const heapBound = 64 << 20

// healthyClient queries a registry every 50 ms and records the outcome of each QUERY.
type healthyClient struct {
	reg  Registrar
	name string
	want []Endpoint

	mu      sync.Mutex
	n       int
	fails   []string
	checked int // failures reported by check
	maxLat  time.Duration
	latSum  time.Duration
	stop    chan struct{}
	stopped chan struct{}
}

// startHealthy registers name (port 4242) through reg, then queries it every 50 ms until stop.
func startHealthy(t *testing.T, reg Registrar, ip, name string) *healthyClient {
	t.Helper()
	if err := reg.Register(ctxTimeout(t, ioTimeout), []string{name}, 4242); err != nil {
		t.Fatalf("healthy REGISTER: %v", err)
	}
	h := &healthyClient{reg: reg, name: name, want: []Endpoint{{IP: ip, Port: 4242}},
		stop: make(chan struct{}), stopped: make(chan struct{})}
	go h.run()
	t.Cleanup(h.halt)
	return h
}

func (h *healthyClient) run() {
	defer close(h.stopped)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-tick.C:
		}
		start := time.Now()
		eps, err := h.reg.Discover(context.Background(), h.name) // the client's 2 s timeout
		lat := time.Since(start)
		h.mu.Lock()
		h.n++
		h.latSum += lat
		h.maxLat = max(h.maxLat, lat)
		if err != nil || !slices.Equal(eps, h.want) {
			h.fails = append(h.fails, fmt.Sprintf("%s after %v: %v %v", start.Format("15:04:05.000"), lat, eps, err))
		}
		h.mu.Unlock()
	}
}

func (h *healthyClient) halt() {
	select {
	case <-h.stop:
	default:
		close(h.stop)
	}
	<-h.stopped
}

// snapshot returns the number of queries, the failures so far, and the latencies.
func (h *healthyClient) snapshot() (n int, fails []string, maxLat, meanLat time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.n > 0 {
		meanLat = h.latSum / time.Duration(h.n)
	}
	return h.n, slices.Clone(h.fails), h.maxLat, meanLat
}

// reset forgets the latencies (not the failures) so that each case reports its own.
func (h *healthyClient) reset() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.n, h.maxLat, h.latSum = 0, 0, 0
}

// check fails the test if a healthy QUERY failed since the last check, or (with some) if
// there was none.
func (h *healthyClient) check(t *testing.T, what string, some bool) {
	t.Helper()
	n, fails, maxLat, mean := h.snapshot()
	h.mu.Lock()
	fails = fails[h.checked:]
	h.checked += len(fails)
	h.mu.Unlock()
	if n > 0 {
		t.Logf("%s: healthy QUERYs %d/%d answered correctly, latency max %v, mean %v",
			what, n-len(fails), n, maxLat.Round(time.Microsecond), mean.Round(time.Microsecond))
	}
	if len(fails) > 0 {
		t.Errorf("%s: %d healthy QUERY(s) failed; first ones:\n%s", what, len(fails),
			strings.Join(fails[:min(len(fails), 10)], "\n"))
	}
	if some && n == 0 {
		t.Errorf("%s: the healthy client made no QUERY", what)
	}
}

// heapWatch samples HeapInuse until stopped and reports the peak above the baseline.
type heapWatch struct {
	base    uint64
	peak    atomic.Uint64
	stop    chan struct{}
	stopped chan struct{}
}

func watchHeap() *heapWatch {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	w := &heapWatch{base: ms.HeapInuse, stop: make(chan struct{}), stopped: make(chan struct{})}
	w.peak.Store(ms.HeapInuse)
	go func() {
		defer close(w.stopped)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-w.stop:
				return
			case <-tick.C:
			}
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > w.peak.Load() {
				w.peak.Store(ms.HeapInuse)
			}
		}
	}()
	return w
}

// done stops sampling and fails the test if the peak exceeded the bound.
func (w *heapWatch) done(t *testing.T, what string) {
	t.Helper()
	close(w.stop)
	<-w.stopped
	grow := int64(w.peak.Load()) - int64(w.base)
	t.Logf("%s: peak HeapInuse %.1f MiB above the baseline (%.1f MiB)", what, float64(grow)/(1<<20), float64(w.base)/(1<<20))
	if grow > heapBound {
		t.Errorf("%s: heap grew by %d MiB, bound %d MiB", what, grow>>20, heapBound>>20)
	}
}

// waitGoroutines waits (up to 10 s) until the number of goroutines is back to base.
func waitGoroutines(t *testing.T, what string, base int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= base {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Errorf("%s: %d goroutines, baseline %d:\n%s", what, n, base, buf)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ---- slowloris

// slowStats counts what the slow clients saw.
type slowStats struct {
	dials, dialErrs, cut, bytes atomic.Int64
	firstDialErr                atomic.Value // string
}

// slowPrefix is the start of a request that never completes: a str of 1000 bytes, of which a
// slow client sends one a second.
var slowPrefix = []byte{0x12, 0x08, 0x0d, 'R', 'P', 'Y', 'C', 0x08, 0x0f, 0, 0, 0x03, 0xe8}

// slowClient connects to addr from local (nil: any) and sends one byte a second until ctx ends;
// when the server cuts it off it reconnects at once (the harshest slowloris).
func slowClient(ctx context.Context, addr string, local net.Addr, st *slowStats) {
	d := net.Dialer{LocalAddr: local}
	deadline, _ := ctx.Deadline()
	buf := make([]byte, 64)
	for ctx.Err() == nil {
		c, err := d.DialContext(ctx, "tcp4", addr)
		if err != nil {
			if ctx.Err() != nil || time.Until(deadline) < 10*time.Millisecond {
				break // the attack's end, not the server
			}
			st.dialErrs.Add(1)
			st.firstDialErr.CompareAndSwap(nil, err.Error())
			select {
			case <-ctx.Done():
			case <-time.After(10 * time.Millisecond):
			}
			continue
		}
		st.dials.Add(1)
		stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Unix(1, 0)) })
		for i := 0; ; i++ {
			b := byte('A')
			if i < len(slowPrefix) {
				b = slowPrefix[i]
			}
			if _, err := c.Write([]byte{b}); err != nil {
				break
			}
			st.bytes.Add(1)
			// Wait a second, noticing at once if the server closes the connection.
			_ = c.SetReadDeadline(time.Now().Add(time.Second))
			if _, err := c.Read(buf); !isTimeout(err) {
				if ctx.Err() == nil {
					st.cut.Add(1)
				}
				break
			}
			if ctx.Err() != nil {
				break
			}
		}
		stop()
		_ = c.Close()
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// slowloris runs n slow clients against addr for d, from the local addresses given in turn.
func slowloris(t *testing.T, addr string, n int, d time.Duration, locals ...string) *slowStats {
	t.Helper()
	st := &slowStats{}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var wg sync.WaitGroup
	for i := range n {
		var local net.Addr
		if len(locals) > 0 {
			local = &net.TCPAddr{IP: net.ParseIP(locals[i%len(locals)])}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			slowClient(ctx, addr, local, st)
		}()
	}
	wg.Wait()
	return st
}

// slowLegit is a legitimate but slow client: it sends a QUERY in two halves, pause apart, and
// counts the correct answers. It runs from local until end.
func slowLegit(end time.Time, addr, local string, pause time.Duration, req, want []byte) (ok, failed int, errs error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: ioTimeout}
	for time.Now().Before(end) {
		got, err := func() ([]byte, error) {
			c, err := d.Dial("tcp4", addr)
			if err != nil {
				return nil, err
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(ioTimeout))
			if _, err := c.Write(req[:len(req)/2]); err != nil {
				return nil, err
			}
			time.Sleep(pause)
			if _, err := c.Write(req[len(req)/2:]); err != nil {
				return nil, err
			}
			return io.ReadAll(c)
		}()
		if err != nil || !bytes.Equal(got, want) {
			failed++
			if failed <= 3 {
				errs = errors.Join(errs, fmt.Errorf("%s: reply %x, %v", time.Now().Format("15:04:05.000"), got, err))
			}
			continue
		}
		ok++
	}
	return ok, failed, errs
}

// testSlowloris: n slow clients (1 byte/s, reconnecting as soon as they are cut off) from
// slowIPs against a TCP registry with the default limits and a 1 s request deadline, while a
// healthy client on healthyIP QUERYs every 50 ms. With legitIP, a slow but legitimate client
// there sends its requests in two halves 200 ms apart meanwhile.
func testSlowloris(t *testing.T, n int, d time.Duration, healthyIP, legitIP string, slowIPs ...string) {
	s := &Server{TCPTimeout: time.Second, Logger: quietLogger()}
	addr := serve(t, s, "tcp")
	reg := &TCPClient{Addr: addr}
	if healthyIP != "127.0.0.1" {
		reg.Interface = healthyIP
	}
	h := startHealthy(t, reg, healthyIP, "healthy")
	time.Sleep(100 * time.Millisecond)
	base := runtime.NumGoroutine()
	heap := watchHeap()
	h.reset()
	var legitOK, legitFailed int
	var legitErr error
	legitDone := make(chan struct{})
	if legitIP != "" {
		req, _ := appendRequest(nil, CmdQuery, brine.Tuple{"healthy"})
		want, _ := brine.Dump(brine.Tuple{brine.Tuple{healthyIP, int64(4242)}})
		go func() {
			defer close(legitDone)
			legitOK, legitFailed, legitErr = slowLegit(time.Now().Add(d-300*time.Millisecond), addr, legitIP, 200*time.Millisecond, req, want)
		}()
	} else {
		close(legitDone)
	}
	start := time.Now()
	st := slowloris(t, addr, n, d, slowIPs...)
	<-legitDone
	t.Logf("%d slow clients for %v: %d connections, %d cut off by the server, %d bytes sent, %d dial errors (first: %v)",
		n, time.Since(start).Round(time.Millisecond), st.dials.Load(), st.cut.Load(), st.bytes.Load(),
		st.dialErrs.Load(), st.firstDialErr.Load())
	h.halt()
	h.check(t, "slowloris", true)
	heap.done(t, "slowloris")
	waitGoroutines(t, "slowloris", base)
	if st.cut.Load() == 0 {
		t.Errorf("no slow client was cut off")
	}
	if legitIP != "" {
		t.Logf("slow legitimate client on %s: %d/%d QUERYs answered", legitIP, legitOK, legitOK+legitFailed)
		if legitFailed > 0 || legitOK == 0 {
			t.Errorf("slow legitimate client: %d failed, %d answered; first failures:\n%v", legitFailed, legitOK, legitErr)
		}
	}
}

// quietLogger drops the server's log (an attack makes thousands of lines).
func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// TestHostileSlowloris: 400 slow clients on the healthy client's own address (127.0.0.1), more
// than MaxTCPConns (256): only the eviction of stalled connections keeps the healthy client
// served, as no per-address rule can tell them apart.
func TestHostileSlowloris(t *testing.T) {
	n, d := 400, 5*time.Second
	if soak() {
		n, d = 2000, 60*time.Second
	}
	testSlowloris(t, n, d, "127.0.0.1", "")
}

// TestHostileSlowlorisOtherAddress: 400 slow clients on 127.0.0.1; the healthy client on
// 127.0.0.2 and a slow but legitimate client on 127.0.0.3, whose requests take 200 ms (longer
// than TCPEvictIdle) and are still never evicted: 127.0.0.1 is above its share.
func TestHostileSlowlorisOtherAddress(t *testing.T) {
	n, d := 400, 3*time.Second
	if soak() {
		n, d = 2000, 60*time.Second
	}
	testSlowloris(t, n, d, "127.0.0.2", "127.0.0.3", "127.0.0.1")
}

// ---- malformed TCP input

// readToEnd reads until the server closes c (or resets it), within d, and returns what it read.
// It fails if the server keeps the connection open.
func readToEnd(c net.Conn, d time.Duration) ([]byte, error) {
	_ = c.SetReadDeadline(time.Now().Add(d))
	var out []byte
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			if isTimeout(err) {
				return out, fmt.Errorf("the server kept the connection open for %v (read %d bytes)", d, len(out))
			}
			return out, nil // EOF or reset: closed
		}
	}
}

// sendAndExpectClose connects, writes each chunk, and expects the server to close the
// connection with want (nil: nothing) as its only output.
func sendAndExpectClose(addr string, want []byte, chunks ...[]byte) error {
	c, err := net.DialTimeout("tcp4", addr, ioTimeout)
	if err != nil {
		return err
	}
	defer c.Close()
	for _, ch := range chunks {
		if _, err := c.Write(ch); err != nil {
			return nil // already closed by the server: fine
		}
	}
	got, err := readToEnd(c, ioTimeout)
	if err != nil {
		return err
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("got %x, want %x", got, want)
	}
	return nil
}

// streamUntilClosed writes chunks of junk after header until the server closes the connection,
// and fails if it takes more than limit bytes or ioTimeout.
func streamUntilClosed(addr string, header []byte, limit int) error {
	c, err := net.DialTimeout("tcp4", addr, ioTimeout)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(ioTimeout))
	if _, err := c.Write(header); err != nil {
		return nil
	}
	chunk := bytes.Repeat([]byte{'x'}, 64<<10)
	sent := len(header)
	for sent < limit {
		if _, err := c.Write(chunk); err != nil {
			if isTimeout(err) {
				return fmt.Errorf("the server neither read nor closed after %d bytes", sent)
			}
			return nil // reset by the server
		}
		sent += len(chunk)
	}
	// Socket buffers may have taken it all; the server must still close.
	got, err := readToEnd(c, ioTimeout)
	if err != nil {
		return err
	}
	if len(got) != 0 {
		return fmt.Errorf("got a reply %x", got)
	}
	return nil
}

// rstAfter connects, writes b and resets the connection (SO_LINGER 0).
func rstAfter(addr string, b []byte) error {
	c, err := net.DialTimeout("tcp4", addr, ioTimeout)
	if err != nil {
		return err
	}
	if len(b) > 0 {
		if _, err := c.Write(b); err != nil {
			_ = c.Close()
			return err
		}
		time.Sleep(20 * time.Millisecond) // let the server read part of it
	}
	_ = c.(*net.TCPConn).SetLinger(0)
	return c.Close()
}

// pipelined writes count QUERYs back to back on one connection and expects exactly one reply,
// want, and then the end of the connection.
func pipelined(addr string, count int, req, want []byte) error {
	c, err := net.DialTimeout("tcp4", addr, ioTimeout)
	if err != nil {
		return err
	}
	defer c.Close()
	all := bytes.Repeat(req, count)
	go func() {
		_ = c.SetWriteDeadline(time.Now().Add(ioTimeout))
		_, _ = c.Write(all) // fails once the server has closed: fine
	}()
	got, err := readToEnd(c, ioTimeout)
	if err != nil {
		return err
	}
	// The server answers the first request and closes; with unread requests in its buffer its
	// kernel may reset the connection, which can discard the reply in flight.
	if len(got) != 0 && !bytes.Equal(got, want) {
		return fmt.Errorf("got %x, want one reply %x", got, want)
	}
	return nil
}

// hostileCase is one kind of offender, run by several connections at once.
type hostileCase struct {
	name      string
	offenders int
	run       func(addr string) error
}

func tcpHostileCases(t *testing.T, healthyReply []byte) []hostileCase {
	q := unhex(t, goldenQuery)
	qh, _ := appendRequest(nil, CmdQuery, brine.Tuple{"healthy"})
	frob, _ := brine.Dump(brine.Tuple{Magic, "FROB", brine.Tuple{}})
	regPrefix := unhex(t, "12 080d52505943 080e085245474953544552 11")
	return []hostileCase{
		{"4GiB channel frame header", 50, func(addr string) error {
			// An RPyC channel frame (u32be length, compressed flag) claiming 4 GiB.
			return sendAndExpectClose(addr, nil, []byte{0xff, 0xff, 0xff, 0xff, 0x00, 'x', 'x'})
		}},
		{"4GiB brine str, streamed", 20, func(addr string) error {
			return streamUntilClosed(addr, unhex(t, "12 080d52505943 080f ffffffff"), 64<<20)
		}},
		{"4GiB brine tuple count, then silence", 50, func(addr string) error {
			return sendAndExpectClose(addr, nil, unhex(t, "15 ffffffff 00 00"))
		}},
		{"4GiB brine int length", 50, func(addr string) error {
			return sendAndExpectClose(addr, nil, unhex(t, "12 080d52505943 080e055155455259 10 17 ffffffff 31"))
		}},
		{"truncated frame then close", 50, func(addr string) error {
			c, err := net.DialTimeout("tcp4", addr, ioTimeout)
			if err != nil {
				return err
			}
			defer c.Close()
			if _, err := c.Write(q[:len(q)/2]); err != nil {
				return err
			}
			_ = c.(*net.TCPConn).CloseWrite()
			got, err := readToEnd(c, ioTimeout)
			if err == nil && len(got) != 0 {
				err = fmt.Errorf("got a reply %x", got)
			}
			return err
		}},
		{"invalid zlib", 50, func(addr string) error {
			// A compressed RPyC channel frame whose zlib stream is garbage.
			return sendAndExpectClose(addr, nil, []byte{0, 0, 0, 8, 1, 0x78, 0x9c, 0xde, 0xad, 0xbe, 0xef, 0, 1})
		}},
		{"invalid brine", 50, func(addr string) error {
			return sendAndExpectClose(addr, nil, unhex(t, "12 080d52505943 07 10 080c666f6f"))
		}},
		{"invalid UTF-8 name", 50, func(addr string) error {
			return sendAndExpectClose(addr, nil, unhex(t, "12 080d52505943 080e055155455259 10 080bfffe"))
		}},
		{"unknown command", 50, func(addr string) error {
			return sendAndExpectClose(addr, nil, frob)
		}},
		{"bad REGISTER arguments", 50, func(addr string) error {
			return sendAndExpectClose(addr, nil, append(slices.Clone(regPrefix), unhex(t, "080c666f6f 51")...))
		}},
		{"RST mid-frame", 100, func(addr string) error {
			return rstAfter(addr, q[:len(q)/2])
		}},
		{"RST before any byte", 100, func(addr string) error {
			return rstAfter(addr, nil)
		}},
		{"10k pipelined requests", 4, func(addr string) error {
			return pipelined(addr, 10000, qh, healthyReply)
		}},
		{"REGISTER flood beyond MaxRegistrations", 10, func(addr string) error {
			// 30 REGISTERs of 200 new names each, answered "OK" until the table is full, then
			// not at all.
			for range 30 {
				req := registerNames(int(nextName.Add(200))-200, 200, 7000)
				c, err := net.DialTimeout("tcp4", addr, ioTimeout)
				if err != nil {
					return err
				}
				_, err = c.Write(req)
				got, rerr := readToEnd(c, ioTimeout)
				_ = c.Close()
				if err != nil || rerr != nil {
					return errors.Join(err, rerr)
				}
				if len(got) != 0 && !bytes.Equal(got, okReply) {
					return fmt.Errorf("REGISTER reply %x", got)
				}
			}
			return nil
		}},
	}
}

// nextName numbers the names of registerNames across offenders.
var nextName atomic.Int64

// runHostile runs each case's offenders at once against addr, with the healthy client h
// querying throughout, and checks the offenders' outcome, the healthy client, the goroutines
// and the heap after each.
func runHostile(t *testing.T, addr string, h *healthyClient, cases []hostileCase) {
	for _, hc := range cases {
		t.Run(strings.ReplaceAll(hc.name, " ", "_"), func(t *testing.T) {
			base := runtime.NumGoroutine()
			heap := watchHeap()
			h.reset()
			time.Sleep(60 * time.Millisecond) // at least one healthy QUERY before
			errs := make(chan error, hc.offenders)
			for range hc.offenders {
				go func() { errs <- hc.run(addr) }()
			}
			var failed []string
			for range hc.offenders {
				if err := <-errs; err != nil {
					failed = append(failed, err.Error())
				}
			}
			time.Sleep(120 * time.Millisecond) // and a couple after
			if len(failed) > 0 {
				t.Errorf("%d of %d offenders saw something else than an error or a closed connection:\n%s",
					len(failed), hc.offenders, strings.Join(failed[:min(len(failed), 5)], "\n"))
			}
			h.check(t, hc.name, true)
			heap.done(t, hc.name)
			waitGoroutines(t, hc.name, base)
		})
	}
}

// TestHostileTCP sends malformed, truncated, oversized, reset and pipelined input at a TCP
// registry, each kind from many connections at once.
func TestHostileTCP(t *testing.T) {
	const maxRegs = 20000
	s := &Server{TCPTimeout: time.Second, Logger: quietLogger(), MaxRegistrations: maxRegs}
	addr := serve(t, s, "tcp")
	h := startHealthy(t, &TCPClient{Addr: addr}, "127.0.0.1", "healthy")
	want, _ := brine.Dump(brine.Tuple{brine.Tuple{"127.0.0.1", int64(4242)}})
	cases := tcpHostileCases(t, want)
	if soak() {
		for i := range cases {
			cases[i].offenders *= 10
		}
	}
	runHostile(t, addr, h, cases)
	h.halt()
	h.reset()
	h.check(t, "after the last case", false)
	if _, entries := s.tab.counts(); entries > maxRegs {
		t.Errorf("%d entries, MaxRegistrations %d", entries, maxRegs)
	}
}

// registerNames builds a REGISTER of count distinct four-letter names, numbered from first, for
// port.
func registerNames(first, count int, port int64) []byte {
	names := make([]string, count)
	for i := range names {
		n := first + i
		names[i] = string([]byte{'A' + byte(n/17576%26), 'A' + byte(n/676%26), 'A' + byte(n/26%26), 'A' + byte(n%26)})
	}
	req, _ := appendRequest(nil, CmdRegister, registerArgs(names, int(port)))
	return req
}

// ---- UDP

// udpNoReply sends each datagram from a fresh socket and fails if anything comes back within
// noReplyWait.
func udpNoReply(addr string, datagrams ...[]byte) error {
	c, err := net.Dial("udp4", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	for _, d := range datagrams {
		if _, err := c.Write(d); err != nil {
			return err
		}
	}
	_ = c.SetReadDeadline(time.Now().Add(noReplyWait))
	buf := make([]byte, 65536)
	if n, err := c.Read(buf); err == nil {
		return fmt.Errorf("got a reply %x", buf[:n])
	}
	return nil
}

// udpSync waits until the registry at addr has handled every datagram sent before: it sends a
// QUERY from its own socket and waits for the answer, which comes after theirs (one goroutine
// reads the registry's socket in order). It resends if the QUERY or its answer is lost.
func udpSync(addr string) error {
	c, err := net.Dial("udp4", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	q, _ := appendRequest(nil, CmdQuery, brine.Tuple{"sync"})
	buf := make([]byte, 64)
	for range 20 {
		if _, err := c.Write(q); err != nil {
			return err
		}
		_ = c.SetReadDeadline(time.Now().Add(250 * time.Millisecond))
		if _, err := c.Read(buf); err == nil {
			return nil
		}
	}
	return errors.New("the registry does not answer")
}

// udpFlood sends the datagrams from one socket, in windows of 50 followed by a udpSync, so that
// the registry's socket buffer never overflows (the kernel would drop datagrams, the healthy
// client's too, whatever the registry does). With read, it returns the replies received.
func udpFlood(addr string, read bool, datagrams ...[]byte) ([][]byte, error) {
	c, err := net.Dial("udp4", addr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	var replies [][]byte
	done := make(chan struct{})
	if read {
		go func() {
			defer close(done)
			buf := make([]byte, 65536)
			for {
				n, err := c.Read(buf)
				if err != nil {
					return
				}
				replies = append(replies, slices.Clone(buf[:n]))
			}
		}()
	} else {
		close(done)
	}
	for i, d := range datagrams {
		if _, err := c.Write(d); err != nil {
			_ = c.SetReadDeadline(time.Unix(1, 0))
			<-done
			return nil, err
		}
		if i%50 == 49 || i == len(datagrams)-1 {
			if err := udpSync(addr); err != nil {
				_ = c.SetReadDeadline(time.Unix(1, 0))
				<-done
				return nil, err
			}
		}
	}
	// Every reply is on its way once the last udpSync is answered.
	_ = c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	<-done
	return replies, nil
}

// TestHostileUDP sends malformed, oversized and flooding datagrams at a UDP registry, and floods
// its table with registrations.
func TestHostileUDP(t *testing.T) {
	const maxRegs = 20000
	s := &Server{Logger: quietLogger(), MaxRegistrations: maxRegs}
	addr := serve(t, s, "udp")
	h := startHealthy(t, &UDPClient{Addr: addr}, "127.0.0.1", "healthy")
	q := unhex(t, goldenQuery)
	frob, _ := brine.Dump(brine.Tuple{Magic, "FROB", brine.Tuple{}})
	flood := 10000
	if soak() {
		flood = 200000
	}
	var okReplies, refused atomic.Int64
	cases := []hostileCase{
		{"4GiB brine str header", 20, func(addr string) error {
			return udpNoReply(addr, unhex(t, "12 080d52505943 080f ffffffff 41 41"), []byte{0xff, 0xff, 0xff, 0xff, 0, 'x'})
		}},
		{"oversized datagram", 20, func(addr string) error {
			return udpNoReply(addr, append(slices.Clone(q), make([]byte, 60000)...))
		}},
		{"truncated", 20, func(addr string) error { return udpNoReply(addr, q[:len(q)/2]) }},
		{"invalid zlib", 20, func(addr string) error {
			return udpNoReply(addr, []byte{0, 0, 0, 8, 1, 0x78, 0x9c, 0xde, 0xad, 0xbe, 0xef, 0, 1})
		}},
		{"invalid brine", 20, func(addr string) error {
			return udpNoReply(addr, unhex(t, "12 080d52505943 07 10 080c666f6f"))
		}},
		{"unknown command", 20, func(addr string) error { return udpNoReply(addr, frob) }},
		{fmt.Sprintf("%d QUERYs never read", flood), 1, func(addr string) error {
			reqs := make([][]byte, flood)
			for i := range reqs {
				reqs[i] = q
			}
			_, err := udpFlood(addr, false, reqs...)
			return err
		}},
		{"3000 endpoints for one name", 1, func(addr string) error {
			reqs := make([][]byte, 3000)
			for i := range reqs {
				reqs[i], _ = appendRequest(nil, CmdRegister, registerArgs([]string{"many"}, 10000+i))
			}
			replies, err := udpFlood(addr, true, reqs...)
			if err == nil && len(replies) != len(reqs) {
				err = fmt.Errorf("%d REGISTERs, %d replies", len(reqs), len(replies))
			}
			return err
		}},
		{"REGISTER flood beyond MaxRegistrations", 1, func(addr string) error {
			reqs := make([][]byte, 150) // 30,000 new names
			for i := range reqs {
				reqs[i] = registerNames(i*200, 200, 7000)
			}
			replies, err := udpFlood(addr, true, reqs...)
			if err != nil {
				return err
			}
			for _, r := range replies {
				if !bytes.Equal(r, okReply) {
					return fmt.Errorf("REGISTER reply %x", r)
				}
			}
			okReplies.Store(int64(len(replies)))
			refused.Store(int64(len(reqs) - len(replies)))
			return nil
		}},
	}
	runHostile(t, addr, h, cases)
	h.halt()
	h.reset()
	h.check(t, "after the last case", false)

	names, entries := s.tab.counts()
	t.Logf("table after the floods: %d names, %d entries; %d REGISTERs of 200 new names acknowledged, %d refused",
		names, entries, okReplies.Load(), refused.Load())
	if entries > maxRegs {
		t.Errorf("%d entries, MaxRegistrations %d", entries, maxRegs)
	}
	if refused.Load() == 0 || okReplies.Load() == 0 {
		t.Errorf("REGISTER flood: %d acknowledged, %d refused; want both", okReplies.Load(), refused.Load())
	}
	// A full table still refreshes known registrations.
	if err := h.reg.Register(ctxTimeout(t, ioTimeout), []string{"healthy"}, 4242); err != nil {
		t.Errorf("refreshing a registration in a full table: %v", err)
	}
	// One name keeps MaxEndpointsPerName endpoints, the most recent; QUERY answers at once.
	qm, _ := appendRequest(nil, CmdQuery, brine.Tuple{"many"})
	start := time.Now()
	reply := udpExchange(t, addr, qm)
	el := time.Since(start)
	v, err := brine.Load(reply)
	eps, _ := v.(brine.Tuple)
	if err != nil || len(eps) == 0 || len(reply) > MaxDatagramSize {
		t.Fatalf("QUERY many: %d bytes, %v", len(reply), err)
	}
	last, _ := eps[len(eps)-1].(brine.Tuple)
	s.tab.mu.Lock()
	n := len(s.tab.services["MANY"].entries)
	s.tab.mu.Unlock()
	t.Logf("name with 3000 registrations: %d kept, QUERY answered in %v with %d endpoints (%d bytes), the newest %v",
		n, el, len(eps), len(reply), last)
	if n != DefaultMaxEndpointsPerName {
		t.Errorf("name holds %d endpoints, want %d", n, DefaultMaxEndpointsPerName)
	}
	if len(last) != 2 || last[1] != int64(12999) {
		t.Errorf("QUERY many: newest endpoint %v, want port 12999", last)
	}
}
