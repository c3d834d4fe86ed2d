//go:build linux

package server_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorpyc/rpyc/brine"
	"github.com/gorpyc/rpyc/channel"
	"github.com/gorpyc/rpyc/compat"
	"github.com/gorpyc/rpyc/internal/interop"
	"github.com/gorpyc/rpyc/server"
)

// idleClientEnv makes the test binary an idle-connection client (see TestIdleClientProcess).
const idleClientEnv = "GORPYC_IDLE_CLIENT"

// TestIdleConnections measures what an idle connection costs a Go server: idleConns() clients
// (2,000; GORPYC_IDLE_CONNS overrides) connect from another process, each doing what a client
// does before it goes idle (GETROOT, then root.get_service_name(), answered on a handler
// goroutine), and stay connected. The server's goroutines per connection must be at most one
// once they are idle (functional: a second goroutine per connection is a design regression);
// the memory per connection (heap, stacks, RSS) is logged, not asserted. Then the clients close
// and the server's goroutines return to where they were; RSS after the burst is logged, at once
// and after debug.FreeOSMemory. With GORPYC_IDLE_CONNS set, RSS is also read after the server
// stayed idle for GORPYC_IDLE_WAIT (10 s), and the same is measured for Python ThreadedServers of
// both versions, side by side (the figures of issue 12, item 4):
//
//	GORPYC_IDLE_CONNS=10000 go test -run '^TestIdleConnections$' -v ./server
func TestIdleConnections(t *testing.T) {
	n := idleConns(t)
	_, addr := startQuietServer(t)
	runtime.GC()
	debug.FreeOSMemory()
	base := runtime.NumGoroutine()
	before := memNow()

	clients := startIdleClients(t, addr, compat.V5, n)
	// Handler goroutines that served get_service_name exit once idle: wait for the count to
	// settle at one goroutine per connection at most.
	limit := base + n + 8
	deadline := time.Now().Add(10 * time.Second)
	got := runtime.NumGoroutine()
	for got > limit && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		got = runtime.NumGoroutine()
	}
	if got > limit {
		t.Errorf("%d idle connections: %d goroutines, baseline %d: %.2f per connection, want at most 1",
			n, got, base, float64(got-base)/float64(n))
	}
	for range 3 { // stacks shrink by half per collection, as an idle server's periodic GCs do
		runtime.GC()
	}
	idle := memNow()
	t.Logf("go server, %d idle connections: %.2f goroutines/conn; heap %.1f KiB/conn, stacks %.1f KiB/conn, RSS %.1f KiB/conn (%.0f MB total)",
		n, float64(got-base)/float64(n), kib(idle.heap-before.heap, n), kib(idle.stack-before.stack, n),
		kib(idle.rss-before.rss, n), float64(idle.rss)/1e6)

	clients.close(t)
	waitFor(t, 20*time.Second, "goroutines back to the baseline", func() bool {
		return runtime.NumGoroutine() <= base+2
	})
	runtime.GC()
	after := memNow()
	measuring := os.Getenv("GORPYC_IDLE_CONNS") != ""
	var later memFigures
	wait := 10 * time.Second // GORPYC_IDLE_WAIT overrides (the runtime forces a GC every 2 minutes)
	if d, err := time.ParseDuration(os.Getenv("GORPYC_IDLE_WAIT")); err == nil {
		wait = d
	}
	if measuring { // what the runtime gives back on its own, the server idle
		time.Sleep(wait)
		later = memNow()
	}
	debug.FreeOSMemory()
	freed := memNow()
	t.Logf("go server after the %d clients closed: RSS %.0f MB (before the burst %.0f MB); %.0f MB %v later (0 if not measured); %.0f MB after debug.FreeOSMemory",
		n, float64(after.rss)/1e6, float64(before.rss)/1e6, float64(later.rss)/1e6, wait, float64(freed.rss)/1e6)

	if !measuring {
		return
	}
	for _, p := range interop.Peers(t) {
		t.Run(p.Name, func(t *testing.T) {
			proc := p.Start(t, "test_service.py")
			paddr, err := proc.WaitListening(20 * time.Second)
			if err != nil {
				t.Fatal(err)
			}
			d := compat.V5
			if strings.HasPrefix(p.Version, "6") {
				d = compat.V6
			}
			pbefore := idleStatus(t, proc.Pid())
			clients := startIdleClients(t, paddr, d, n)
			time.Sleep(time.Second) // threads started, nothing more arrives
			pidle := idleStatus(t, proc.Pid())
			t.Logf("python %s server, %d idle connections: %.2f threads/conn; RSS %.1f KiB/conn (%.0f MB total)",
				p.Version, n, float64(pidle.threads-pbefore.threads)/float64(n), kib(pidle.rss-pbefore.rss, n), float64(pidle.rss)/1e6)
			clients.close(t)
			pafter := idleStatus(t, proc.Pid())
			for end := time.Now().Add(30 * time.Second); pafter.threads > pbefore.threads && time.Now().Before(end); {
				time.Sleep(100 * time.Millisecond) // connection threads end
				pafter = idleStatus(t, proc.Pid())
			}
			t.Logf("python %s server after the clients closed: RSS %.0f MB (before the burst %.0f MB), %d threads",
				p.Version, float64(pafter.rss)/1e6, float64(pbefore.rss)/1e6, pafter.threads)
		})
	}
}

func idleConns(t *testing.T) int {
	s := os.Getenv("GORPYC_IDLE_CONNS")
	if s == "" {
		return 2000
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		t.Fatalf("GORPYC_IDLE_CONNS=%q", s)
	}
	return n
}

func kib(delta int64, n int) float64 { return float64(delta) / 1024 / float64(n) }

