// Command rpyc-registry is an RPyC registry server: Python rpyc's rpyc_registry, in Go. It takes
// the same switches, so scripts and service units written for the Python command keep working:
//
//	rpyc-registry                       # UDP on port 18811, pruning after 240 s, no listing
//	rpyc-registry -m TCP -p 18811 -t 60 -l yes --logfile /var/log/rpyc-registry.log
//
// Python and Go clients (rpyc.discover, rpyc.connect_by_service, servers with
// auto_register=True, and gorpyc's registry package) work with it unchanged. Go additions:
// --host to choose the bind address, --log-format json and --log-level, --metrics ADDR (a
// Prometheus endpoint), --backend etcd://HOST:PORT,... (replicas sharing their registrations in
// an etcd cluster, with --prefix and the --etcd-* TLS and auth switches), and limits against
// hostile clients (--max-tcp-conns, --max-tcp-conns-per-ip, --tcp-timeout, --tcp-evict-idle,
// --max-registrations, --max-endpoints-per-name; see the registry package's Server). It logs with log/slog,
// and on SIGINT or SIGTERM stops accepting requests, finishes those in progress and exits 0.
//
// Run rpyc-registry --help for every switch.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"syscall"
	"time"

	"github.com/gorpyc/rpyc/registry"
)

// shutdownTimeout bounds the graceful shutdown after a signal.
const shutdownTimeout = 5 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr, nil))
}

// run is the whole command: it parses args, serves until ctx ends (a signal, in main), and
// returns the exit status: 0 after a clean shutdown or --help, 1 if serving failed, 2 for a bad
// command line. started, if not nil, is called with the bound address.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, started func(net.Addr)) int {
	cfg, err := parseArgs(args)
	if err != nil {
		fmt.Fprintf(stderr, "rpyc-registry: %v\nRun 'rpyc-registry --help' for usage.\n", err)
		return 2
	}
	if cfg.help {
		usage(stdout)
		return 0
	}
	if cfg.version {
		fmt.Fprintf(stdout, "rpyc-registry (gorpyc) %s\n", version())
		return 0
	}
	logOut := stderr
	if cfg.logfile != "" {
		f, err := os.OpenFile(cfg.logfile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			fmt.Fprintf(stderr, "rpyc-registry: %v\n", err)
			return 1
		}
		defer f.Close()
		logOut = f
	}
	log := newLogger(cfg, logOut)

	s := newServer(cfg, log)
	s.NotifyStarted = started
	if cfg.backend != "memory" {
		store, closeStore, err := openEtcd(ctx, cfg, s.PruneTimeout, log)
		if err != nil {
			log.Error("rpyc-registry: cannot open the etcd backend", "err", err)
			return 1
		}
		defer closeStore()
		s.Store = store
	}
	if cfg.metrics != "" {
		stopMetrics, err := serveMetrics(cfg.metrics, s, log)
		if err != nil {
			log.Error("rpyc-registry: cannot serve metrics", "err", err)
			return 1
		}
		defer stopMetrics()
	}
	if cfg.ipv6 && cfg.mode == "TCP" {
		log.Warn("rpyc-registry: -6/--ipv6 has no effect in TCP mode (as in Python's rpyc_registry); use --host :: to listen on IPv6")
	}
	errc := make(chan error, 1)
	go func() { errc <- s.ListenAndServe() }()
	select {
	case err := <-errc:
		log.Error("rpyc-registry: cannot serve", "err", err)
		return 1
	case <-ctx.Done():
	}
	log.Info("rpyc-registry: shutting down", "cause", context.Cause(ctx))
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := s.Shutdown(sctx); err != nil {
		log.Warn("rpyc-registry: shutdown cut short", "err", err)
	}
	if err := <-errc; !errors.Is(err, registry.ErrServerClosed) {
		log.Error("rpyc-registry: serving failed", "err", err)
		return 1
	}
	log.Info("rpyc-registry: stopped")
	return 0
}

// newServer builds the registry server for cfg. Like Python's rpyc_registry, UDP mode binds
// 0.0.0.0 (:: with -6) and TCP mode 0.0.0.0 whatever -6 says; --host overrides both.
func newServer(cfg config, log *slog.Logger) *registry.Server {
	host := cfg.host
	if host == "" {
		host = "0.0.0.0"
		if cfg.ipv6 && cfg.mode == "UDP" {
			host = "::"
		}
	}
	network := "udp"
	if cfg.mode == "TCP" {
		network = "tcp"
	}
	if ip := net.ParseIP(host); ip != nil && ip.To4() != nil {
		network += "4" // an IPv4 address: an IPv4 socket, as Python's AF_INET one
	}
	const maxSeconds = int64(time.Duration(1<<63-1) / time.Second)
	timeout := time.Duration(max(min(cfg.timeout, maxSeconds), -maxSeconds)) * time.Second
	if timeout == 0 {
		// Python's -t 0 drops every entry registered before now; registry.Server reads 0 as
		// "the default", and any negative timeout as "stale at once".
		timeout = -1
	}
	return &registry.Server{
		Net:          network,
		Addr:         net.JoinHostPort(host, strconv.Itoa(cfg.port)),
		PruneTimeout: timeout,
		AllowListing: cfg.listing,
		Logger:       log,

		MaxTCPConns:         cfg.maxTCPConns,
		MaxTCPConnsPerIP:    cfg.maxTCPConnsPerIP,
		TCPTimeout:          cfg.tcpTimeout,
		TCPEvictIdle:        cfg.tcpEvictIdle,
		MaxRegistrations:    cfg.maxRegistrations,
		MaxEndpointsPerName: cfg.maxPerName,
	}
}

// newLogger returns the command's logger: text or JSON, at error level with -q.
func newLogger(cfg config, w io.Writer) *slog.Logger {
	level := map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo,
		"warn": slog.LevelWarn, "error": slog.LevelError}[cfg.logLevel]
	if cfg.quiet {
		level = slog.LevelError
	}
	opts := &slog.HandlerOptions{Level: level}
	switch cfg.logFormat {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts))
	case "python":
		if !cfg.quiet {
			level = slog.LevelDebug // Python's registry logs everything unless -q
		}
		return slog.New(newPyHandler(w, level, cfg.mode, cfg.port))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// version reports the module version the command was built from.
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}
