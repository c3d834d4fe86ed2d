//go:build unix

package classic_test

import (
	"context"
	"crypto/tls"
	"errors"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorpyc/rpyc/classic"
	"github.com/gorpyc/rpyc/compat"
	"github.com/gorpyc/rpyc/internal/interop"
	"github.com/gorpyc/rpyc/netref"
)

func TestConnectTLS(t *testing.T) {
	interop.ForEachPeer(t, func(t *testing.T, p interop.Peer) {
		certFile, keyFile, pool := interop.SelfSignedCert(t, t.TempDir())
		proc := p.Start(t, "classic_server.py", "--tls", certFile, keyFile)
		addr, err := proc.WaitListening(30 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		for name, cfg := range map[string]*tls.Config{
			"unverified, like Python": {InsecureSkipVerify: true},
			"verified":                {RootCAs: pool},
		} {
			c, err := classic.Connect(testCtx(t), addr, classic.WithTLS(cfg))
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if v, err := c.Eval(testCtx(t), "6 * 7"); err != nil || v != int64(42) {
				t.Errorf("%s: Eval = %v, %v", name, v, err)
			}
			c.Close()
		}
		// A plain connection to the TLS port fails (the server resets it).
		if c, err := classic.Connect(testCtx(t), addr, classic.WithDialTimeout(5*time.Second)); err == nil {
			c.Close()
			t.Error("plain Connect to a TLS server succeeded")
		}
	})
}

// TestRPyCClassicCommand runs rpyc's own rpyc_classic command line in threaded mode.
func TestRPyCClassicCommand(t *testing.T) {
	interop.ForEachPeer(t, func(t *testing.T, p interop.Peer) {
		proc := p.Start(t, "classic_cli.py", "-m", "threaded", "-q")
		addr, err := proc.WaitListening(30 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		want := compat.V5
		if strings.HasPrefix(p.Version, "6.") {
			want = compat.V6
		}
		c, err := classic.Connect(testCtx(t), addr, classic.WithDialect(want))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if c.Conn().Dialect() != want {
			t.Errorf("dialect %v, want %v", c.Conn().Dialect(), want)
		}
		v, err := classic.EvalAs[string](testCtx(t), c, "__import__('rpyc').__version__")
		if err != nil || v != p.Version {
			t.Fatalf("server rpyc version %q, %v; want %s", v, err, p.Version)
		}
	})
}

// TestClassicServiceServer connects to a ClassicService, which calls back into the Go side's
// slave root on connect (as rpyc_classic's stdio mode does), over TCP.
func TestClassicServiceServer(t *testing.T) {
	interop.ForEachPeer(t, func(t *testing.T, p interop.Peer) {
		proc := p.Start(t, "classic_server.py", "--service", "classic")
		addr, err := proc.WaitListening(30 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c, err := classic.Connect(testCtx(t), addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		ctx := testCtx(t)
		// The server speaks first (GETROOT from its on_connect) while the dialect probe waits.
		// Against 5.x (the dialect probed first) the probe takes that request as its answer, on
		// the first connection, without upsetting the server. Against 6.x the v5 probe reaches
		// the server before its request reaches us: that first connection is refused (the server
		// logs it) and Connect redials in v6, as documented.
		if _, err := c.Root().CallMethod(ctx, "eval", "1"); err != nil {
			t.Fatal(err)
		}
		e := proc.Stderr()
		if strings.HasPrefix(p.Version, "5.") && (strings.Contains(e, "Traceback") || strings.Contains(e, "invalid message")) {
			t.Fatalf("the server logged errors during connect:\n%s", e)
		}
		if n := strings.Count(e, "terminated abruptly"); strings.HasPrefix(p.Version, "6.") && n > 1 {
			t.Fatalf("%d refused connections before the right dialect, want at most 1:\n%s", n, e)
		}
		// The server's connection object holds our slave root's helpers (ClassicService
		// installed them on connect): use them through it.
		conn, err := c.Root().CallMethod(ctx, "getconn")
		if err != nil {
			t.Fatal(err)
		}
		defer conn.(*netref.Ref).Release()
		// The server installs conn.modules at the end of its on_connect, which may still be
		// waiting for our answers while it serves our first requests: poll for it.
		var mods any
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			mods, err = conn.(*netref.Ref).GetAttr(ctx, "modules")
			if err == nil || time.Now().After(deadline) {
				break
			}
		}
		if err != nil {
			t.Fatal(err)
		}
		defer mods.(*netref.Ref).Release()
		m, err := mods.(*netref.Ref).GetItem(ctx, "builtins")
		if err != nil {
			t.Fatal(err)
		}
		// The server asked us for builtins and holds our placeholder: it comes back as itself.
		if gm, ok := m.(*classic.GoModule); !ok || gm.Name != "builtins" {
			t.Errorf("server's modules['builtins'] = %#v", m)
		}
		// Any other module is refused, as an ImportError Python understands.
		if _, err := mods.(*netref.Ref).GetItem(ctx, "json"); err == nil || !strings.Contains(err.Error(), "ModuleNotFoundError") {
			t.Errorf("server's modules['json'] = %v", err)
		}
		// eval on the Go side is refused with NotImplementedError.
		_, err = conn.(*netref.Ref).CallMethod(ctx, "eval", "1")
		if err == nil || !strings.Contains(err.Error(), "NotImplementedError") {
			t.Errorf("server calling our eval = %v", err)
		}
	})
}

func TestNotClassic(t *testing.T) {
	interop.ForEachPeer(t, func(t *testing.T, p interop.Peer) {
		proc := p.Start(t, "test_service.py")
		addr, err := proc.WaitListening(30 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c, err := classic.Connect(testCtx(t), addr)
		if !errors.Is(err, classic.ErrNotClassic) {
			if c != nil {
				c.Close()
			}
			t.Fatalf("Connect(ordinary service) = %v, want ErrNotClassic", err)
		}
	})
}

func TestStartPythonLifecycle(t *testing.T) {
	interop.ForEachPeer(t, func(t *testing.T, p interop.Peer) {
		c, err := classic.StartPython(testCtx(t), p.Python, classic.WithEnv(pythonEnv(p)...))
		if err != nil {
			t.Fatal(err)
		}
		pid := c.Pid()
		if v, err := classic.EvalAs[int](testCtx(t), c, "__import__('os').getpid()"); err != nil || v != pid {
			t.Fatalf("remote pid %d, %v; child pid %d", v, err, pid)
		}
		if v, err := classic.EvalAs[string](testCtx(t), c, "__import__('rpyc').__version__"); err != nil || v != p.Version {
			t.Fatalf("child rpyc %q, %v; want %s", v, err, p.Version)
		}
		if err := c.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Fatalf("child %d still exists after Close: %v", pid, err)
		}
		if err := c.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		if _, err := c.Eval(testCtx(t), "1"); err == nil {
			t.Fatal("Eval after Close succeeded")
		}
	})
}

func testCtxTimeout(t *testing.T, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(testCtx(t), d)
}

func TestStartPythonFailures(t *testing.T) {
	interop.ForEachPeer(t, func(t *testing.T, p interop.Peer) {
		var stderr interop.Buffer
		_, err := classic.StartPython(testCtx(t), p.Python, classic.WithEnv(pythonEnv(p)...),
			classic.WithStderr(&stderr),
			classic.WithServerArgs("-c", "import sys; sys.stderr.write('no server here\\n'); sys.exit(3)"))
		if !errors.Is(err, classic.ErrProcessExited) || !strings.Contains(err.Error(), "no server here") ||
			!strings.Contains(stderr.String(), "no server here") {
			t.Errorf("StartPython(exiting child) = %v (stderr %q)", err, stderr.String())
		}
		_, err = classic.StartPython(testCtx(t), filepath.Join(t.TempDir(), "no-python"))
		if err == nil {
			t.Error("StartPython(missing interpreter) succeeded")
		}
		// A child that never speaks is killed when the context ends.
		ctx, cancel := testCtxTimeout(t, 2*time.Second)
		defer cancel()
		start := time.Now()
		_, err = classic.StartPython(ctx, p.Python, classic.WithServerArgs("-c", "import time; time.sleep(60)"),
			classic.WithStopTimeout(time.Second))
		if err == nil || time.Since(start) > 10*time.Second {
			t.Errorf("StartPython(silent child) = %v after %v", err, time.Since(start))
		}
	})
}
