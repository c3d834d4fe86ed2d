//go:build unix

package rpyc_test

// The hostile-peer suite against the Go client (issue "No peer can take a process down"): a
// hostile SERVER, scripted with package internal/hostile on a raw loopback socket, answers the
// client's dialect probe and GETROOT correctly, then misbehaves. A case passes when the client
// returns an error (where the case calls for one) without panicking or hanging, its heap stays
// within hcHeapAllowance of its size at the start of the case, and its goroutines return to
// their number before the case once the connection is closed.
//
// Each case runs in a child process (this test binary, re-executed with
// GORPYC_HOSTILE_CLIENT_CASE set, running TestHostileClientCase), so that a case that makes the
// client allocate without bound takes down only the child: the child stops itself when its heap
// passes hcKillHeap, and the parent kills it (by PID) beyond hcKillRSS resident or after
// hcChildTimeout. The child samples runtime.ReadMemStats every few milliseconds and reports its
// measurements on a HOSTILE-CLIENT-RESULT line, which the parent puts in the summary table.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorpyc/rpyc"
	"github.com/gorpyc/rpyc/brine"
	"github.com/gorpyc/rpyc/compat"
	"github.com/gorpyc/rpyc/internal/hostile"
	"github.com/gorpyc/rpyc/protocol"
)

// The bounds of the suite.
const (
	// hcHeapAllowance bounds the client's peak HeapInuse over its value at the start of a case:
	// the memory budget of a default client's channel (2 x protocol.DefaultMaxDecodedSize, 512
	// MiB), the most a default client holds for the frames it reads. Refusing (or accepting) one
	// message must not cost more than that.
	hcHeapAllowance = 2 * protocol.DefaultMaxDecodedSize
	// hcKillHeap: beyond this heap the child stops itself (exit status 3), the case failed.
	hcKillHeap = 1 << 30
	// hcKillRSS: the parent kills a child whose resident size passes this (a safety net for the
	// shared machine; the race detector's shadow memory counts here, so it is generous).
	hcKillRSS = 4 << 30
	// hcChildTimeout bounds one case, child start included.
	hcChildTimeout = 90 * time.Second
	// hcRequestTimeout is the client's WithRequestTimeout: a request the server never answers
	// must fail after it.
	hcRequestTimeout = time.Second
	// hcPayloadTimeout is the request timeout of the cases whose point is what the client does
	// with a hostile answer (inflate it, decode it): long enough for the client to get through
	// it, race detector included, instead of giving up on it.
	hcPayloadTimeout = 20 * time.Second
	// hcHangMargin: an operation taking longer than its request timeout plus this counts as
	// hanging (room for a loaded machine).
	hcHangMargin = 4 * time.Second
	// hcSettle bounds the wait for the goroutines to return to their number before the case.
	hcSettle = 5 * time.Second
)

// hcCase is one misbehaving server.
type hcCase struct {
	name string
	// wantErr: the client's operation must fail. Cases where accepting the answer is
	// legitimate (a reply full of references) leave it false.
	wantErr bool
	// serve runs the server side after the honest handshake; first is the client's first
	// request after GETROOT (the root.add(1, 2) call). It returns when it is done misbehaving.
	serve func(p *hostile.Peer, first hostile.Msg) error
	// silent: the server never answers anything, not even the dialect probe (serve is unused).
	silent bool
	// calls is how many root.add(1, 2) calls the client makes (default 1), one after the other
	// or, if concurrent, all at once; each must fail if wantErr.
	calls      int
	concurrent bool
	// timeout is the client's request timeout (0: hcRequestTimeout).
	timeout time.Duration
	// soak: only with GORPYC_SOAK (make soak).
	soak bool
}

// hcRoot is the id_pack the hostile server gives its root.
var hcRoot = compat.IDPack{Name: "HostileService", ClassID: 1, InstanceID: 1}

