package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"github.com/gorpyc/rpyc/internal/interop"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorpyc/rpyc/registry"
)

func TestMain(m *testing.M) {
	// Re-executed by TestRegistrySignals: be the command itself.
	if os.Getenv("GORPYC_REGISTRY_RUN_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

func TestRegistryFlags(t *testing.T) {
	def := defaultConfig()
	with := func(f func(*config)) config {
		c := def
		f(&c)
		return c
	}
	tests := []struct {
		args []string
		want config
		err  string
	}{
		{nil, def, ""},
		{[]string{"-p", "1"}, with(func(c *config) { c.port = 1 }), ""},
		{[]string{"-p1"}, with(func(c *config) { c.port = 1 }), ""},
		{[]string{"--port=2"}, with(func(c *config) { c.port = 2 }), ""},
		{[]string{"--port", "3"}, with(func(c *config) { c.port = 3 }), ""},
		{[]string{"-mtcp", "-6"}, with(func(c *config) { c.mode, c.ipv6 = "TCP", true }), ""},
		{[]string{"--mode=Tcp"}, with(func(c *config) { c.mode = "TCP" }), ""},
		{[]string{"-6p5", "-qx"}, with(func(c *config) { c.ipv6, c.port, c.quiet = true, 5, true }), ""},
		{[]string{"-l", "false"}, with(func(c *config) { c.listing = true }), ""},
		{[]string{"-l", ""}, def, ""},
		{[]string{"-q", ""}, def, ""},
		{[]string{"-t", "-3"}, with(func(c *config) { c.timeout = -3 }), ""},
		{[]string{"-t", " +1_0 "}, with(func(c *config) { c.timeout = 10 }), ""},
		{[]string{"-p", "٣"}, with(func(c *config) { c.port = 3 }), ""},
		{[]string{"--logfile", "/tmp/x.log"}, with(func(c *config) { c.logfile = "/tmp/x.log" }), ""},
		{[]string{"--host=::1", "--log-format", "json", "--log-level=debug"},
			with(func(c *config) { c.host, c.logFormat, c.logLevel = "::1", "json", "debug" }), ""},
		{[]string{"-h"}, config{help: true}, ""},
		{[]string{"--help-all"}, config{help: true}, ""},
		{[]string{"-v"}, config{version: true}, ""},
		{[]string{"-p", "70000"}, config{}, "expected to be [0..65535]"},
		{[]string{"-p", "-1"}, config{}, "expected to be [0..65535]"},
		{[]string{"-p=5"}, config{}, "expected to be [0..65535]"},
		{[]string{"-p", "0x10"}, config{}, "expected to be [0..65535]"},
		{[]string{"-m", "foo"}, config{}, "{UDP, TCP}"},
		{[]string{"-t", "1.5"}, config{}, "integer"},
		{[]string{"-t", "1__0"}, config{}, "integer"},
		{[]string{"-x"}, config{}, "unknown switch -x"},
		{[]string{"--por", "5"}, config{}, "unknown switch --por"},
		{[]string{"-p"}, config{}, "requires an argument"},
		{[]string{"-6q"}, config{}, "requires an argument"},
		{[]string{"--quiet="}, config{}, "requires an argument"},
		{[]string{"--ipv6=true"}, config{}, "takes no argument"},
		{[]string{"-p", "5", "-p", "6"}, config{}, "already given"},
		{[]string{"-p", "5", "--port", "6"}, config{}, "already given"},
		{[]string{"extra"}, config{}, "positional"},
		{[]string{"--", "-p"}, config{}, "positional"},
		{[]string{"--max-tcp-conns", "10", "--max-tcp-conns-per-ip=0", "--tcp-timeout", "1.5s", "--tcp-evict-idle=10ms",
			"--max-registrations", "0", "--max-endpoints-per-name", "7"},
			with(func(c *config) {
				c.maxTCPConns, c.maxTCPConnsPerIP, c.tcpTimeout, c.tcpEvictIdle = 10, -1, 1500*time.Millisecond, 10*time.Millisecond
				c.maxRegistrations, c.maxPerName = -1, 7
			}), ""},
		{[]string{"--max-tcp-conns", "0"}, config{}, "integer >= 1"},
		{[]string{"--max-registrations", "-1"}, config{}, "integer >= 0"},
		{[]string{"--max-endpoints-per-name", "x"}, config{}, "integer >= 0"},
		{[]string{"--tcp-timeout", "3"}, config{}, "positive duration"},
		{[]string{"--tcp-evict-idle", "-1s"}, config{}, "positive duration"},
		{[]string{"--max-tcp-conns", "5", "--max-tcp-conns", "6"}, config{}, "already given"},
		{[]string{"--log-format", "xml"}, config{}, "{text, json, python}"},
		{[]string{"--log-level", "trace"}, config{}, "{debug, info, warn, error}"},
	}
	for _, tt := range tests {
		got, err := parseArgs(tt.args)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("parseArgs(%q) error = %v, want %q", tt.args, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseArgs(%q): %v", tt.args, err)
			continue
		}
		if tt.want.help || tt.want.version {
			if got.help != tt.want.help || got.version != tt.want.version {
				t.Errorf("parseArgs(%q) = %+v", tt.args, got)
			}
			continue
		}
		if got != tt.want {
			t.Errorf("parseArgs(%q) =\n %+v\nwant %+v", tt.args, got, tt.want)
		}
	}
}

func TestRegistryHelp(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"--help"}, &out, &errb, nil); code != 0 {
		t.Fatalf("--help exit %d", code)
	}
	for _, s := range switches {
		if !strings.Contains(out.String(), "--"+s.long) {
			t.Errorf("help lacks --%s", s.long)
		}
	}
	out.Reset()
	if code := run(context.Background(), []string{"--version"}, &out, &errb, nil); code != 0 || !strings.Contains(out.String(), "gorpyc") {
		t.Fatalf("--version: exit %d, %q", code, out.String())
	}
	if code := run(context.Background(), []string{"-m", "SCTP"}, &out, &errb, nil); code != 2 ||
		!strings.Contains(errb.String(), "{UDP, TCP}") {
		t.Fatalf("bad mode: exit %d, stderr %q", code, errb.String())
	}
}

