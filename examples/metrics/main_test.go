//go:build unix

package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorpyc/rpyc/internal/interop"
)

// TestPythonClientMetrics: a real Python rpyc client (each peer version) calls the example's
// Go server; /metrics counts its requests, the ZeroDivisionError by class, and its connection.
func TestPythonClientMetrics(t *testing.T) {
	interop.ForEachPeer(t, func(t *testing.T, p interop.Peer) {
		ctx, cancel := context.WithCancel(context.Background())
		type addrs struct{ rpyc, metrics net.Addr }
		started := make(chan addrs, 1)
		done := make(chan error, 1)
		go func() {
			done <- run(ctx, "127.0.0.1:0", "127.0.0.1:0", func(r, m net.Addr) { started <- addrs{r, m} })
		}()
		defer func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("run: %v", err)
			}
		}()
		var a addrs
		select {
		case a = <-started:
		case err := <-done:
			t.Fatalf("run: %v", err)
		case <-time.After(10 * time.Second):
			t.Fatal("the example did not start")
		}
		const n = 17
		script, _ := filepath.Abs("testdata/client.py")
		out := p.Run(t, script, a.rpyc.String(), strconv.Itoa(n))
		if !strings.Contains(out, "ZeroDivisionError") || !strings.Contains(out, "OK") {
			t.Fatalf("client output: %q", out)
		}
		url := "http://" + a.metrics.String() + "/metrics"
		var text string
		for deadline := time.Now().Add(5 * time.Second); ; {
			text = scrape(t, url)
			if metric(text, `rpyc_connections_active`) == 0 || time.Now().After(deadline) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		checks := []struct {
			series string
			want   float64
		}{
			// root.add is fetched once (HANDLE_GETATTR) and called n times (HANDLE_CALL);
			// root.div(1, 0) is one more call, which fails.
			{`rpyc_requests_total{rpyc_direction="incoming",rpyc_handler="HANDLE_CALL"`, n + 1},
			{`rpyc_request_duration_seconds_count{rpyc_direction="incoming",rpyc_handler="HANDLE_CALL"`, n + 1},
			{`rpyc_request_errors_total{error_type="ZeroDivisionError",rpyc_direction="incoming",rpyc_handler="HANDLE_CALL"`, 1},
			{`rpyc_connections_total`, 1},
			{`rpyc_connections_active`, 0},
		}
		for _, c := range checks {
			if got := metric(text, c.series); got != c.want {
				t.Errorf("%s = %v, want %v", c.series, got, c.want)
			}
		}
		if got := metric(text, `rpyc_message_bytes_total{network_io_direction="receive"`); got <= 0 {
			t.Errorf("received bytes = %v, want > 0", got)
		}
		if t.Failed() {
			t.Logf("/metrics:\n%s", text)
		}
	})
}

func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %v", url, resp.Status, err)
	}
	return string(b)
}

// metric returns the value of the first sample line starting with prefix (-1 if none).
func metric(text, prefix string) float64 {
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(prefix) + `[^ ]* (\S+)$`)
	m := re.FindStringSubmatch(text)
	if m == nil {
		return -1
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		panic(fmt.Sprint(m, err))
	}
	return v
}
