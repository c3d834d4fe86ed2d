package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gorpyc/rpyc/registry"
)

// TestMetricsEndpoint: with --metrics, /metrics (Prometheus text format, over HTTP on
// 127.0.0.1) counts a REGISTER and a QUERY by command and transport, and the registrations held.
func TestMetricsEndpoint(t *testing.T) {
	for _, mode := range []string{"UDP", "TCP"} {
		t.Run(mode, func(t *testing.T) {
			addr, log, stop := runCommand(t, "--host", "127.0.0.1", "-p", "0", "-m", mode, "--metrics", "127.0.0.1:0")
			defer stop()
			m := regexp.MustCompile(`url=(http://\S+/metrics)`).FindStringSubmatch(log.String())
			if m == nil {
				t.Fatalf("no metrics URL logged:\n%s", log.String())
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
			type client interface {
				Register(ctx context.Context, aliases []string, port int) error
				Discover(ctx context.Context, name string) ([]registry.Endpoint, error)
			}
			var c client = &registry.UDPClient{Addr: addr, Interface: "127.0.0.1", Logger: quiet}
			if mode == "TCP" {
				c = &registry.TCPClient{Addr: addr, Interface: "127.0.0.1", Logger: quiet}
			}
			if err := c.Register(ctx, []string{"METRICS", "OTHER"}, 12345); err != nil {
				t.Fatal(err)
			}
			if eps, err := c.Discover(ctx, "metrics"); err != nil || len(eps) != 1 {
				t.Fatalf("Discover = %v, %v", eps, err)
			}
			resp, err := http.Get(m[1])
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: %v %v", m[1], resp.Status, err)
			}
			text := string(body)
			tr := strings.ToLower(mode)
			for _, want := range []string{
				`rpyc_registry_requests_total{command="REGISTER",transport="` + tr + `"} 1`,
				`rpyc_registry_requests_total{command="QUERY",transport="` + tr + `"} 1`,
				"rpyc_registry_registrations 2",
				"rpyc_registry_names 2",
			} {
				if !strings.Contains(text, want+"\n") {
					t.Errorf("/metrics lacks %q:\n%s", want, text)
				}
			}
		})
	}
}