var hcCases = []hcCase{
	{name: "amplification", timeout: hcPayloadTimeout, wantErr: true, serve: func(p *hostile.Peer, first hostile.Msg) error {
		return p.SendRaw(hostile.AmplificationReply(p.Dialect, first.Seq, 200_000_000))
	}},
	{name: "zlib bomb", timeout: hcPayloadTimeout, wantErr: true, serve: func(p *hostile.Peer, first hostile.Msg) error {
		return p.SendRaw(hostile.BombReply(p.Dialect, first.Seq, 1<<30))
	}},
	{name: "4 GiB header", wantErr: true, serve: func(p *hostile.Peer, first hostile.Msg) error {
		return p.SendRaw(append(hostile.Header(0xffffffff, hostile.FlagRaw), hostile.ReplyPrefix(p.Dialect, first.Seq)...))
	}},
	{name: "truncated frame", wantErr: true, serve: func(p *hostile.Peer, first hostile.Msg) error {
		reply := hostile.RawFrame(hostile.Reply(p.Dialect, first.Seq, hostile.Value(int64(3))))
		if err := p.SendRaw(reply[:len(reply)-3]); err != nil {
			return err
		}
		return p.Conn.CloseWrite()
	}},
	{name: "malformed exception", wantErr: true, calls: 9, serve: func(p *hostile.Peer, first hostile.Msg) error {
		bodies := []any{
			int64(5),         // an int that is not StopIteration's 1
			brine.Tuple{},    // no fields
			brine.Tuple{"a"}, // one field
			brine.Tuple{nil, nil, nil, nil},
			brine.Tuple{brine.Tuple{int64(1), int64(2)}, "not args", int64(7), []byte("tb")},
			brine.Tuple{brine.Tuple{"builtins", "KeyError"}, brine.Tuple{}, brine.Tuple{brine.Tuple{int64(1)}, "x"}, "tb"},
			brine.Tuple{brine.Tuple{"builtins", "ValueError"}, brine.Tuple{}, brine.Tuple{}, "tb", "extra"},
			hostile.RemoteRef(hostile.RefID(1)),
			brine.Tuple{brine.Tuple{"builtins", "StopIteration"}, brine.Tuple{hostile.RemoteRef(hostile.RefID(2))}, brine.Tuple{}, nil},
		}
		m := first
		for i, body := range bodies {
			if i > 0 {
				var err error
				if m, err = p.ReadMessage(10 * time.Second); err != nil {
					return err
				}
				if m.Type != compat.MsgRequest || hostile.RequestHandler(m.Body) != int64(compat.HandleCallAttr) {
					continue // a DEL, say
				}
			}
			if err := p.SendMessage(compat.MsgException, m.Seq, body); err != nil {
				return err
			}
		}
		return nil
	}},
	{name: "reply for a never-sent seq", wantErr: true, serve: func(p *hostile.Peer, first hostile.Msg) error {
		// Answers to requests the client never made (one carrying a reference it must give
		// back), the probe's number among them, and never the real answer.
		for _, seq := range []int64{first.Seq + 1000, -5, hostile.ProbeSeq, first.Seq + 1} {
			if err := p.SendMessage(compat.MsgReply, seq, hostile.TupleBox(hostile.Value(int64(4)), hostile.RemoteRef(hostile.RefID(int(seq&0xffff))))); err != nil {
				return err
			}
		}
		return p.SendMessage(compat.MsgException, first.Seq+2, brine.Tuple{brine.Tuple{"builtins", "KeyError"}, brine.Tuple{}, brine.Tuple{}, ""})
	}},
	{name: "100k REMOTE_REFs in one reply", timeout: hcPayloadTimeout, serve: func(p *hostile.Peer, first hostile.Msg) error {
		return p.SendFrame(hostile.RemoteRefsReply(p.Dialect, first.Seq, 100_000))
	}},
	{name: "1M REMOTE_REFs in one reply", timeout: hcPayloadTimeout, soak: true, serve: func(p *hostile.Peer, first hostile.Msg) error {
		return p.SendFrame(hostile.RemoteRefsReply(p.Dialect, first.Seq, 1_000_000))
	}},
	{name: "unknown message type", wantErr: true, serve: func(p *hostile.Peer, first hostile.Msg) error {
		return p.SendFrame(hostile.RawMessage(7, first.Seq, hostile.Value(int64(3))))
	}},
	{name: "never answers", wantErr: true, serve: func(p *hostile.Peer, first hostile.Msg) error {
		return nil // the request is read, and left unanswered
	}},
	{name: "never answers 10k concurrent calls", soak: true, wantErr: true, calls: 10_000, concurrent: true,
		serve: func(p *hostile.Peer, first hostile.Msg) error { return nil }},
	{name: "silent server", wantErr: true, silent: true},
}

