package rpycotel_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/gorpyc/rpyc"
	"github.com/gorpyc/rpyc/netref"
	"github.com/gorpyc/rpyc/protocol"
	"github.com/gorpyc/rpyc/rpycotel"
	"github.com/gorpyc/rpyc/server"
)

// testService is the Go service of the tests.
type testService struct{}

func (testService) Add(a, b int) int { return a + b }

func (testService) Fail() error { return fmt.Errorf("%w: no such thing", protocol.ValueError) }

// Twice calls fn (a client's callback) with 1 and 2 and sums the results.
func (testService) Twice(ctx context.Context, fn *netref.Ref) (int, error) {
	sum := 0
	for i := 1; i <= 2; i++ {
		v, err := rpyc.As[int](fn.Call(ctx, i))
		if err != nil {
			return 0, err
		}
		sum += v
	}
	return sum, nil
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// serve starts a Go server with obs as its connections' Observer and returns its address.
func serve(t testing.TB, obs protocol.Observer) (addr string, srv *server.Server) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := protocol.DefaultConfig()
	cfg.Observer = obs
	srv = &server.Server{Service: testService{}, Config: &cfg, Logger: quiet}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.Background(), ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		if err := <-done; err != nil && !errors.Is(err, server.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String(), srv
}

func collect(t *testing.T, r *sdkmetric.ManualReader) map[string]metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			out[m.Name] = m
		}
	}
	return out
}

// sumWhere adds up the int64 sum points of m whose attributes include all of want.
func sumWhere(m metricdata.Metrics, want ...attribute.KeyValue) int64 {
	var n int64
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		for _, p := range d.DataPoints {
			if hasAll(p.Attributes, want) {
				n += p.Value
			}
		}
	case metricdata.Gauge[int64]:
		for _, p := range d.DataPoints {
			if hasAll(p.Attributes, want) {
				n += p.Value
			}
		}
	}
	return n
}

func hasAll(set attribute.Set, want []attribute.KeyValue) bool {
	for _, kv := range want {
		if v, ok := set.Value(kv.Key); !ok || v != kv.Value {
			return false
		}
	}
	return true
}

func histCount(m metricdata.Metrics, want ...attribute.KeyValue) uint64 {
	var n uint64
	if d, ok := m.Data.(metricdata.Histogram[float64]); ok {
		for _, p := range d.DataPoints {
			if hasAll(p.Attributes, want) {
				n += p.Count
			}
		}
	}
	return n
}

var (
	callAttr = rpycotel.HandlerKey.String("HANDLE_CALLATTR")
	incoming = rpycotel.DirectionKey.String("incoming")
)

