package rpyc_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorpyc/rpyc"
	"github.com/gorpyc/rpyc/brine"
	"github.com/gorpyc/rpyc/compat"
	"github.com/gorpyc/rpyc/protocol"
	"github.com/gorpyc/rpyc/server"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// noisyService does what makes a server log: it panics, and its connections come and go.
type noisyService struct{}

func (noisyService) Boom() int { panic("boom") }

// TestQuietByDefault: neither the client nor the server logs anything to slog's default
// logger unless given a logger (a panic in a handler, connects and disconnects, a client that
// goes away mid-call); with one, the server's lines appear there.
func TestQuietByDefault(t *testing.T) {
	var buf lockedBuffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	t.Cleanup(func() { slog.SetDefault(old) })

	run := func(logger *slog.Logger) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &server.Server{Service: noisyService{}, Logger: logger}
		go func() { _ = srv.Serve(ctx, ln) }()
		for range 2 {
			conn, err := rpyc.Connect(ctx, ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			root, err := conn.Root(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := root.CallMethod(ctx, "boom"); !errors.Is(err, rpyc.RuntimeError) {
				t.Errorf("boom() = %v; want a RuntimeError", err)
			}
			_ = root.CallMethodAsync("boom") // the client closes while the reply is under way
			_ = conn.Close()
		}
		_ = srv.Shutdown(ctx)
	}
	run(nil)
	if got := buf.String(); got != "" {
		t.Errorf("logged to slog.Default without a logger:\n%s", got)
	}
	var own lockedBuffer
	run(slog.New(slog.NewTextHandler(&own, nil)))
	if !strings.Contains(own.String(), "panic") {
		t.Errorf("the server's own logger got no panic line:\n%s", own.String())
	}
	if got := buf.String(); got != "" {
		t.Errorf("logged to slog.Default with a logger set:\n%s", got)
	}
}

// TestRootAliases: the root package's names are the lower packages' own values and types, and
// every builtin exception class of package protocol is there.
func TestRootAliases(t *testing.T) {
	if rpyc.KeyError != protocol.KeyError || rpyc.ErrClosed != protocol.ErrClosed ||
		rpyc.ErrStopIteration != protocol.ErrStopIteration || rpyc.Ellipsis != brine.Ellipsis ||
		rpyc.DialectV6 != compat.V6 {
		t.Error("an alias is a copy")
	}
	var _ brine.Tuple = rpyc.Tuple{1}
	var _ brine.Slice = rpyc.Slice{Start: 1}
	var _ protocol.Config = rpyc.DefaultConfig()
	err := &protocol.RemoteError{Module: "builtins", Name: "FileNotFoundError"}
	if !errors.Is(err, rpyc.OSError) || !errors.Is(err, rpyc.FileNotFoundError) {
		t.Error("errors.Is with the root's classes")
	}
	src, err1 := os.ReadFile("protocol/errors.go")
	aliases, err2 := os.ReadFile("aliases.go")
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	for _, m := range regexp.MustCompile(`(?m)^\t(\w+)\s*= builtin\(`).FindAllStringSubmatch(string(src), -1) {
		if !regexp.MustCompile(`(?m)^\t` + m[1] + `\s*= protocol\.` + m[1] + `$`).Match(aliases) {
			t.Errorf("protocol.%s has no alias in package rpyc", m[1])
		}
	}
}
