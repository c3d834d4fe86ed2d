// Command hostileserver is the target of the hostile-peer suite (server/hostile_test.go): a
// gorpyc server (package server) on a free loopback port, announced as "LISTENING host:port" on
// stdout, serving a per-connection service with
//
//	add(a, b)        a + b
//	echo(x)          x, as received (references included)
//	stats()          (goroutines, open connections, exported objects, connections between
//	                 OnConnect and OnDisconnect, bytes charged to the shared memory budget,
//	                 the budget's peak)
//	collect()        runtime.GC and debug.FreeOSMemory, so that a test starts each case from
//	                 the server's true resident size
//
// and PING (the protocol's own). It exits when its stdin closes (the test holds it), or on
// SIGTERM/SIGINT. Logs (warnings and up by default) go to stderr.
//
// Limits are set with flags: the server's own (-kind, -max-inflight, -max-conns,
// -idle-timeout, -memory-budget) and any numeric, boolean or duration field of protocol.Config, including its
// Channel (channel.Config), with -set Path=value (repeatable), e.g.
//
//	hostileserver -set MaxQueuedOutput=1048576 -set Channel.MaxMessageSize=16777216
//
// Integers accept a K, M or G suffix (powers of 1024); durations use Go syntax (1s, 250ms).
// -knobs lists every settable path with its type and default, and exits: budgets added to the
// configuration later are settable without changing this command.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"reflect"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gorpyc/rpyc/protocol"
	"github.com/gorpyc/rpyc/server"
)

// tracker knows the open connections, through the service's hooks.
type tracker struct {
	mu    sync.Mutex
	conns map[*protocol.Conn]struct{}
	srv   *server.Server
}

func (t *tracker) add(c *protocol.Conn) {
	t.mu.Lock()
	t.conns[c] = struct{}{}
	t.mu.Unlock()
}

func (t *tracker) remove(c *protocol.Conn) {
	t.mu.Lock()
	delete(t.conns, c)
	t.mu.Unlock()
}

// Hostile is the service, one per connection.
type Hostile struct{ t *tracker }

// OnConnect records the connection.
func (h *Hostile) OnConnect(c *protocol.Conn) { h.t.add(c) }

// OnDisconnect forgets it.
func (h *Hostile) OnDisconnect(c *protocol.Conn) { h.t.remove(c) }

// Add returns a + b.
func (h *Hostile) Add(a, b int) int { return a + b }

// Echo returns its argument.
func (h *Hostile) Echo(v any) any { return v }

// Stats returns (goroutines, open connections, exported objects across connections, hooked
// connections, bytes charged to the server's memory budget, the budget's peak); the last two
// are -1 without a budget.
func (h *Hostile) Stats() []int64 {
	h.t.mu.Lock()
	conns := make([]*protocol.Conn, 0, len(h.t.conns))
	for c := range h.t.conns {
		conns = append(conns, c)
	}
	h.t.mu.Unlock()
	exported := 0
	for _, c := range conns {
		exported += c.LocalObjects()
	}
	used, peak := int64(-1), int64(-1)
	if b := h.t.srv.Budget(); b != nil {
		used, peak = b.Used(), b.Peak()
	}
	return []int64{int64(runtime.NumGoroutine()), int64(h.t.srv.Connections()), int64(exported), int64(len(conns)), used, peak}
}

// Collect runs the garbage collector and returns freed memory to the operating system.
func (h *Hostile) Collect() { debug.FreeOSMemory() }

// setFlags collects repeated -set flags.
type setFlags []string

func (s *setFlags) String() string     { return strings.Join(*s, ",") }
func (s *setFlags) Set(v string) error { *s = append(*s, v); return nil }

var durationType = reflect.TypeFor[time.Duration]()

// knobs lists the settable fields of v (a struct value), recursing into struct fields.
func knobs(v reflect.Value, prefix string, out *[]string) {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		fv := v.Field(i)
		path := prefix + f.Name
		switch {
		case f.Type == durationType:
			*out = append(*out, fmt.Sprintf("%s duration %v", path, time.Duration(fv.Int())))
		case f.Type.Kind() == reflect.Struct:
			knobs(fv, path+".", out)
		case f.Type.Kind() >= reflect.Int && f.Type.Kind() <= reflect.Int64:
			*out = append(*out, fmt.Sprintf("%s int %d", path, fv.Int()))
		case f.Type.Kind() >= reflect.Uint && f.Type.Kind() <= reflect.Uint64:
			*out = append(*out, fmt.Sprintf("%s uint %d", path, fv.Uint()))
		case f.Type.Kind() == reflect.Bool:
			*out = append(*out, fmt.Sprintf("%s bool %v", path, fv.Bool()))
		}
	}
}