// hcResult is what a child reports.
type hcResult struct {
	Case       string        `json:"case"`
	Err        string        `json:"err"`
	Elapsed    time.Duration `json:"elapsed"` // the slowest client operation
	HeapBase   uint64        `json:"heap_base"`
	HeapPeak   uint64        `json:"heap_peak"`
	SysPeak    uint64        `json:"sys_peak"`
	GoBase     int           `json:"go_base"`
	GoAfter    int           `json:"go_after"`
	Killed     bool          `json:"killed"` // stopped itself beyond hcKillHeap
	ServerNote string        `json:"server"`
}

const hcResultPrefix = "HOSTILE-CLIENT-RESULT "

func TestHostileClient(t *testing.T) {
	if testing.Short() {
		t.Skip("hostile-peer suite: not in -short")
	}
	if os.Getenv("GORPYC_HOSTILE_CLIENT_CASE") != "" {
		t.Skip("in a child")
	}
	type row struct {
		name, result string
		res          hcResult
		note         string
	}
	var rows []row
	for _, c := range hcCases {
		t.Run(c.name, func(t *testing.T) {
			if c.soak && os.Getenv("GORPYC_SOAK") == "" {
				t.Skip("soak form: set GORPYC_SOAK=1 (make soak)")
			}
			res, note, ok := runHostileClientChild(t, c.name)
			result := "PASS"
			if !ok || t.Failed() {
				result = "FAIL"
			}
			rows = append(rows, row{c.name, result, res, note})
		})
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "\n%-36s %-6s %11s %9s %10s  %s\n", "case", "result", "heap peak", "elapsed", "goroutines", "client error")
	for _, r := range rows {
		msg := r.res.Err
		if len(msg) > 110 {
			msg = msg[:110] + "..."
		}
		if r.note != "" {
			msg = r.note + "; " + msg
		}
		fmt.Fprintf(&sb, "%-36s %-6s %7.1f MiB %9v %4d->%-4d  %s\n", r.name, r.result,
			float64(int64(r.res.HeapPeak)-int64(r.res.HeapBase))/(1<<20), r.res.Elapsed.Round(time.Millisecond),
			r.res.GoBase, r.res.GoAfter, msg)
	}
	t.Log(sb.String())
}

// runHostileClientChild runs one case in a child process and relays its verdict.
func runHostileClientChild(t *testing.T, name string) (res hcResult, note string, ok bool) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestHostileClientCase$", "-test.v", "-test.count=1",
		"-test.timeout="+(hcChildTimeout+30*time.Second).String())
	cmd.Env = append(os.Environ(), "GORPYC_HOSTILE_CLIENT_CASE="+name)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	exited := make(chan struct{})
	t.Cleanup(func() {
		select {
		case <-exited:
		default:
			_ = cmd.Process.Kill()
		}
	})
	var output []string
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if js, found := strings.CutPrefix(strings.TrimSpace(line), hcResultPrefix); found {
				_ = json.Unmarshal([]byte(js), &res)
			}
			output = append(output, line)
		}
	}()
	var killedRSS atomic.Int64
	var timedOut atomic.Bool
	var peakRSS atomic.Int64
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		deadline := time.After(hcChildTimeout)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-exited:
				return
			case <-deadline:
				timedOut.Store(true)
				_ = cmd.Process.Kill()
				return
			case <-tick.C:
			}
			if rss, err := hcRSS(pid); err == nil {
				peakRSS.Store(max(peakRSS.Load(), rss))
				if rss > hcKillRSS {
					killedRSS.Store(rss)
					_ = cmd.Process.Kill()
					return
				}
			}
		}
	}()
	<-readDone
	waitErr := cmd.Wait()
	close(exited)
	<-watchDone
	ok = waitErr == nil
	switch {
	case killedRSS.Load() != 0:
		note = fmt.Sprintf("killed at RSS %d MiB", killedRSS.Load()>>20)
		t.Errorf("child killed: resident size %d MiB > %d MiB", killedRSS.Load()>>20, hcKillRSS>>20)
	case timedOut.Load():
		note = "hung"
		t.Errorf("child did not finish within %v", hcChildTimeout)
	case res.Killed:
		note = fmt.Sprintf("stopped itself at heap > %d MiB", hcKillHeap>>20)
	}
	if !ok || testing.Verbose() {
		t.Logf("child (peak RSS %.1f MiB, %v):\n%s", float64(peakRSS.Load())/(1<<20), waitErr, strings.Join(output, "\n"))
	}
	if !ok && note == "" && res.Case == "" {
		note = "crashed"
	}
	if !ok {
		t.Errorf("case failed in the child: %v", waitErr)
	}
	return res, note, ok
}

