package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/attribute"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/gorpyc/rpyc/registry"
)

// serveMetrics (--metrics ADDR, a gorpyc addition) counts s's requests by command and transport
// and serves them, with the registrations held, in Prometheus's text format at
// http://ADDR/metrics:
//
//	rpyc_registry_requests_total{command="REGISTER",transport="udp"}  requests answered or not
//	rpyc_registry_names / rpyc_registry_registrations                 gauges
//
// It must run before s serves (it sets s.OnRequest). It returns a function that stops it.
func serveMetrics(addr string, s *registry.Server, log *slog.Logger) (stop func(), err error) {
	reg := prometheus.NewRegistry()
	exp, err := otelprom.New(otelprom.WithRegisterer(reg), otelprom.WithoutScopeInfo(), otelprom.WithoutTargetInfo())
	if err != nil {
		return nil, err
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))
	m := mp.Meter("github.com/gorpyc/rpyc/cmd/rpyc-registry")
	requests, err := m.Int64Counter("rpyc.registry.requests",
		metric.WithDescription("Registry requests received, by command and transport"))
	if err != nil {
		return nil, err
	}
	// One attribute set per command and transport, built once.
	sets := map[[2]string]metric.AddOption{}
	for _, c := range []registry.Command{registry.CmdRegister, registry.CmdUnregister, registry.CmdQuery, registry.CmdList} {
		for _, t := range []string{"udp", "tcp"} {
			sets[[2]string{string(c), t}] = metric.WithAttributeSet(attribute.NewSet(
				attribute.String("command", string(c)), attribute.String("transport", t)))
		}
	}
	s.OnRequest = func(cmd registry.Command, transport string) {
		opt, ok := sets[[2]string{string(cmd), transport}]
		if !ok {
			opt = metric.WithAttributes(attribute.String("command", string(cmd)), attribute.String("transport", transport))
		}
		requests.Add(context.Background(), 1, opt)
	}
	_, err = m.Int64ObservableGauge("rpyc.registry.names", metric.WithDescription("Service names registered"),
		metric.WithInt64Callback(func(_ context.Context, o metric.Int64Observer) error {
			names, _ := s.Registrations()
			o.Observe(int64(names))
			return nil
		}))
	if err != nil {
		return nil, err
	}
	_, err = m.Int64ObservableGauge("rpyc.registry.registrations",
		metric.WithDescription("Registrations held (one per name and endpoint), stale ones included until pruned"),
		metric.WithInt64Callback(func(_ context.Context, o metric.Int64Observer) error {
			_, entries := s.Registrations()
			o.Observe(int64(entries))
			return nil
		}))
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("rpyc-registry: metrics endpoint failed", "err", err)
		}
	}()
	log.Info("rpyc-registry: serving metrics", "url", "http://"+ln.Addr().String()+"/metrics")
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = hs.Shutdown(ctx)
		_ = mp.Shutdown(ctx)
	}, nil
}
