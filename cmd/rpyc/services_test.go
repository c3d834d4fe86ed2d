//go:build unix

package main

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gorpyc/rpyc/internal/interop"
	"github.com/gorpyc/rpyc/registry"
)

// TestServices lists Python's rpyc_registry (UDP and TCP, listing on) holding a Python server
// that registered itself, and checks the error statuses.
func TestServices(t *testing.T) {
	interop.ForEachPeer(t, func(t *testing.T, p interop.Peer) {
		for _, mode := range []string{"udp", "tcp"} {
			t.Run(mode, func(t *testing.T) {
				regAddr := startScript(t, p, "registry_server.py", "-m", mode, "-p", "0", "-l", "true")
				_, port, _ := net.SplitHostPort(regAddr)
				svcAddr := startScript(t, p, "registry_service.py", "--registry-port", port, "--mode", mode,
					"--class-name", "CalcService")
				args := []string{"services", "--registry", regAddr, "--timeout", "2s"}
				if mode == "tcp" {
					args = append(args, "--tcp")
				}
				var r result
				for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
					if r = cli(t, "", false, args...); strings.Contains(r.stdout, "CALC") {
						break
					}
				}
				r.check(t, 0, "CALC", "")
				if !strings.Contains(r.stdout, svcAddr) {
					t.Errorf("stdout %q lacks the server's address %s", r.stdout, svcAddr)
				}
				j := decodeJSON(t, cli(t, "", false, append(args, "--json")...).stdout)
				svcs, _ := j["services"].([]any)
				if len(svcs) != 1 || !strings.Contains(strings.Join(strings.Fields(jsonString(svcs[0])), ""), svcAddr) {
					t.Errorf("--json printed %v", j)
				}
				cli(t, "", false, append(args, "CALC", "NOPE")...).check(t, 1, "NOPE", "no live endpoint for NOPE")
			})
		}
	})
}

func jsonString(v any) string {
	m, _ := v.(map[string]any)
	eps, _ := m["endpoints"].([]any)
	var out []string
	for _, e := range eps {
		s, _ := e.(string)
		out = append(out, s)
	}
	return strings.Join(out, " ")
}

func TestServicesErrors(t *testing.T) {
	// Listing disabled (the default of both registries): exit 1.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &registry.Server{}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	cli(t, "", false, "services", "--registry", ln.Addr().String(), "--tcp").check(t, 1, "", "listing")

	// Nobody answers (a UDP port with no registry on loopback): exit 3.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	cli(t, "", false, "services", "--registry", addr, "--timeout", "300ms").check(t, 3, "", "")
	cli(t, "", false, "services", "--tcp").check(t, 2, "", "--registry")
}
