//go:build unix

package registry

// The scale test: 100,000 registrations, then a sustained QUERY load over UDP loopback, against
// the Go registry and (for comparison) Python's. It is off by default; run it with
//
//	GORPYC_REGISTRY_SCALE=1 go test -run 'TestRegistryScale' -v -timeout 30m ./registry
//
// Knobs: GORPYC_REGISTRY_SCALE_N (registrations, default 100000), GORPYC_REGISTRY_SCALE_RATE
// (QUERY/s, default 20000), GORPYC_REGISTRY_SCALE_SECONDS (duration of the paced phase, default
// 5). Each run also measures the highest rate reached with this load generator (an unpaced
// phase) and the registry process's CPU time per QUERY. Both registries run as processes of
// their own: the Go one is cmd/rpyc-registry, built by the test.

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorpyc/rpyc/brine"
	"github.com/gorpyc/rpyc/internal/interop"
)

// scalePortBase makes every registered port unique (scalePortBase + i), so that each QUERY
// reply tells which name it answers. Both registries store any int as the port.
const scalePortBase = 100_000

type scaleParams struct {
	n       int
	rate    int
	seconds float64
}

func scaleParamsFromEnv(t *testing.T) scaleParams {
	if os.Getenv("GORPYC_REGISTRY_SCALE") != "1" {
		t.Skip("set GORPYC_REGISTRY_SCALE=1 to run the registry scale test")
	}
	if testing.Short() {
		t.Skip("-short")
	}
	p := scaleParams{n: 100_000, rate: 20_000, seconds: 5}
	if v, err := strconv.Atoi(os.Getenv("GORPYC_REGISTRY_SCALE_N")); err == nil && v > 0 {
		p.n = v
	}
	if v, err := strconv.Atoi(os.Getenv("GORPYC_REGISTRY_SCALE_RATE")); err == nil && v > 0 {
		p.rate = v
	}
	if v, err := strconv.ParseFloat(os.Getenv("GORPYC_REGISTRY_SCALE_SECONDS"), 64); err == nil && v > 0 {
		p.seconds = v
	}
	return p
}

// TestRegistryScale runs the load against the Go registry command (cmd/rpyc-registry, built
// and started as its own process, like Python's), and requires the target rate with no
// registration lost.
func TestRegistryScale(t *testing.T) {
	p := scaleParamsFromEnv(t)
	addr, pid := startGoRegistryCommand(t)
	res := runScale(t, addr, pid, p)
	if res.paced.empty > 0 || res.max.empty > 0 {
		t.Errorf("registrations lost: %d empty replies", res.paced.empty+res.max.empty)
	}
	if res.paced.rate < 0.95*float64(p.rate) {
		t.Errorf("sustained %.0f QUERY/s, want %d", res.paced.rate, p.rate)
	}
}

// TestRegistryScalePython runs the same load against Python's registry command
// (rpyc_registry -m UDP -q on) under each peer, and only reports the figures.
func TestRegistryScalePython(t *testing.T) {
	p := scaleParamsFromEnv(t)
	interop.ForEachPeer(t, func(t *testing.T, peer interop.Peer) {
		proc := peer.Start(t, "registry_server.py", "-m", "UDP", "-p", "0", "-q", "on")
		addr, err := proc.WaitListening(pyStartTimeout)
		if err != nil {
			t.Fatal(err)
		}
		res := runScale(t, addr, proc.Pid(), p)
		if res.paced.empty > 0 || res.max.empty > 0 {
			t.Errorf("registrations lost: %d empty replies", res.paced.empty+res.max.empty)
		}
	})
}

// startGoRegistryCommand builds cmd/rpyc-registry and runs it on 127.0.0.1, port 0.
func startGoRegistryCommand(t *testing.T) (addr string, pid int) {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command to build cmd/rpyc-registry: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "rpyc-registry")
	build := exec.Command(goTool, "build", "-o", bin, "./cmd/rpyc-registry")
	build.Dir = interop.RepoRoot()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "-m", "UDP", "-p", "0", "--host", "127.0.0.1")
	if v := os.Getenv("GORPYC_REGISTRY_SCALE_GOMAXPROCS"); v != "" {
		cmd.Env = append(os.Environ(), "GOMAXPROCS="+v) // the registry's, not the load generator's
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("rpyc-registry: %v", err)
			}
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("rpyc-registry did not stop on SIGTERM: %v", <-done)
		}
	})
	re := regexp.MustCompile(`msg="registry: serving" net=udp addr=(\S+)`)
	lines := bufio.NewScanner(stderr)
	for lines.Scan() {
		if m := re.FindStringSubmatch(lines.Text()); m != nil {
			go func() { // keep draining
				for lines.Scan() {
				}
			}()
			return m[1], cmd.Process.Pid
		}
	}
	t.Fatal("rpyc-registry did not announce its address")
	return "", 0
}

