//go:build unix

package classic_test

import (
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gorpyc/rpyc/classic"
	"github.com/gorpyc/rpyc/internal/interop"
	"github.com/gorpyc/rpyc/netref"
)

// Benchmarks against a live classic server (tox-interop/classic_server.py) per peer; Python's
// own figures on the same data come from tox-interop/classic_bench.py (see docs/classic.md).
//
//	go test -run '^$' -bench . -benchtime 5x ./classic

const benchListLen = 100_000

func benchClient(b *testing.B, p interop.Peer) *classic.Client {
	b.Helper()
	proc := p.Start(b, "classic_server.py")
	addr, err := proc.WaitListening(30 * time.Second)
	if err != nil {
		b.Fatal(err)
	}
	c, err := classic.Connect(context.Background(), addr)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}

func benchList(b *testing.B, c *classic.Client) *netref.Ref {
	b.Helper()
	ctx := context.Background()
	if err := c.Execute(ctx, "bench_list = list(range(100000))"); err != nil {
		b.Fatal(err)
	}
	ns, err := c.Namespace(ctx)
	if err != nil {
		b.Fatal(err)
	}
	v, err := ns.GetItem(ctx, "bench_list")
	if err != nil {
		b.Fatal(err)
	}
	return v.(*netref.Ref)
}

// BenchmarkObtainList100k copies a 100,000-int list with one PICKLE request.
func BenchmarkObtainList100k(b *testing.B) {
	for _, p := range interop.Peers(b) {
		b.Run(p.Name, func(b *testing.B) {
			c := benchClient(b, p)
			ref := benchList(b, c)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				v, err := classic.Obtain(ctx, ref)
				if err != nil {
					b.Fatal(err)
				}
				if l := v.([]any); len(l) != benchListLen {
					b.Fatalf("%d items", len(l))
				}
			}
		})
	}
}

// BenchmarkIterList100k reads the same list through its proxy with BUFFITER batches.
func BenchmarkIterList100k(b *testing.B) {
	for _, p := range interop.Peers(b) {
		b.Run(p.Name, func(b *testing.B) {
			c := benchClient(b, p)
			ref := benchList(b, c)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				n := 0
				for _, err := range ref.Iter(ctx) {
					if err != nil {
						b.Fatal(err)
					}
					n++
				}
				if n != benchListLen {
					b.Fatalf("%d items", n)
				}
			}
		})
	}
}

const benchFileSize = 10 << 20

func benchFile(b *testing.B) string {
	b.Helper()
	data := make([]byte, benchFileSize)
	if _, err := rand.Read(data); err != nil {
		b.Fatal(err)
	}
	p := filepath.Join(b.TempDir(), "bench.bin")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkUpload10MB uploads a 10 MB file of random bytes (MB/s is the transfer rate).
func BenchmarkUpload10MB(b *testing.B) {
	for _, p := range interop.Peers(b) {
		b.Run(p.Name, func(b *testing.B) {
			c := benchClient(b, p)
			src := benchFile(b)
			dst := filepath.Join(b.TempDir(), "up.bin")
			ctx := context.Background()
			b.SetBytes(benchFileSize)
			b.ResetTimer()
			for b.Loop() {
				if err := c.Upload(ctx, src, dst, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDownload10MB downloads a 10 MB file of random bytes.
func BenchmarkDownload10MB(b *testing.B) {
	for _, p := range interop.Peers(b) {
		b.Run(p.Name, func(b *testing.B) {
			c := benchClient(b, p)
			src := benchFile(b)
			dst := filepath.Join(b.TempDir(), "down.bin")
			ctx := context.Background()
			b.SetBytes(benchFileSize)
			b.ResetTimer()
			for b.Loop() {
				if err := c.Download(ctx, src, dst, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
