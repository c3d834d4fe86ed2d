// Command metrics is a Go RPyC server instrumented with OpenTelemetry (package rpycotel) whose
// metrics Prometheus scrapes at /metrics:
//
//	go run ./examples/metrics -addr 127.0.0.1:18861 -metrics 127.0.0.1:9464
//	/usr/bin/python3 -c 'import rpyc; c = rpyc.connect("127.0.0.1", 18861); print(c.root.add(1, 2))'
//	curl -s 127.0.0.1:9464/metrics | grep rpyc_
//
// which shows, among others:
//
//	rpyc_requests_total{rpyc_direction="incoming",rpyc_handler="HANDLE_CALLATTR"} 1
//	rpyc_request_duration_seconds_bucket{rpyc_direction="incoming",rpyc_handler="HANDLE_CALLATTR",le="0.0001"} 1
//	rpyc_connections_active 1
//
// Spans go to the global TracerProvider (a no-op here); set one up with an exporter of your
// choice (OTLP, stdout) and pass it with rpycotel.WithTracerProvider.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/gorpyc/rpyc/protocol"
	"github.com/gorpyc/rpyc/rpycotel"
	"github.com/gorpyc/rpyc/server"
)

// CalcService is the service: root.add, root.div (ZeroDivisionError counts as an error by class).
type CalcService struct{}

// Add returns a + b.
func (CalcService) Add(a, b int) int { return a + b }

// Div returns a / b; b == 0 raises ZeroDivisionError.
func (CalcService) Div(a, b float64) (float64, error) {
	if b == 0 {
		return 0, fmt.Errorf("%w: division by zero", protocol.ZeroDivisionError)
	}
	return a / b, nil
}

func main() {
	addr := flag.String("addr", "127.0.0.1:18861", "RPyC listen address")
	metricsAddr := flag.String("metrics", "127.0.0.1:9464", "Prometheus /metrics listen address")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *addr, *metricsAddr, nil); err != nil {
		slog.Error("metrics example", "err", err)
		os.Exit(1)
	}
}

// run serves until ctx ends; started, if set, gets the RPyC and the metrics addresses.
func run(ctx context.Context, addr, metricsAddr string, started func(rpycAddr, metricsAddr net.Addr)) error {
	// The OTel Prometheus exporter is a metric reader; it registers with a Prometheus registry.
	reg := prometheus.NewRegistry()
	exp, err := otelprom.New(otelprom.WithRegisterer(reg), otelprom.WithoutScopeInfo())
	if err != nil {
		return err
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))
	defer func() { _ = mp.Shutdown(context.Background()) }()

	obs, err := rpycotel.NewObserver(rpycotel.WithMeterProvider(mp))
	if err != nil {
		return err
	}
	cfg := protocol.DefaultConfig()
	cfg.Observer = obs // without it, connections pay nothing for instrumentation
	srv := &server.Server{Service: CalcService{}, Config: &cfg}

	mln, err := net.Listen("tcp", metricsAddr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(mln) }()
	defer func() { _ = hs.Close() }()

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	if started != nil {
		started(ln.Addr(), mln.Addr())
	}
	slog.Info("serving", "rpyc", ln.Addr().String(), "metrics", "http://"+mln.Addr().String()+"/metrics")
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ctx, ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	if err := <-errc; err != nil && !errors.Is(err, server.ErrServerClosed) {
		return err
	}
	return nil
}