// cpuTime returns the user+system CPU time used so far by process pid (Linux /proc).
func cpuTime(pid int) (time.Duration, bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// Fields after the parenthesized command name; utime and stime are fields 14 and 15.
	rest := string(data)
	if i := strings.LastIndexByte(rest, ')'); i >= 0 {
		rest = rest[i+1:]
	}
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0, false
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	const ticksPerSecond = 100 // USER_HZ on Linux
	return time.Duration(ut+st) * time.Second / ticksPerSecond, true
}

type scaleResult struct {
	registerRate float64
	paced, max   loadStats
}

type loadStats struct {
	sent, answered, empty, wrong, lost int
	elapsed                            time.Duration
	rate                               float64 // answered per second
	p50, p99                           time.Duration
}

func (s loadStats) String() string {
	return fmt.Sprintf("%d sent, %d answered in %v = %.0f QUERY/s; %d empty (lost registrations), %d wrong, %d datagrams lost; latency p50 %v p99 %v",
		s.sent, s.answered, s.elapsed.Round(time.Millisecond), s.rate, s.empty, s.wrong, s.lost, s.p50, s.p99)
}

func runScale(t *testing.T, addr string, pid int, p scaleParams) scaleResult {
	t.Helper()
	var res scaleResult
	start := time.Now()
	retries := registerAll(t, addr, p.n)
	el := time.Since(start)
	res.registerRate = float64(p.n) / el.Seconds()
	t.Logf("registered %d services in %v (%.0f REGISTER/s, %d re-sent after UDP loss)", p.n, el.Round(time.Millisecond), res.registerRate, retries)

	// cpu reports the registry's CPU use during a phase: share of one core, time per answer.
	cpu := func(before time.Duration, st loadStats) string {
		after, ok := cpuTime(pid)
		if !ok || st.answered == 0 {
			return "registry CPU unknown"
		}
		used := after - before
		return fmt.Sprintf("registry CPU %.0f%% of a core, %.1fµs per QUERY",
			100*used.Seconds()/st.elapsed.Seconds(), float64(used.Microseconds())/float64(st.answered))
	}
	before, _ := cpuTime(pid)
	res.paced = queryLoad(t, addr, p.n, p.rate, time.Duration(p.seconds*float64(time.Second)))
	t.Logf("paced at %d QUERY/s: %v; %s", p.rate, res.paced, cpu(before, res.paced))
	before, _ = cpuTime(pid)
	res.max = queryLoad(t, addr, p.n, 0, 3*time.Second)
	t.Logf("unpaced: %v; %s", res.max, cpu(before, res.max))
	return res
}

const (
	scaleWorkers = 4
	scaleWindow  = 64
)

// registerAll registers scaleName(i) with port scalePortBase+i for every i < n, then checks
// every name with a QUERY and re-registers those whose REGISTER was lost. It returns how many
// it re-sent.
func registerAll(t *testing.T, addr string, n int) (resent int) {
	t.Helper()
	reqs := make([][]byte, n)
	for i := range reqs {
		b, err := appendRequest(nil, CmdRegister, registerArgs([]string{scaleName(i)}, scalePortBase+i))
		if err != nil {
			t.Fatal(err)
		}
		reqs[i] = b
	}
	todo := make([]int, n)
	for i := range todo {
		todo[i] = i
	}
	for round := 0; len(todo) > 0; round++ {
		if round == 5 {
			t.Fatalf("%d registrations still missing after %d rounds", len(todo), round)
		}
		if round > 0 {
			resent += len(todo)
		}
		pipeline(t, addr, todo, func(i int) []byte { return reqs[i] }, func([]byte) {})
		// Which names are there now?
		missing := make([]bool, n)
		for _, i := range todo {
			missing[i] = true
		}
		var mu sync.Mutex
		pipeline(t, addr, todo, queryFor, func(reply []byte) {
			if i, ok := replyIndex(reply); ok && i >= 0 && i < n {
				mu.Lock()
				missing[i] = false
				mu.Unlock()
			}
		})
		todo = todo[:0]
		for i, m := range missing {
			if m {
				todo = append(todo, i)
			}
		}
	}
	return resent
}

var queryReqs sync.Map // int -> []byte

func queryFor(i int) []byte {
	if b, ok := queryReqs.Load(i); ok {
		return b.([]byte)
	}
	b, _ := appendRequest(nil, CmdQuery, brine.Tuple{scaleName(i)})
	queryReqs.Store(i, b)
	return b
}