// runCommand runs the command in-process with args, waits until it serves, and returns its
// address and a function that stops it (as a signal would) and returns the exit status.
func runCommand(t *testing.T, args ...string) (addr string, log *interop.Buffer, stop func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	log = &interop.Buffer{}
	started := make(chan net.Addr, 1)
	done := make(chan int, 1)
	go func() { done <- run(ctx, args, io.Discard, log, func(a net.Addr) { started <- a }) }()
	select {
	case a := <-started:
		addr = a.String()
	case code := <-done:
		cancel()
		t.Fatalf("rpyc-registry %q exited %d:\n%s", args, code, log.String())
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatalf("rpyc-registry %q did not start:\n%s", args, log.String())
	}
	var once sync.Once
	code := -1
	stop = func() int {
		once.Do(func() {
			cancel()
			select {
			case code = <-done:
			case <-time.After(10 * time.Second):
				t.Errorf("rpyc-registry did not stop")
			}
		})
		return code
	}
	t.Cleanup(func() { stop() })
	return addr, log, stop
}

func TestRegistryRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, mode := range []string{"udp", "TCP"} {
		t.Run(mode, func(t *testing.T) {
			logfile := filepath.Join(t.TempDir(), "registry.log")
			addr, _, stop := runCommand(t, "--host", "127.0.0.1", "-p", "0", "-m", mode, "-l", "yes",
				"--logfile", logfile, "--log-format", "json", "--log-level", "debug")
			var c registry.Registrar = &registry.UDPClient{Addr: addr, Interface: "127.0.0.1"}
			if mode == "TCP" {
				c = &registry.TCPClient{Addr: addr, Interface: "127.0.0.1"}
			}
			if err := c.Register(ctx, []string{"calc"}, 18861); err != nil {
				t.Fatal(err)
			}
			eps, err := c.Discover(ctx, "CALC")
			if err != nil || len(eps) != 1 || eps[0] != (registry.Endpoint{IP: "127.0.0.1", Port: 18861}) {
				t.Fatalf("Discover = %v, %v", eps, err)
			}
			if names, err := c.List(ctx, ""); err != nil || !slices.Equal(names, []string{"CALC"}) {
				t.Fatalf("List = %v, %v", names, err)
			}
			if code := stop(); code != 0 {
				t.Fatalf("exit status %d", code)
			}
			data, err := os.ReadFile(logfile)
			if err != nil {
				t.Fatal(err)
			}
			var msgs []string
			for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
				var rec struct{ Msg string }
				if err := json.Unmarshal([]byte(line), &rec); err != nil {
					t.Fatalf("log line %q is not JSON: %v", line, err)
				}
				msgs = append(msgs, rec.Msg)
			}
			for _, want := range []string{"registry: serving", "registry: register", "registry: query", "rpyc-registry: stopped"} {
				if !slices.Contains(msgs, want) {
					t.Errorf("log lacks %q: %q", want, msgs)
				}
			}
		})
	}
}

