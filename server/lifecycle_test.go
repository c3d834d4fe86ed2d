//go:build unix

package server_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorpyc/rpyc"
	"github.com/gorpyc/rpyc/internal/interop"
	"github.com/gorpyc/rpyc/protocol"
	"github.com/gorpyc/rpyc/server"
)

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestInteropManyClientProcesses(t *testing.T) {
	interop.ForEachPeer(t, func(t *testing.T, p interop.Peer) {
		_, addr := startServer(t, server.Threaded)
		const clients = 32
		var wg sync.WaitGroup
		outs := make([]string, clients)
		for i := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				outs[i] = p.Run(t, "pyclient_actions.py", "calls", addr, "50")
			}()
		}
		wg.Wait()
		for i, out := range outs {
			if strings.TrimSpace(out) != "OK 50" {
				t.Errorf("client %d printed %q", i, out)
			}
		}
	})
}

func TestInteropClientKilledMidCall(t *testing.T) {
	interop.ForEachPeer(t, func(t *testing.T, p interop.Peer) {
		srv, addr := startServer(t, server.Threaded)
		proc := p.Start(t, "pyclient_actions.py", "hold", addr)
		line, err := proc.ReadLine(20 * time.Second)
		if err != nil || line != "HOLDING 3" {
			t.Fatalf("client said %q, %v", line, err)
		}
		waitFor(t, 5*time.Second, "the call in flight", func() bool { return srv.Connections() == 1 })
		time.Sleep(100 * time.Millisecond)             // let sleep(30) start on the server
		_ = syscall.Kill(-proc.Pid(), syscall.SIGKILL) // the whole process group, like a crash
		// The server notices, cancels the running call, frees the client's objects and goes on.
		waitFor(t, 10*time.Second, "the connection to go away", func() bool { return srv.Connections() == 0 })
		if out := strings.TrimSpace(p.Run(t, "pyclient_actions.py", "calls", addr, "10")); out != "OK 10" {
			t.Fatalf("next client printed %q", out)
		}
	})
}

func TestInteropShutdownWithCallsInFlight(t *testing.T) {
	interop.ForEachPeer(t, func(t *testing.T, p interop.Peer) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &server.Server{Service: &TestService{}}
		served := make(chan error, 1)
		go func() { served <- srv.Serve(context.Background(), ln) }()
		proc := p.Start(t, "pyclient_actions.py", "slowcall", ln.Addr().String(), "1.0")
		waitFor(t, 20*time.Second, "the call in flight", func() bool { return srv.Connections() == 1 })
		time.Sleep(300 * time.Millisecond)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		start := time.Now()
		if err := srv.Shutdown(ctx); err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
		line, err := proc.ReadLine(10 * time.Second)
		if err != nil || line != "RESULT 1.0" {
			t.Fatalf("in-flight call ended with %q, %v (Shutdown took %v)", line, err, time.Since(start))
		}
		if err := <-served; !errors.Is(err, server.ErrServerClosed) {
			t.Fatalf("Serve returned %v", err)
		}
		if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
			t.Fatal("listener still accepting after Shutdown")
		}
	})
}

// The limits and kinds below are exercised with gorpyc's own client.
func connect(t *testing.T, addr string) (*rpyc.Conn, *rpyc.Ref) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := rpyc.Connect(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	root, err := c.Root(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return c, root
}

func TestOneShot(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &server.Server{Service: &TestService{}, Kind: server.OneShot}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(context.Background(), ln) }()
	c, root := connect(t, ln.Addr().String())
	if n, err := rpyc.As[int](root.CallMethod(context.Background(), "add", 2, 2)); err != nil || n != 4 {
		t.Fatalf("add = %v, %v", n, err)
	}
	c.Close()
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("Serve returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("OneShot server still serving after its connection closed")
	}
}

func TestMaxConns(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &server.Server{Service: &TestService{}, MaxConns: 1}
	go func() { _ = srv.Serve(context.Background(), ln) }()
	t.Cleanup(func() { srv.Close() })
	connect(t, ln.Addr().String())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if c, err := rpyc.Connect(ctx, ln.Addr().String()); err == nil {
		c.Close()
		t.Fatal("second connection accepted beyond MaxConns=1")
	}
}

func TestMaxInflight(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &server.Server{Service: &TestService{}, MaxInflight: 2}
	go func() { _ = srv.Serve(context.Background(), ln) }()
	t.Cleanup(func() { srv.Close() })
	_, root := connect(t, ln.Addr().String())
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = root.CallMethod(context.Background(), "sleep", 0.5)
		}()
	}
	wg.Wait()
	ok, refused := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, protocol.RuntimeError):
			refused++
		default:
			t.Fatalf("unexpected error %v", err)
		}
	}
	if ok < 1 || ok > 2 || refused != len(errs)-ok {
		t.Fatalf("%d calls ran, %d refused; want at most 2 running", ok, refused)
	}
}

func TestIdleTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &server.Server{Service: &TestService{}, IdleTimeout: 300 * time.Millisecond}
	go func() { _ = srv.Serve(context.Background(), ln) }()
	t.Cleanup(func() { srv.Close() })
	c, root := connect(t, ln.Addr().String())
	// A call longer than the idle timeout is not cut off.
	if _, err := root.CallMethod(context.Background(), "sleep", 0.6); err != nil {
		t.Fatalf("long call: %v", err)
	}
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("idle connection not closed")
	}
	if !errors.Is(c.Err(), protocol.ErrClosed) {
		t.Fatalf("closed with %v", c.Err())
	}
}

func TestServiceAliases(t *testing.T) {
	for _, tc := range []struct {
		srv  *server.Server
		want string
	}{
		{&server.Server{Service: &TestService{}}, "TEST,TESTING"},
		{&server.Server{Service: &KVService{}}, "KV"},
		{&server.Server{Service: &KVService{}, Name: "store", Aliases: []string{"kv2"}}, "STORE,KV2"},
		{&server.Server{}, "VOID"},
	} {
		if got := strings.Join(tc.srv.ServiceAliases(), ","); got != tc.want {
			t.Errorf("ServiceAliases = %s, want %s", got, tc.want)
		}
	}
}

// KVService checks the name derivation: "KVService" -> "KV".
type KVService struct{}

func (*KVService) Get(k string) string { return k }

func TestGoroutinesEndWithShutdown(t *testing.T) {
	before := countGoroutines()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &server.Server{NewService: func() any { return &TestService{} }, Kind: server.ThreadPool, Workers: 4}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(context.Background(), ln) }()
	for range 3 {
		_, root := connect(t, ln.Addr().String())
		seq, err := rpyc.As[*rpyc.Ref](root.CallMethod(context.Background(), "count", 50))
		if err != nil {
			t.Fatal(err)
		}
		for v, err := range seq.Iter(context.Background()) {
			if err != nil || v != int64(0) {
				t.Fatalf("first item %v, %v", v, err)
			}
			break // leaves a Go iterator (an iter.Pull goroutine) behind on the server
		}
		if _, err := root.CallMethod(context.Background(), "add", 1, 2); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	<-served
	waitFor(t, 10*time.Second, fmt.Sprintf("goroutines back to %d", before), func() bool {
		return countGoroutines() <= before
	})
}

func countGoroutines() int {
	runtime.GC()
	return runtime.NumGoroutine()
}
