//go:build unix

package main

// The etcd backend's figures, beside the in-memory registry and Python's: off by default, run
// with
//
//	make bench-registry-etcd      (GORPYC_REGISTRY_ETCD_BENCH=1, pinned with taskset -c 0)
//
// Every registry is a process of its own serving UDP on loopback: rpyc-registry in memory,
// rpyc-registry replicas on a three-member etcd cluster (the test's, Debian's etcd 3.4, with a
// 50 ms heartbeat and a 500 ms election timeout), and Python's rpyc_registry under each peer.
// The load generator is this process: W workers, each a UDP socket with one request in flight.

import (
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorpyc/rpyc/brine"
	"github.com/gorpyc/rpyc/internal/interop"
	"github.com/gorpyc/rpyc/registry"
	"github.com/gorpyc/rpyc/registry/etcdstore/etcdtest"
)

// loadResult is what one load run measured.
type loadResult struct {
	ops      int
	lost     int
	rate     float64
	p50, p99 time.Duration
}

func (r loadResult) String() string {
	return fmt.Sprintf("%8.0f/s  p50 %7.3f ms  p99 %7.3f ms  lost %d", r.rate, ms(r.p50), ms(r.p99), r.lost)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// udpLoad runs workers closed loops of req(worker, i) against addr for d.
func udpLoad(t *testing.T, addr string, workers int, d time.Duration, req func(w, i int) []byte) loadResult {
	t.Helper()
	var mu sync.Mutex
	var lat []time.Duration
	lost := 0
	var wg sync.WaitGroup
	start := time.Now()
	end := start.Add(d)
	for w := range workers {
		c, err := net.Dial("udp4", addr)
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			defer c.Close()
			buf := make([]byte, 2048)
			var mine []time.Duration
			myLost := 0
			for i := 0; time.Now().Before(end); i++ {
				t0 := time.Now()
				if _, err := c.Write(req(w, i)); err != nil {
					myLost++
					continue
				}
				_ = c.SetReadDeadline(t0.Add(time.Second))
				if _, err := c.Read(buf); err != nil {
					myLost++
					continue
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			lost += myLost
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(lat)
	r := loadResult{ops: len(lat), lost: lost, rate: float64(len(lat)) / elapsed.Seconds()}
	if len(lat) > 0 {
		r.p50, r.p99 = lat[len(lat)/2], lat[len(lat)*99/100]
	}
	return r
}

func request(cmd string, args ...any) []byte {
	b, err := brine.Append(nil, brine.Tuple{"RPYC", cmd, brine.Tuple(args)})
	if err != nil {
		panic(err)
	}
	return b
}

// percentile returns the p-th percentile of ds (sorted in place).
func percentile(ds []time.Duration, p int) time.Duration {
	slices.Sort(ds)
	return ds[min(len(ds)*p/100, len(ds)-1)]
}

func TestRegistryEtcdBench(t *testing.T) {
	if os.Getenv("GORPYC_REGISTRY_ETCD_BENCH") != "1" {
		t.Skip("set GORPYC_REGISTRY_ETCD_BENCH=1 (or run make bench-registry-etcd)")
	}
	const d = 2 * time.Second
	cluster := etcdtest.Start(t, 3)
	hosts := make([]string, 0, 3)
	for _, u := range cluster.Endpoints() {
		hosts = append(hosts, strings.TrimPrefix(u, "http://"))
	}
	backend := "etcd://" + strings.Join(hosts, ",")
	etcdArgs := func(mode string) []string {
		return []string{"--host", "127.0.0.1", "-p", "0", "-m", mode, "--backend", backend, "--prefix", "/bench", "--log-level", "info"}
	}
	targets := []struct{ name, addr string }{
		{"Go, in memory", startReplica(t, "--host", "127.0.0.1", "-p", "0", "-m", "udp", "--log-level", "info").addr},
		{"Go, etcd", startReplica(t, etcdArgs("udp")...).addr},
	}
	for _, p := range interop.Peers(t) {
		proc := p.Start(t, "registry_server.py", "-m", "UDP", "-p", "0", "-q", "on")
		addr, err := proc.WaitListening(30 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		targets = append(targets, struct{ name, addr string }{"Python " + p.Name, addr})
	}
	type row struct{ what, target, result string }
	var rows []row
	for ti, tg := range targets {
		// One name registered, queried; REGISTER refreshes (each worker its own endpoint, as the
		// 60 s refresh of every server), and first registrations (a new port each time).
		udpLoad(t, tg.addr, 1, 10*time.Millisecond, func(w, i int) []byte {
			return request("REGISTER", brine.Tuple{"BENCH"}, int64(18812))
		})
		for _, workers := range []int{1, 16} {
			q := request("QUERY", "BENCH")
			r := udpLoad(t, tg.addr, workers, d, func(w, i int) []byte { return q })
			rows = append(rows, row{fmt.Sprintf("QUERY, %2d in flight", workers), tg.name, r.String()})
			r = udpLoad(t, tg.addr, workers, d, func(w, i int) []byte {
				return request("REGISTER", brine.Tuple{"REFRESH"}, int64(20000+w))
			})
			rows = append(rows, row{fmt.Sprintf("REGISTER refresh, %2d in flight", workers), tg.name, r.String()})
			r = udpLoad(t, tg.addr, workers, d, func(w, i int) []byte {
				return request("REGISTER", brine.Tuple{fmt.Sprintf("NEW%d", ti)}, int64(100_000+w*1_000_000+i))
			})
			rows = append(rows, row{fmt.Sprintf("REGISTER new, %2d in flight", workers), tg.name, r.String()})
		}
	}
	slices.SortStableFunc(rows, func(a, b row) int { return strings.Compare(a.what, b.what) })
	var out strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&out, "%-30s %-22s %s\n", r.what, r.target, r.result)
	}
	t.Logf("UDP loopback, %v per run:\n%s", d, out.String())

	// Registration visible everywhere: REGISTER acknowledged by replica A, then QUERY replica B
	// until it lists the endpoint.
	a, b := startReplica(t, etcdArgs("udp")...), startReplica(t, etcdArgs("udp")...)
	ca, err := net.Dial("udp4", a.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer ca.Close()
	cb, err := net.Dial("udp4", b.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer cb.Close()
	exchange := func(c net.Conn, req []byte) []byte {
		buf := make([]byte, 2048)
		_ = c.SetDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.Write(req); err != nil {
			t.Fatal(err)
		}
		n, err := c.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		return buf[:n]
	}
	var sinceAck, sinceSend []time.Duration
	for i := range 200 {
		name := fmt.Sprintf("VIS%d", i)
		t0 := time.Now()
		exchange(ca, request("REGISTER", brine.Tuple{name}, int64(18812)))
		t1 := time.Now()
		q := request("QUERY", name)
		for len(exchange(cb, q)) <= 1 { // 02: the empty tuple
			if time.Since(t1) > 5*time.Second {
				t.Fatalf("%s never visible through B", name)
			}
		}
		sinceAck, sinceSend = append(sinceAck, time.Since(t1)), append(sinceSend, time.Since(t0))
	}
	t.Logf("visible through B after REGISTER through A (200 names): from the acknowledgement p50 %.3f ms p99 %.3f ms; from sending p50 %.3f ms p99 %.3f ms",
		ms(percentile(sinceAck, 50)), ms(percentile(sinceAck, 99)), ms(percentile(sinceSend, 50)), ms(percentile(sinceSend, 99)))

	// A killed replica: a client with [A, B] and a 500 ms timeout (Python's UDP default is 2 s)
	// finds the service through B after its timeout; a TCP client at once (connection refused).
	ta, tb := startReplica(t, etcdArgs("tcp")...), startReplica(t, etcdArgs("tcp")...)
	a.kill()
	ta.kill()
	ctx := t.Context()
	for _, c := range []struct {
		name string
		regs []registry.Registrar
	}{
		{"UDP", []registry.Registrar{&registry.UDPClient{Addr: a.addr, Timeout: 500 * time.Millisecond}, &registry.UDPClient{Addr: b.addr, Timeout: 500 * time.Millisecond}}},
		{"TCP", []registry.Registrar{&registry.TCPClient{Addr: ta.addr, Timeout: 500 * time.Millisecond}, &registry.TCPClient{Addr: tb.addr, Timeout: 500 * time.Millisecond}}},
	} {
		t0 := time.Now()
		found := false
		for _, r := range c.regs {
			if eps, err := r.Discover(ctx, "VIS0"); err == nil && len(eps) == 1 {
				found = true
				break
			}
		}
		if !found {
			t.Fatalf("%s: VIS0 not found through B", c.name)
		}
		t.Logf("replica A killed: a %s client with [A, B] discovered through B in %.1f ms", c.name, ms(time.Since(t0)))
	}

	// A killed etcd member (the leader): REGISTERs through B in a loop (100 ms client timeout,
	// then retry) and QUERYs in another; the longest gap between two answers of each.
	leader := cluster.Leader()
	gaps := func(req func(i int) []byte, stop <-chan struct{}) (chan time.Duration, chan int) {
		res, failures := make(chan time.Duration, 1), make(chan int, 1)
		go func() {
			c, err := net.Dial("udp4", b.addr)
			if err != nil {
				panic(err)
			}
			defer c.Close()
			buf := make([]byte, 2048)
			last, worst, fails := time.Now(), time.Duration(0), 0
			for i := 0; ; i++ {
				select {
				case <-stop:
					res <- worst
					failures <- fails
					return
				default:
				}
				_ = c.SetDeadline(time.Now().Add(100 * time.Millisecond))
				if _, err := c.Write(req(i)); err != nil {
					fails++
					continue
				}
				if _, err := c.Read(buf); err != nil {
					fails++
					continue
				}
				worst, last = max(worst, time.Since(last)), time.Now()
			}
		}()
		return res, failures
	}
	stop := make(chan struct{})
	regGap, regFails := gaps(func(i int) []byte { return request("REGISTER", brine.Tuple{"DURING"}, int64(30000+i)) }, stop)
	qGap, qFails := gaps(func(int) []byte { return request("QUERY", "VIS0") }, stop)
	time.Sleep(500 * time.Millisecond)
	t0 := time.Now()
	cluster.Member(leader).Kill()
	time.Sleep(3 * time.Second)
	close(stop)
	t.Logf("etcd leader killed at +0.5 s: REGISTER through B: longest gap between acknowledgements %.0f ms (%d tries unanswered); QUERY: longest gap %.1f ms (%d unanswered); measured for %v",
		ms(<-regGap), <-regFails, ms(<-qGap), <-qFails, time.Since(t0).Round(time.Millisecond))
}
