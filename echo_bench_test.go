//go:build unix

package rpyc_test

// BenchmarkEcho16MiB is the "echo 16 MiB random bytes" row of the speed table (issue 12): `go test
// -run='^$' -bench='^BenchmarkEcho16MiB$' .` finds it (pin it with taskset -c 0). Its sub-benchmarks
// are named <data>/<config>: data "random" (incompressible) or "text" (repetitive text), config
// "default" (both sides default) or "raw" (compression off on both sides). MB/s counts the payload
// once per echo (as the Python anchor, tox-interop/bench_echo.py, does).

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"testing"
	"time"

	"github.com/gorpyc/rpyc"
	"github.com/gorpyc/rpyc/protocol"
	"github.com/gorpyc/rpyc/server"
)

// echoService is the Go service of the echo benchmarks and tests: root.echo(x) returns x.
type echoService struct{}

// Echo returns b.
func (echoService) Echo(b []byte) []byte { return b }

// echoPayload returns n bytes of random (incompressible) or repetitive text data.
func echoPayload(n int, text bool) []byte {
	if text {
		line := []byte("the quick brown fox jumps over the lazy dog 0123456789\n")
		return bytes.Repeat(line, n/len(line)+1)[:n]
	}
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{12})
	_, _ = r.Read(b)
	return b
}

// startEchoServer serves echoService on a loopback port with cfg (nil: defaults) until the test
// ends, and returns its address.
func startEchoServer(tb testing.TB, cfg *protocol.Config) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	srv := &server.Server{Service: echoService{}, Config: cfg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.Background(), ln) }()
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		if err := <-done; err != nil && !errors.Is(err, server.ErrServerClosed) {
			tb.Errorf("Serve returned %v", err)
		}
	})
	return ln.Addr().String()
}

// echoConfig is the client and server configuration of an echo benchmark.
func echoConfig(raw bool) *protocol.Config {
	cfg := protocol.DefaultConfig()
	cfg.Channel.DisableCompression = raw
	return &cfg
}

// BenchmarkEcho16MiB times root.echo(16 MiB) from a Go client to a Go server over loopback TCP, for
// random and text data, with the default configuration and with compression off (see the comment
// at the top of this file; `make bench` runs it pinned with taskset -c 0).
func BenchmarkEcho16MiB(b *testing.B) {
	for _, data := range []string{"random", "text"} {
		for _, conf := range []string{"default", "raw"} {
			b.Run(data+"/"+conf, func(b *testing.B) {
				cfg := echoConfig(conf == "raw")
				addr := startEchoServer(b, cfg)
				ctx := context.Background()
				conn, err := rpyc.Connect(ctx, addr, rpyc.WithConfig(*cfg))
				if err != nil {
					b.Fatal(err)
				}
				defer conn.Close()
				root, err := conn.Root(ctx)
				if err != nil {
					b.Fatal(err)
				}
				payload := echoPayload(16<<20, data == "text")
				echo := func() {
					got, err := rpyc.As[[]byte](root.CallMethod(ctx, "echo", payload))
					if err != nil || len(got) != len(payload) {
						b.Fatalf("echo: %d bytes, %v", len(got), err)
					}
				}
				echo() // warm-up
				b.SetBytes(int64(len(payload)))
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					echo()
				}
			})
		}
	}
}