// parseSize parses an integer with an optional K, M or G suffix.
func parseSize(s string) (int64, error) {
	mult := int64(1)
	switch {
	case strings.HasSuffix(s, "K"):
		mult, s = 1<<10, strings.TrimSuffix(s, "K")
	case strings.HasSuffix(s, "M"):
		mult, s = 1<<20, strings.TrimSuffix(s, "M")
	case strings.HasSuffix(s, "G"):
		mult, s = 1<<30, strings.TrimSuffix(s, "G")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n * mult, err
}

// setField sets the field at a dotted path of *cfg.
func setField(cfg *protocol.Config, assignment string) error {
	path, val, ok := strings.Cut(assignment, "=")
	if !ok {
		return fmt.Errorf("-set %q: want Path=value", assignment)
	}
	v := reflect.ValueOf(cfg).Elem()
	for name := range strings.SplitSeq(path, ".") {
		if v.Kind() != reflect.Struct {
			return fmt.Errorf("-set %s: %s is not a struct", path, v.Type())
		}
		f, ok := v.Type().FieldByName(name)
		if !ok || !f.IsExported() {
			return fmt.Errorf("-set %s: no field %s in %s (see -knobs)", path, name, v.Type())
		}
		v = v.FieldByIndex(f.Index)
	}
	switch {
	case v.Type() == durationType:
		d, err := time.ParseDuration(val)
		if err != nil {
			return fmt.Errorf("-set %s: %w", path, err)
		}
		v.SetInt(int64(d))
	case v.Kind() >= reflect.Int && v.Kind() <= reflect.Int64:
		n, err := parseSize(val)
		if err != nil {
			return fmt.Errorf("-set %s: %w", path, err)
		}
		v.SetInt(n)
	case v.Kind() >= reflect.Uint && v.Kind() <= reflect.Uint64:
		n, err := parseSize(val)
		if err != nil || n < 0 {
			return fmt.Errorf("-set %s: bad value %q", path, val)
		}
		v.SetUint(uint64(n))
	case v.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(val)
		if err != nil {
			return fmt.Errorf("-set %s: %w", path, err)
		}
		v.SetBool(b)
	default:
		return fmt.Errorf("-set %s: cannot set a %s", path, v.Type())
	}
	return nil
}

func main() {
	var sets setFlags
	kind := flag.String("kind", "threaded", "server kind: threaded or threadpool")
	workers := flag.Int("workers", 0, "ThreadPool workers (0: server default)")
	maxInflight := flag.Int("max-inflight", 0, "server.MaxInflight (0: default)")
	maxConns := flag.Int("max-conns", 0, "server.MaxConns (0: no limit)")
	idle := flag.Duration("idle-timeout", 0, "server.IdleTimeout (0: never)")
	memBudget := flag.String("memory-budget", "0", "server.MemoryBudget in bytes, K/M/G suffix allowed (0: default, negative: none)")
	listKnobs := flag.Bool("knobs", false, "list the -set paths (protocol.Config fields) and exit")
	logLevel := flag.String("log-level", "warn", "stderr log level: debug, info, warn, error")
	flag.Var(&sets, "set", "Path=value: set a protocol.Config field (repeatable; see -knobs)")
	flag.Parse()

	cfg := protocol.DefaultConfig()
	if *listKnobs {
		var out []string
		knobs(reflect.ValueOf(cfg), "", &out)
		fmt.Println(strings.Join(out, "\n"))
		return
	}
	for _, s := range sets {
		if err := setField(&cfg, s); err != nil {
			fmt.Fprintln(os.Stderr, "hostileserver:", err)
			os.Exit(2)
		}
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintln(os.Stderr, "hostileserver:", err)
		os.Exit(2)
	}
	budget, err := parseSize(*memBudget)
	if err != nil {
		fmt.Fprintln(os.Stderr, "hostileserver: -memory-budget:", err)
		os.Exit(2)
	}
	srv := &server.Server{
		MemoryBudget: budget,
		Config:       &cfg,
		Workers:      *workers,
		MaxInflight:  *maxInflight,
		MaxConns:     *maxConns,
		IdleTimeout:  *idle,
		Logger:       slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})),
	}
	switch *kind {
	case "threaded":
		srv.Kind = server.Threaded
	case "threadpool":
		srv.Kind = server.ThreadPool
	default:
		fmt.Fprintln(os.Stderr, "hostileserver: unknown -kind", *kind)
		os.Exit(2)
	}
	t := &tracker{conns: map[*protocol.Conn]struct{}{}, srv: srv}
	srv.NewService = func() any { return &Hostile{t: t} }

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "hostileserver:", err)
		os.Exit(1)
	}
	fmt.Println("LISTENING", ln.Addr())
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	go func() { // the test holds our stdin: its closing (or the test's death) ends the server
		_, _ = io.Copy(io.Discard, os.Stdin)
		stop()
	}()
	go func() {
		<-ctx.Done()
		_ = srv.Close() // no graceful wait: the test wants the process gone
	}()
	if err := srv.Serve(context.Background(), ln); err != nil && err != server.ErrServerClosed {
		fmt.Fprintln(os.Stderr, "hostileserver:", err)
		os.Exit(1)
	}
}