// replyIndex reads a QUERY reply ((ip, port),) and returns the name index its port encodes.
func replyIndex(reply []byte) (int, bool) {
	v, err := brine.Load(reply)
	if err != nil {
		return -1, false
	}
	tup, ok := v.(brine.Tuple)
	if !ok || len(tup) != 1 {
		return -1, false
	}
	pair, ok := tup[0].(brine.Tuple)
	if !ok || len(pair) != 2 || pair[0] != "127.0.0.1" {
		return -1, false
	}
	port, ok := pair[1].(int64)
	if !ok {
		return -1, false
	}
	return int(port) - scalePortBase, true
}

// pipeline sends req(i) for every index, spread over scaleWorkers sockets with at most
// scaleWindow requests in flight each, as fast as the registry answers; onReply sees each reply.
func pipeline(t *testing.T, addr string, idx []int, req func(int) []byte, onReply func([]byte)) {
	t.Helper()
	var wg sync.WaitGroup
	for w := range scaleWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("udp4", addr)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			buf := make([]byte, 2048)
			inflight := 0
			for k := w; k < len(idx) || inflight > 0; {
				for inflight < scaleWindow && k < len(idx) {
					if _, err := c.Write(req(idx[k])); err != nil {
						t.Error(err)
						return
					}
					inflight++
					k += scaleWorkers
				}
				_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
				n, err := c.Read(buf)
				if err != nil {
					inflight = 0 // lost; the caller checks what arrived
					continue
				}
				onReply(buf[:n])
				inflight--
			}
		}()
	}
	wg.Wait()
}

// queryLoad sends QUERYs for names in round-robin order at rate per second (0: as fast as the
// registry answers, window-limited) for d, and checks every reply.
func queryLoad(t *testing.T, addr string, n, rate int, d time.Duration) loadStats {
	t.Helper()
	var (
		sent, answered, empty, wrong atomic.Int64
		next                         atomic.Int64
		mu                           sync.Mutex
		lat                          []time.Duration
	)
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for range scaleWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("udp4", addr)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			// Sent times by name index, for latency and to match replies.
			pending := map[int]time.Time{}
			var pmu sync.Mutex
			done := make(chan struct{})
			var rwg sync.WaitGroup
			rwg.Add(1)
			go func() {
				defer rwg.Done()
				buf := make([]byte, 2048)
				var local []time.Duration
				defer func() {
					mu.Lock()
					lat = append(lat, local...)
					mu.Unlock()
				}()
				for {
					_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
					m, err := c.Read(buf)
					if err != nil {
						select {
						case <-done:
							return
						default:
							continue
						}
					}
					if bytes := buf[:m]; len(bytes) == 1 && bytes[0] == 0x02 {
						empty.Add(1)
						continue
					}
					i, ok := replyIndex(buf[:m])
					pmu.Lock()
					at, known := pending[i]
					delete(pending, i)
					pmu.Unlock()
					if !ok || !known {
						wrong.Add(1)
						continue
					}
					answered.Add(1)
					local = append(local, time.Since(at))
				}
			}()
			perWorker := float64(rate) / scaleWorkers
			mine := 0
			for time.Now().Before(deadline) {
				if rate > 0 {
					due := int(time.Since(start).Seconds() * perWorker)
					if mine >= due {
						time.Sleep(200 * time.Microsecond)
						continue
					}
				}
				pmu.Lock()
				inflight := len(pending)
				if inflight >= scaleWindow {
					// Forget requests whose datagram was lost, so they do not hold the window.
					for i, at := range pending {
						if time.Since(at) > 500*time.Millisecond {
							delete(pending, i)
						}
					}
				}
				pmu.Unlock()
				if inflight >= scaleWindow {
					time.Sleep(50 * time.Microsecond)
					continue
				}
				i := int(next.Add(1)-1) % n
				pmu.Lock()
				pending[i] = time.Now()
				pmu.Unlock()
				if _, err := c.Write(queryFor(i)); err != nil {
					t.Error(err)
					break
				}
				mine++
				sent.Add(1)
			}
			// Give the last replies a moment, then stop the reader.
			time.Sleep(300 * time.Millisecond)
			close(done)
			rwg.Wait()
		}()
	}
	wg.Wait()
	elapsed := d
	st := loadStats{sent: int(sent.Load()), answered: int(answered.Load()), empty: int(empty.Load()),
		wrong: int(wrong.Load()), elapsed: elapsed}
	st.lost = st.sent - st.answered - st.empty - st.wrong
	st.rate = float64(st.answered) / elapsed.Seconds()
	slices.Sort(lat)
	if len(lat) > 0 {
		st.p50 = lat[len(lat)/2].Round(time.Microsecond)
		st.p99 = lat[len(lat)*99/100].Round(time.Microsecond)
	}
	if st.sent == 0 {
		t.Error(errors.New("nothing sent"))
	}
	return st
}
