package rpycotel_test

import (
	"context"
	"testing"

	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/gorpyc/rpyc"
	"github.com/gorpyc/rpyc/protocol"
	"github.com/gorpyc/rpyc/rpycotel"
)

// BenchmarkObserver measures what the instrumentation costs: the trivial Go-to-Go call of the
// repository's BenchmarkCore (root.add(1, 2) over loopback TCP, the observer on both the client
// and the server) with no Observer (the baseline; the protocol package only nil-checks), with
// rpycotel on no-op providers, and with rpycotel on the SDK (a ManualReader, and a sampling
// TracerProvider with no exporter). Run it pinned to one core, like BenchmarkCore:
//
//	taskset -c 0 go test -run='^$' -bench='^BenchmarkObserver$' -benchmem -benchtime=3s ./rpycotel
func BenchmarkObserver(b *testing.B) {
	b.Run("none", func(b *testing.B) { benchCall(b, nil) })
	b.Run("otel-noop", func(b *testing.B) {
		obs, err := rpycotel.NewObserver(rpycotel.WithMeterProvider(metricnoop.NewMeterProvider()),
			rpycotel.WithTracerProvider(tracenoop.NewTracerProvider()))
		if err != nil {
			b.Fatal(err)
		}
		benchCall(b, obs)
	})
	b.Run("otel-sdk", func(b *testing.B) {
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
		tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()))
		defer func() { _ = tp.Shutdown(context.Background()) }()
		obs, err := rpycotel.NewObserver(rpycotel.WithMeterProvider(mp), rpycotel.WithTracerProvider(tp))
		if err != nil {
			b.Fatal(err)
		}
		benchCall(b, obs)
	})
}

func benchCall(b *testing.B, obs protocol.Observer) {
	addr, _ := serve(b, obs)
	ctx := context.Background()
	cfg := protocol.DefaultConfig()
	cfg.Observer = obs
	conn, err := rpyc.Connect(ctx, addr, rpyc.WithLogger(quiet), rpyc.WithConfig(cfg))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	root, err := conn.Root(ctx)
	if err != nil {
		b.Fatal(err)
	}
	for range 100 { // warm up
		if _, err := root.CallMethod(ctx, "add", 1, 2); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if n, err := rpyc.As[int](root.CallMethod(ctx, "add", 1, 2)); err != nil || n != 3 {
			b.Fatalf("add = %v, %v", n, err)
		}
	}
}