func TestRegistryRunOptions(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Listing off by default; -q keeps Info lines out of the log.
	addr, log, stop := runCommand(t, "--host", "127.0.0.1", "--port=0", "-q", "1")
	c := &registry.UDPClient{Addr: addr}
	if _, err := c.List(ctx, ""); !errors.Is(err, registry.ErrListingDisabled) {
		t.Fatalf("List = %v, want ErrListingDisabled", err)
	}
	if stop() != 0 || log.String() != "" {
		t.Fatalf("quiet registry logged %q", log.String())
	}

	// -t 1 prunes after a second.
	addr, _, _ = runCommand(t, "--host", "127.0.0.1", "-p0", "-t", "1")
	c = &registry.UDPClient{Addr: addr, Interface: "127.0.0.1"}
	if err := c.Register(ctx, []string{"brief"}, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Discover(ctx, "brief"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	if _, err := c.Discover(ctx, "brief"); !errors.Is(err, registry.ErrServiceNotFound) {
		t.Fatalf("after -t 1 and 1.5 s, Discover error = %v", err)
	}

	// -t 0 keeps nothing, as in Python.
	addr, _, _ = runCommand(t, "--host", "127.0.0.1", "-p0", "-t", "0")
	c = &registry.UDPClient{Addr: addr, Interface: "127.0.0.1"}
	if err := c.Register(ctx, []string{"never"}, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Discover(ctx, "never"); !errors.Is(err, registry.ErrServiceNotFound) {
		t.Fatalf("with -t 0, Discover error = %v", err)
	}

	// -6 in TCP mode is ignored with a warning, as Python ignores it.
	_, log, _ = runCommand(t, "--host", "127.0.0.1", "-p0", "-6", "-m", "tcp")
	if !strings.Contains(log.String(), "no effect in TCP mode") {
		t.Errorf("no warning about -6 in TCP mode: %q", log.String())
	}

	// A port in use: exit status 1.
	l, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var errb interop.Buffer
	_, port, _ := net.SplitHostPort(l.LocalAddr().String())
	if code := run(ctx, []string{"--host", "127.0.0.1", "-p", port}, io.Discard, &errb, nil); code != 1 ||
		!strings.Contains(errb.String(), "address already in use") {
		t.Fatalf("port in use: exit %d, log %q", code, errb.String())
	}
}

// TestRegistryLimitFlags: the gorpyc-only limit switches reach the server, and act.
func TestRegistryLimitFlags(t *testing.T) {
	cfg, err := parseArgs([]string{"-m", "tcp", "--max-tcp-conns", "1", "--max-tcp-conns-per-ip", "0",
		"--tcp-timeout", "4s", "--tcp-evict-idle", "200ms", "--max-registrations", "2", "--max-endpoints-per-name=0"})
	if err != nil {
		t.Fatal(err)
	}
	s := newServer(cfg, nil)
	if s.MaxTCPConns != 1 || s.MaxTCPConnsPerIP != -1 || s.TCPTimeout != 4*time.Second ||
		s.TCPEvictIdle != 200*time.Millisecond || s.MaxRegistrations != 2 || s.MaxEndpointsPerName != -1 {
		t.Errorf("server limits: %+v", s)
	}
	if s := newServer(defaultConfig(), nil); s.MaxTCPConns != registry.DefaultMaxTCPConns ||
		s.MaxRegistrations != registry.DefaultMaxRegistrations || s.TCPTimeout != registry.DefaultTCPTimeout {
		t.Errorf("default server limits: %+v", s)
	}

	addr, log, _ := runCommand(t, "--host", "127.0.0.1", "-p0", "-m", "tcp", "--max-tcp-conns", "1",
		"--tcp-evict-idle", "200ms", "--max-registrations", "2")
	// One idle connection fills the table: a client waits until it is stalled, then is served.
	idle, err := net.Dial("tcp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	time.Sleep(20 * time.Millisecond)
	c := &registry.TCPClient{Addr: addr, Interface: "127.0.0.1"}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	if err := c.Register(ctx, []string{"a", "b"}, 1); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 150*time.Millisecond {
		t.Errorf("served after %v, before the idle connection stalled (200ms)", el)
	}
	_ = idle.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := idle.Read(make([]byte, 1)); err == nil {
		t.Errorf("the idle connection was not evicted")
	}
	// The table holds two registrations: a third gets no reply.
	if err := c.Register(ctx, []string{"c"}, 1); err == nil {
		t.Errorf("a third registration was acknowledged")
	}
	if !strings.Contains(log.String(), "registration table full") {
		t.Errorf("log lacks the refusal: %s", log.String())
	}
}