// waitFor polls cond until it holds or 5 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestMetrics: a Go client calls a Go server whose connections have the Observer; the server's
// metrics count the requests, the errors by Python class, the bytes and the connections.
func TestMetrics(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	obs, err := rpycotel.NewObserver(rpycotel.WithMeterProvider(mp))
	if err != nil {
		t.Fatal(err)
	}
	addr, _ := serve(t, obs)
	ctx := context.Background()
	conn, err := rpyc.Connect(ctx, addr, rpyc.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	root, err := conn.Root(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const n = 25
	for i := range n {
		if v, err := rpyc.As[int](root.CallMethod(ctx, "add", i, 1)); err != nil || v != i+1 {
			t.Fatalf("add = %v, %v", v, err)
		}
	}
	const fails = 3
	for range fails {
		if _, err := root.CallMethod(ctx, "fail"); !errors.Is(err, protocol.ValueError) {
			t.Fatalf("fail: %v, want a ValueError", err)
		}
	}
	ms := collect(t, reader)
	if got := sumWhere(ms["rpyc.requests"], callAttr, incoming); got != n+fails {
		t.Errorf("rpyc.requests{HANDLE_CALLATTR, incoming} = %d, want %d", got, n+fails)
	}
	if got := histCount(ms["rpyc.request.duration"], callAttr, incoming); got != n+fails {
		t.Errorf("rpyc.request.duration count = %d, want %d", got, n+fails)
	}
	errType := rpycotel.ErrorTypeKey.String("ValueError")
	if got := sumWhere(ms["rpyc.request.errors"], callAttr, errType); got != fails {
		t.Errorf("rpyc.request.errors{ValueError} = %d, want %d", got, fails)
	}
	if got := sumWhere(ms["rpyc.request.errors"]); got != fails {
		t.Errorf("rpyc.request.errors (all) = %d, want %d", got, fails)
	}
	for _, dir := range []string{"transmit", "receive"} {
		kv := rpycotel.IODirectionKey.String(dir)
		if got := sumWhere(ms["rpyc.message.bytes"], kv); got <= 0 {
			t.Errorf("rpyc.message.bytes{%s} = %d, want > 0", dir, got)
		}
		if got := sumWhere(ms["rpyc.messages"], kv); got < n+fails {
			t.Errorf("rpyc.messages{%s} = %d, want >= %d", dir, got, n+fails)
		}
	}
	if got := sumWhere(ms["rpyc.connections.active"]); got != 1 {
		t.Errorf("rpyc.connections.active = %d with a client connected, want 1", got)
	}
	if got := sumWhere(ms["rpyc.objects.exported"]); got < 1 {
		t.Errorf("rpyc.objects.exported = %d, want >= 1 (the root)", got)
	}

	conn.Close()
	waitFor(t, "rpyc.connections.active back to 0", func() bool {
		return sumWhere(collect(t, reader)["rpyc.connections.active"]) == 0
	})
	ms = collect(t, reader)
	if got := sumWhere(ms["rpyc.connections"]); got != 1 {
		t.Errorf("rpyc.connections = %d, want 1", got)
	}
	if got := sumWhere(ms["rpyc.objects.exported"]); got != 0 {
		t.Errorf("rpyc.objects.exported = %d after close, want 0", got)
	}
}

// TestTraceCallback: the client's callbacks, sent from the server's handler context, are child
// spans of the server span of the request that made them; the client's own request is a client
// span (client side observed too), and a failure has an error status with its Python class.
func TestTraceCallback(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	obs, err := rpycotel.NewObserver(rpycotel.WithTracerProvider(tp), rpycotel.WithMeterProvider(sdkmetric.NewMeterProvider()))
	if err != nil {
		t.Fatal(err)
	}
	addr, _ := serve(t, obs)
	ctx := context.Background()
	cfg := protocol.DefaultConfig()
	cfg.Observer = obs
	conn, err := rpyc.Connect(ctx, addr, rpyc.WithLogger(quiet), rpyc.WithConfig(cfg))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	root, err := conn.Root(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ctx, parent := tp.Tracer("test").Start(ctx, "parent")
	v, err := rpyc.As[int](root.CallMethod(ctx, "twice", func(x int) int { return 10 * x }))
	if err != nil || v != 30 {
		t.Fatalf("twice = %v, %v", v, err)
	}
	if _, err := root.CallMethod(ctx, "fail"); err == nil {
		t.Fatal("fail succeeded")
	}
	parent.End()

	spans := exp.GetSpans()
	byID := map[trace.SpanID]tracetest.SpanStub{}
	for _, s := range spans {
		byID[s.SpanContext.SpanID()] = s
	}
	var serverCall tracetest.SpanStub
	var callbacks []tracetest.SpanStub
	var failed bool
	for _, s := range spans {
		if s.Name != "rpyc HANDLE_CALLATTR" && s.Name != "rpyc HANDLE_CALL" {
			continue
		}
		attrs := attribute.NewSet(s.Attributes...)
		if v, _ := attrs.Value(rpycotel.RPCSystemKey); v.AsString() != "rpyc" {
			t.Errorf("%s: rpc.system = %q", s.Name, v.AsString())
		}
		if v, _ := attrs.Value(rpycotel.ConnectionIDKey); v.AsString() == "" {
			t.Errorf("%s: no rpyc.connection.id", s.Name)
		}
		if s.Status.Code == codes.Error {
			if v, _ := attrs.Value(rpycotel.ErrorTypeKey); v.AsString() != "ValueError" || s.Status.Description != "ValueError" {
				t.Errorf("failed span %s: error.type %q, status %q; want ValueError", s.Name, v.AsString(), s.Status.Description)
			}
			failed = true
			continue
		}
		switch {
		case s.Name == "rpyc HANDLE_CALLATTR" && s.SpanKind == trace.SpanKindServer:
			serverCall = s
		case s.Name == "rpyc HANDLE_CALL" && s.SpanKind == trace.SpanKindClient:
			callbacks = append(callbacks, s)
		}
	}
	if !failed {
		t.Error("no span with an error status for fail()")
	}
	if !serverCall.SpanContext.IsValid() {
		t.Fatalf("no server span for the call of twice; spans: %v", names(spans))
	}
	if len(callbacks) != 2 {
		t.Fatalf("%d outgoing HANDLE_CALL spans (the callbacks), want 2; spans: %v", len(callbacks), names(spans))
	}
	for _, cb := range callbacks {
		if cb.Parent.SpanID() != serverCall.SpanContext.SpanID() {
			t.Errorf("callback span's parent is %v, want the server span %v", cb.Parent.SpanID(), serverCall.SpanContext.SpanID())
		}
		if cb.SpanContext.TraceID() != serverCall.SpanContext.TraceID() {
			t.Error("callback span in another trace")
		}
	}
	// The client's outgoing call is a child of the test's parent span (in this process, the
	// client's and the server's spans are separate traces: RPyC carries no trace context).
	var clientCall bool
	for _, s := range spans {
		if s.Name == "rpyc HANDLE_CALLATTR" && s.SpanKind == trace.SpanKindClient && s.Status.Code != codes.Error {
			clientCall = s.Parent.SpanID() == parent.SpanContext().SpanID()
		}
	}
	if !clientCall {
		t.Error("the client's HANDLE_CALLATTR span is not a child of the caller's span")
	}
}

func names(spans tracetest.SpanStubs) []string {
	var out []string
	for _, s := range spans {
		out = append(out, fmt.Sprintf("%s/%v", s.Name, s.SpanKind))
	}
	return out
}

// TestProxiesHeld: an observed client that holds proxies of the server's objects reports them in
// rpyc.proxies.held, and none once the connection is closed.
func TestProxiesHeld(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	obs, err := rpycotel.NewObserver(rpycotel.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))))
	if err != nil {
		t.Fatal(err)
	}
	addr, _ := serve(t, nil)
	ctx := context.Background()
	cfg := protocol.DefaultConfig()
	cfg.Observer = obs
	conn, err := rpyc.Connect(ctx, addr, rpyc.WithConfig(cfg))
	if err != nil {
		t.Fatal(err)
	}
	root, err := conn.Root(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fn, err := root.GetAttr(ctx, "add") // a proxy of the bound method
	if err != nil {
		t.Fatal(err)
	}
	if got := sumWhere(collect(t, reader)["rpyc.proxies.held"]); got < 2 {
		t.Errorf("rpyc.proxies.held = %d holding the root and a method, want >= 2", got)
	}
	fn.(*netref.Ref).Release()
	conn.Close()
	waitFor(t, "rpyc.proxies.held back to 0", func() bool {
		return sumWhere(collect(t, reader)["rpyc.proxies.held"]) == 0
	})
}
