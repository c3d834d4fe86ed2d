//go:build unix

package rpyc_test

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorpyc/rpyc"
	"github.com/gorpyc/rpyc/internal/interop"
	"github.com/gorpyc/rpyc/server"
)

// TestInteropUnixSocket: a Go client reaches Python ThreadedServers listening on a Unix socket
// (socket_path=...) of both versions with rpyc.Connect("unix://PATH"), finding the dialect by
// itself; and Python's unix_connect reaches a Go server started with
// ListenAndServe("unix://PATH").
func TestInteropUnixSocket(t *testing.T) {
	for _, p := range interop.Peers(t) {
		t.Run(p.Name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()

			// Go client -> Python server.
			path := filepath.Join(t.TempDir(), "py.sock")
			proc := p.Start(t, "test_service.py", "--unix", path)
			line, err := proc.ReadLine(20 * time.Second)
			if err != nil || strings.TrimSpace(line) != "LISTENING unix://"+path {
				t.Fatalf("Python server announced %q, %v", line, err)
			}
			conn, err := rpyc.Connect(ctx, "unix://"+path)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			root, err := conn.Root(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if n, err := rpyc.As[int](root.CallMethod(ctx, "add", 20, 22)); err != nil || n != 42 {
				t.Fatalf("add over a Unix socket = %v, %v", n, err)
			}
			t.Logf("Go client -> %s over unix://: dialect %v", p.Name, conn.Dialect())

			// Python client -> Go server.
			gopath := filepath.Join(t.TempDir(), "go.sock")
			logs := &interop.Buffer{}
			srv := &server.Server{Service: &unixService{}, Logger: slog.New(slog.NewTextHandler(logs, nil))}
			served := make(chan error, 1)
			sctx, stop := context.WithCancel(ctx)
			go func() { served <- srv.ListenAndServe(sctx, "unix://"+gopath) }()
			defer func() { stop(); <-served }()
			out := p.Run(t, "unix_client.py", gopath)
			if got := strings.TrimSpace(out); got != "UNIX 42" {
				t.Fatalf("Python unix_connect to the Go server printed %q", got)
			}
			if l := logs.String(); strings.Contains(l, "remote=@") || !strings.Contains(l, "remote=unix:"+gopath) {
				t.Errorf("the server's log does not name the socket:\n%s", l)
			}
			if fi, err := os.Stat(gopath); err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("the Go server's socket: %v, %v; want mode 0600", fi, err)
			}
			stop()
			if err := <-served; err != nil && !errors.Is(err, server.ErrServerClosed) {
				t.Errorf("ListenAndServe returned %v", err)
			}
			served <- nil
			if _, err := os.Stat(gopath); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the socket file is still there after the server stopped: %v", err)
			}
		})
	}
}

// unixService is the Go service Python reaches over a Unix socket.
type unixService struct{}

// Add returns a + b.
func (*unixService) Add(a, b int) int { return a + b }

// TestInteropDialectRemembered: Connect probes a server's dialect once per address; later
// connects probe in the dialect it answered in, so a 6.x server logs the refused v5 probe (a
// traceback) once, not on every connect: connects after the first add nothing to its log.
func TestInteropDialectRemembered(t *testing.T) {
	for _, p := range interop.Peers(t) {
		t.Run(p.Name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			proc := p.Start(t, "test_service.py")
			addr, err := proc.WaitListening(20 * time.Second)
			if err != nil {
				t.Fatal(err)
			}
			connect := func(i int) {
				conn, err := rpyc.Connect(ctx, addr)
				if err != nil {
					t.Fatalf("connect %d: %v", i, err)
				}
				root, err := conn.Root(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if n, err := rpyc.As[int](root.CallMethod(ctx, "add", 1, 2)); err != nil || n != 3 {
					t.Fatalf("connect %d: add = %v, %v", i, n, err)
				}
				conn.Close()
				time.Sleep(200 * time.Millisecond) // let the server write what it logs
			}
			connect(0)
			// A 6.x server logs the refused v5 probe of the first connect (unless an earlier test
			// of this process already met a 6.x server at the same address).
			first := strings.Count(proc.Stderr(), "Traceback")
			t.Logf("the first connect left %d tracebacks in the server's log", first)
			for i := 1; i < 4; i++ {
				connect(i)
			}
			if n := strings.Count(proc.Stderr(), "Traceback"); n != first {
				t.Fatalf("3 more connects added %d tracebacks to the server's log, want none:\n%s", n-first, proc.Stderr())
			}
		})
	}
}