// hcRSS returns the resident size of pid in bytes.
func hcRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if val, found := strings.CutPrefix(line, "VmRSS:"); found {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(val), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmRSS")
}

// TestHostileClientCase runs the case named by GORPYC_HOSTILE_CLIENT_CASE; it is the child
// process of TestHostileClient and skips otherwise.
func TestHostileClientCase(t *testing.T) {
	name := os.Getenv("GORPYC_HOSTILE_CLIENT_CASE")
	if name == "" {
		t.Skip("run by TestHostileClient in a child process")
	}
	var c hcCase
	for _, x := range hcCases {
		if x.name == name {
			c = x
		}
	}
	if c.name == "" {
		t.Fatalf("no case %q", name)
	}
	if c.calls == 0 {
		c.calls = 1
	}
	if c.timeout == 0 {
		c.timeout = hcRequestTimeout
	}
	res := hcResult{Case: name}
	report := func() {
		b, _ := json.Marshal(res)
		fmt.Println(hcResultPrefix + string(b))
	}

	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	goBase := runtime.NumGoroutine()
	res.HeapBase, res.GoBase = base.HeapInuse, goBase
	res.HeapPeak, res.SysPeak = base.HeapInuse, base.Sys

	// The heap sampler, which also stops the process beyond hcKillHeap.
	var peakMu sync.Mutex
	stopSampler := make(chan struct{})
	samplerDone := make(chan struct{})
	go func() {
		defer close(samplerDone)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		var ms runtime.MemStats
		for {
			select {
			case <-stopSampler:
				return
			case <-tick.C:
			}
			runtime.ReadMemStats(&ms)
			peakMu.Lock()
			res.HeapPeak = max(res.HeapPeak, ms.HeapInuse)
			res.SysPeak = max(res.SysPeak, ms.Sys)
			if ms.HeapInuse > hcKillHeap {
				// The client is still running: report from a copy of what only this goroutine
				// and the start of the case wrote.
				b, _ := json.Marshal(hcResult{Case: name, Killed: true, HeapBase: base.HeapInuse, GoBase: goBase,
					HeapPeak: res.HeapPeak, SysPeak: res.SysPeak,
					Err: fmt.Sprintf("heap %d MiB > %d MiB: stopped", ms.HeapInuse>>20, hcKillHeap>>20)})
				fmt.Println(hcResultPrefix + string(b))
				os.Exit(3)
			}
			peakMu.Unlock()
		}
	}()

	// The hostile server: one connection, scripted.
	ln, err := hostile.Listen()
	if err != nil {
		t.Fatal(err)
	}
	serverDone := make(chan string, 1)
	go func() {
		p, err := ln.Accept(10 * time.Second)
		if err != nil {
			serverDone <- "accept: " + err.Error()
			return
		}
		defer p.Close()
		var note string
		if !c.silent {
			first, err := p.ServeHandshake(hcRoot, 10*time.Second)
			if err != nil {
				serverDone <- "handshake: " + err.Error()
				return
			}
			if err := c.serve(p, first); err != nil {
				note = "serve: " + err.Error()
			}
		}
		// Then read (and ignore) whatever the client sends until it closes.
		if _, err := p.WaitClosed(hcChildTimeout); err != nil {
			note += " client did not close: " + err.Error()
		}
		serverDone <- note
	}()

	// The client.
	var errs []string
	var slowest time.Duration
	var slowMu sync.Mutex
	timed := func(fn func() error) error {
		start := time.Now()
		err := fn()
		slowMu.Lock()
		slowest = max(slowest, time.Since(start))
		slowMu.Unlock()
		return err
	}
	var conn *rpyc.Conn
	err = timed(func() error {
		var err error
		conn, err = rpyc.Connect(context.Background(), ln.Addr().String(), rpyc.WithRequestTimeout(c.timeout))
		return err
	})
	if err == nil {
		var root *rpyc.Ref
		err = timed(func() error {
			var err error
			root, err = conn.Root(context.Background())
			return err
		})
		if err != nil {
			errs = append(errs, "root: "+err.Error())
			if !c.wantErr {
				t.Errorf("Root: %v", err)
			}
		}
		var mu sync.Mutex
		call := func(i int) {
			var v any
			err := timed(func() error {
				var err error
				v, err = root.CallMethod(context.Background(), "add", 1, 2)
				return err
			})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err.Error())
			} else {
				errs = append(errs, "no error: "+hcDescribe(v))
				if c.wantErr {
					t.Errorf("call %d: no error, got %s", i, hcDescribe(v))
				}
			}
		}
		var wg sync.WaitGroup
		for i := 0; root != nil && i < c.calls; i++ {
			if !c.concurrent {
				call(i)
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				call(i)
			}()
		}
		wg.Wait()
		runtime.GC() // let the references received be released (and DELs queued)
		conn.Close()
	} else {
		errs = append(errs, "connect: "+err.Error())
		if !c.wantErr {
			t.Errorf("Connect: %v", err)
		}
	}
	res.Elapsed = slowest
	res.Err = strings.Join(hcUnique(errs), " | ")
	select {
	case note := <-serverDone:
		res.ServerNote = note
	case <-time.After(hcSettle):
		t.Errorf("the scripted server did not see the client close within %v", hcSettle)
	}
	ln.Close()
	close(stopSampler)
	<-samplerDone
	runtime.ReadMemStats(&base) // a last sample, for cases over before the sampler's first tick
	res.HeapPeak, res.SysPeak = max(res.HeapPeak, base.HeapInuse), max(res.SysPeak, base.Sys)

	deadline := time.Now().Add(hcSettle)
	for {
		res.GoAfter = runtime.NumGoroutine()
		if res.GoAfter <= res.GoBase || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	report()
	t.Logf("client: %s", res.Err)
	t.Logf("slowest operation %v; heap %.1f MiB at start, peak %.1f MiB (+%.1f MiB; allowance %d MiB); Sys peak %.1f MiB; goroutines %d -> %d",
		slowest.Round(time.Millisecond), float64(res.HeapBase)/(1<<20), float64(res.HeapPeak)/(1<<20),
		float64(int64(res.HeapPeak)-int64(res.HeapBase))/(1<<20), hcHeapAllowance>>20, float64(res.SysPeak)/(1<<20),
		res.GoBase, res.GoAfter)
	if res.ServerNote != "" {
		t.Logf("scripted server: %s", res.ServerNote)
	}
	if slowest > c.timeout+hcHangMargin {
		t.Errorf("an operation took %v > %v", slowest, c.timeout+hcHangMargin)
	}
	if int64(res.HeapPeak)-int64(res.HeapBase) > hcHeapAllowance {
		t.Errorf("heap peak +%.1f MiB over the start > allowance %d MiB",
			float64(int64(res.HeapPeak)-int64(res.HeapBase))/(1<<20), hcHeapAllowance>>20)
	}
	if res.GoAfter > res.GoBase {
		buf := make([]byte, 1<<20)
		t.Errorf("goroutines: %d before the case, %d after Close:\n%s", res.GoBase, res.GoAfter, buf[:runtime.Stack(buf, true)])
	}
}

// hcDescribe summarises a result without printing 100k items.
func hcDescribe(v any) string {
	if t, ok := v.(brine.Tuple); ok && len(t) > 4 {
		return fmt.Sprintf("a tuple of %d items (%T, ...)", len(t), t[0])
	}
	s := fmt.Sprintf("%v", v)
	if len(s) > 100 {
		s = s[:100] + "..."
	}
	return s
}

func hcUnique(xs []string) []string {
	var out []string
	seen := map[string]int{}
	for _, x := range xs {
		if len(x) > 300 {
			x = x[:300] + "..."
		}
		if seen[x]++; seen[x] == 1 {
			out = append(out, x)
		}
	}
	return out
}