// startQuietServer starts a Threaded server of TestService with no logger.
func startQuietServer(t *testing.T) (*server.Server, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &server.Server{Service: &TestService{}}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.Background(), ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
	})
	return srv, ln.Addr().String()
}

type memFigures struct{ heap, stack, rss int64 }

// memNow reads this process's live heap, goroutine stacks and resident set.
func memNow() memFigures {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	st := idleStatus(nil, os.Getpid())
	return memFigures{heap: int64(ms.HeapAlloc), stack: int64(ms.StackInuse), rss: st.rss}
}

type procFigures struct {
	rss     int64
	threads int
}

// idleStatus reads VmRSS and Threads of /proc/<pid>/status.
func idleStatus(t *testing.T, pid int) procFigures {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		if t != nil {
			t.Fatal(err)
		}
		return procFigures{}
	}
	var st procFigures
	for line := range strings.Lines(string(raw)) {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "VmRSS:":
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			st.rss = kb << 10
		case "Threads:":
			st.threads, _ = strconv.Atoi(f[1])
		}
	}
	return st
}

// idleClients is the client process of TestIdleConnections.
type idleClients struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
}

// startIdleClients starts the test binary as a client process that opens n connections to addr
// in dialect d, and waits until all are set up.
func startIdleClients(t *testing.T, addr string, d compat.Dialect, n int) *idleClients {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestIdleClientProcess$", "-test.v=false")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s,%d,%d", idleClientEnv, addr, int(d), n))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &idleClients{cmd: cmd, stdin: stdin, out: bufio.NewReader(stdout)}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	line, err := c.readLine(60 * time.Second)
	if err != nil || line != "READY" {
		t.Fatalf("idle client process: %q, %v", line, err)
	}
	return c
}

func (c *idleClients) readLine(d time.Duration) (string, error) {
	type res struct {
		s   string
		err error
	}
	ch := make(chan res, 1)
	go func() {
		s, err := c.out.ReadString('\n')
		ch <- res{strings.TrimSpace(s), err}
	}()
	select {
	case r := <-ch:
		return r.s, r.err
	case <-time.After(d):
		_ = c.cmd.Process.Kill()
		return "", fmt.Errorf("no answer within %v", d)
	}
}

// close makes the client process close its connections and exit.
func (c *idleClients) close(t *testing.T) {
	t.Helper()
	_ = c.stdin.Close()
	if err := c.cmd.Wait(); err != nil {
		t.Errorf("idle client process: %v", err)
	}
}

// TestIdleClientProcess is the client process of TestIdleConnections (it does nothing in a
// normal run): it opens the connections, sets each up as a client would (GETROOT, then
// root.get_service_name()), prints READY, and closes them all when its standard input closes.
func TestIdleClientProcess(t *testing.T) {
	spec := os.Getenv(idleClientEnv)
	if spec == "" {
		return
	}
	f := strings.Split(spec, ",")
	d, _ := strconv.Atoi(f[1])
	n, _ := strconv.Atoi(f[2])
	conns := make([]net.Conn, 0, n)
	for range n {
		c, err := net.Dial("tcp", f[0])
		if err != nil {
			fmt.Fprintln(os.Stderr, "idle client:", err)
			os.Exit(2)
		}
		if err := setUpIdle(c, compat.Dialect(d)); err != nil {
			fmt.Fprintln(os.Stderr, "idle client:", err)
			os.Exit(2)
		}
		conns = append(conns, c)
	}
	fmt.Println("READY")
	_, _ = io.Copy(io.Discard, os.Stdin)
	for _, c := range conns {
		_ = c.(*net.TCPConn).SetLinger(0) // no TIME_WAIT left behind
		_ = c.Close()
	}
	os.Exit(0)
}

// setUpIdle does, on a raw socket, what a client does before it goes idle: GETROOT, then
// root.get_service_name().
func setUpIdle(c net.Conn, d compat.Dialect) error {
	r := bufio.NewReader(c)
	call := func(seq int64, h compat.Handler, args brine.Tuple) (any, error) {
		msg, err := d.AppendMessage(nil, compat.MsgRequest, seq, brine.Tuple{int64(h), args})
		if err != nil {
			return nil, err
		}
		frame, err := channel.AppendFrame(nil, msg, channel.Config{})
		if err != nil {
			return nil, err
		}
		if _, err := c.Write(frame); err != nil {
			return nil, err
		}
		payload, err := channel.ReadFrame(r, channel.Config{}, nil)
		if err != nil {
			return nil, err
		}
		kind, _, body, err := d.ParseMessage(payload)
		if err != nil || kind != compat.MsgReply {
			return nil, fmt.Errorf("answer %v %v: %v", kind, body, err)
		}
		return body, nil
	}
	value := func(v any) brine.Tuple { return brine.Tuple{int64(compat.LabelValue), v} }
	body, err := call(1, compat.HandleGetRoot, value(brine.Tuple{}))
	if err != nil {
		return fmt.Errorf("GETROOT: %w", err)
	}
	box, ok := body.(brine.Tuple)
	if !ok || len(box) != 2 || box[0] != int64(compat.LabelRemoteRef) {
		return fmt.Errorf("GETROOT answered %v", body)
	}
	root := brine.Tuple{int64(compat.LabelLocalRef), box[1]}
	args := brine.Tuple{int64(compat.LabelTuple), brine.Tuple{root, value("get_service_name"), value(brine.Tuple{}), value(brine.Tuple{})}}
	if _, err := call(2, compat.HandleCallAttr, args); err != nil {
		return fmt.Errorf("get_service_name: %w", err)
	}
	return nil
}
