// Package server exposes Go services to RPyC clients: Python code using plain rpyc
// (rpyc.connect(host, port).root.get_status()) cannot tell that the service is written in Go.
//
// A service is any Go value. Its exported methods and fields are what the client sees on
// conn.root, under snake_case names (GetStatus is root.get_status, and root.exposed_get_status
// as well, as with Python's exposed_ prefix); see package protocol for argument conversion,
// keyword arguments, errors and how Go values look to Python.
//
//	srv := &server.Server{Service: &KV{}}
//	err := srv.ListenAndServe(ctx, "127.0.0.1:18861")
//
// Server kinds mirror Python's: Threaded (a goroutine per connection, requests of a connection
// run concurrently), ThreadPool (a bounded pool of workers runs every request of every
// connection) and OneShot (serve one connection, then stop).
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorpyc/rpyc/channel"
	"github.com/gorpyc/rpyc/compat"
	"github.com/gorpyc/rpyc/protocol"
	"github.com/gorpyc/rpyc/pyobj"
	"github.com/gorpyc/rpyc/registry"
)

// Kind selects how a Server runs requests.
type Kind int

const (
	// Threaded serves each connection in its own goroutines (Python's ThreadedServer). Requests
	// of one connection may run concurrently; Python clients accept out-of-order replies.
	Threaded Kind = iota
	// ThreadPool runs every request on a fixed pool of Workers goroutines shared by all
	// connections (Python's ThreadPoolServer); extra requests wait for a worker.
	ThreadPool
	// OneShot serves exactly one connection, then closes the listener (Python's OneShotServer).
	OneShot
)

// String returns "threaded", "threadpool" or "oneshot".
func (k Kind) String() string {
	switch k {
	case Threaded:
		return "threaded"
	case ThreadPool:
		return "threadpool"
	case OneShot:
		return "oneshot"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Authenticator runs on each accepted connection before any RPyC byte, like Python's
// authenticators: it may perform a handshake and returns the stream to use and credentials for
// the connection's Config.Credentials. An error closes the connection.
type Authenticator func(c net.Conn) (net.Conn, any, error)

// DefaultMemoryBudget is the default Server.MemoryBudget: 512 MiB.
const DefaultMemoryBudget = 512 << 20

// ErrServerClosed is returned by Serve after Shutdown or Close.
var ErrServerClosed = errors.New("rpyc server: closed")

// Server serves an RPyC service. Set its fields before calling Serve; a Server must not be
// copied after first use.
type Server struct {
	// Service is the root object shared by every connection (Python: passing an instance).
	Service any
	// NewService, if set, makes a root object per connection (Python: passing a class). It wins
	// over Service.
	NewService func() any
	// Name and Aliases override the service name derived from the service's Go type (type name
	// without a "Service" suffix, upper-cased, as Python derives it from the class name). A
	// service type can also implement RPyCServiceAliases() []string.
	Name    string
	Aliases []string

	// Config is the protocol configuration of every connection; the zero value means
	// protocol.DefaultConfig().
	Config *protocol.Config
	// Kind of server (Threaded by default).
	Kind Kind
	// Workers is the pool size of a ThreadPool server (default 20, as Python's nbThreads).
	Workers int
	// MaxConns limits simultaneous connections (0: no limit). Extra connections are accepted and
	// closed at once, with a log line.
	MaxConns int
	// MaxInflight limits each connection's requests executing at once (0: 1024); further
	// requests get a RuntimeError.
	MaxInflight int
	// IdleTimeout closes connections that received nothing for this long (0: never).
	IdleTimeout time.Duration
	// MemoryBudget bounds the bytes of received messages that all connections together hold
	// while they are handled (see protocol.Budget): a message that does not fit closes its
	// connection. 0 means DefaultMemoryBudget; negative means no shared budget. Python has no
	// such limit.
	MemoryBudget int64
	// Authenticator, if set, vets each connection before the protocol starts.
	Authenticator Authenticator
	// TLSConfig, if set, wraps every connection in TLS (after Authenticator).
	TLSConfig *tls.Config
	// Logger receives connect, disconnect and error logs. nil logs nothing (a library stays
	// quiet unless configured): set it, e.g. to slog.Default(), to see them.
	Logger *slog.Logger
	// OnStarted, if set, is called with the listener's address once Serve is accepting.
	OnStarted func(addr net.Addr)
	// Registrar, if set, keeps the service's aliases registered with a registry while the server
	// runs (Python's auto_register): at once, every RegisterInterval after a success (60 s, as
	// Python), every second after a failure, and UNREGISTER on shutdown. A registry.UDPClient
	// with Interface set to the listen host makes the registry record that address.
	Registrar registry.Registrar
	// RegisterInterval overrides the re-registration interval (0: 60 s).
	RegisterInterval time.Duration

	mu          sync.Mutex
	ln          net.Listener
	conns       map[*protocol.Conn]struct{}
	closing     bool
	done        chan struct{}
	wg          sync.WaitGroup // connection goroutines
	pool        chan func()
	poolWG      sync.WaitGroup
	abandon     chan struct{} // closed when Shutdown stops waiting for handlers still running
	budget      *protocol.Budget
	abandonOnce sync.Once
	accepted    atomic.Int64
	setup       connTemplate // what every connection starts from, made once per Serve
	regStop     context.CancelFunc
	regDone     chan struct{}
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return discardLogger
}

var discardLogger = slog.New(slog.DiscardHandler)

// ServiceAliases returns the names the service is known by: Name and Aliases if set, else the
// service's RPyCServiceAliases(), else its Go type name without a trailing "Service"
// (KVService -> "KV"); see [protocol.ServiceAliases]. All are upper-cased with Python's
// str.upper() ([compat.ServiceName]): "Straße" is "STRASSE", as a Python registry has it.
func (s *Server) ServiceAliases() []string {
	if s.Name != "" || len(s.Aliases) > 0 {
		var out []string
		if s.Name != "" {
			out = append(out, compat.ServiceName(s.Name))
		}
		for _, a := range s.Aliases {
			out = append(out, compat.ServiceName(a))
		}
		return out
	}
	svc := s.Service
	if s.NewService != nil {
		svc = s.NewService()
	}
	return pyobj.ServiceAliases(svc)
}

// ListenAndServe listens on the TCP address (":18861", "127.0.0.1:0", "[::1]:0"), or on the Unix
// socket "unix:///path" (mode 0600, removed when the server stops), and serves.
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	if path, ok := strings.CutPrefix(addr, "unix://"); ok {
		// Python's ThreadedServer(socket_path=...). The socket is made accessible to its owner
		// only; it is removed when the server stops.
		ln, err := net.Listen("unix", path)
		if err != nil {
			return fmt.Errorf("rpyc server: %w", err)
		}
		if err := os.Chmod(path, 0o600); err != nil {
			ln.Close()
			return fmt.Errorf("rpyc server: %w", err)
		}
		return s.Serve(ctx, ln)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("rpyc server: %w", err)
	}
	return s.Serve(ctx, ln)
}

// Serve accepts connections on ln until ctx ends or Shutdown/Close is called. It returns
// ErrServerClosed after a shutdown, or the accept error that stopped it. When ctx ends, Serve
// shuts down gracefully, waiting for in-flight calls at most 5 seconds.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	aliases := s.ServiceAliases() // may call NewService: not under s.mu
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	if s.ln != nil {
		s.mu.Unlock()
		return errors.New("rpyc server: Serve called twice")
	}
	s.ln = ln
	s.conns = map[*protocol.Conn]struct{}{}
	s.done = make(chan struct{})
	s.abandon = make(chan struct{})
	s.budget = s.newBudget()
	s.setup = s.template(aliases)
	if s.Kind == ThreadPool {
		n := s.Workers
		if n <= 0 {
			n = 20
		}
		s.pool = make(chan func())
		for range n {
			s.poolWG.Add(1)
			go s.worker(s.pool)
		}
	}
	s.mu.Unlock()

	stop := context.AfterFunc(ctx, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Shutdown(sctx)
	})
	defer stop()
	log := s.logger()
	log.Info("rpyc server: serving", "addr", ln.Addr().String(), "kind", s.Kind.String(),
		"service", strings.Join(s.ServiceAliases(), ","))
	if s.OnStarted != nil {
		s.OnStarted(ln.Addr())
	}
	if s.Registrar != nil {
		s.startRegistration(ln.Addr())
	}
	var tempDelay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.isClosing() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				tempDelay = min(max(2*tempDelay, 5*time.Millisecond), time.Second)
				time.Sleep(tempDelay)
				continue
			}
			return fmt.Errorf("rpyc server: accept: %w", err)
		}
		tempDelay = 0
		n := s.accepted.Add(1)
		if s.MaxConns > 0 && s.connCount() >= s.MaxConns {
			log.Warn("rpyc server: connection refused, limit reached", "remote", remoteLabel(nc), "limit", s.MaxConns)
			nc.Close()
			continue
		}
		s.wg.Add(1)
		go s.handle(nc)
		if s.Kind == OneShot && n == 1 {
			_ = ln.Close()
			s.stopRegistration()
			s.mu.Lock()
			abandon := s.abandon
			s.mu.Unlock()
			waitOr(&s.wg, abandon)
			s.shutdownPool()
			return nil
		}
	}
}

func (s *Server) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

func (s *Server) connCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

func (s *Server) worker(pool <-chan func()) {
	defer s.poolWG.Done()
	for fn := range pool {
		fn()
	}
}

// shutdownPool stops the workers; it waits for those still running a handler unless Shutdown
// abandoned them.
func (s *Server) shutdownPool() {
	s.mu.Lock()
	pool := s.pool
	s.pool = nil
	s.mu.Unlock()
	if pool != nil {
		close(pool)
		waitOr(&s.poolWG, s.abandon)
	}
}

// waitOr waits for wg, or until stop is closed.
func waitOr(wg *sync.WaitGroup, stop <-chan struct{}) {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-stop:
	}
}

// handle sets up one connection (authentication, TLS, OnConnect) and returns: once the
// connection runs, its reader is its only goroutine, and it tells the server when it is over
// (ended).
func (s *Server) handle(nc net.Conn) {
	running := false
	defer func() {
		if !running {
			s.wg.Done()
		}
	}()
	label := remoteLabel(nc)
	log := s.logger()
	if s.Logger != nil {
		log = log.With("remote", label)
	}
	var creds any
	if s.Authenticator != nil {
		c, cr, err := s.Authenticator(nc)
		if err != nil {
			log.Warn("rpyc server: authentication failed", "err", err)
			nc.Close()
			return
		}
		nc, creds = c, cr
	}
	if s.TLSConfig != nil {
		tc := tls.Server(nc, s.TLSConfig)
		_ = tc.SetDeadline(time.Now().Add(10 * time.Second))
		if err := tc.Handshake(); err != nil {
			log.Warn("rpyc server: TLS handshake failed", "err", err)
			tc.Close()
			return
		}
		_ = tc.SetDeadline(time.Time{})
		nc = tc
	}
	// Nagle is off: Go's TCP connections have TCP_NODELAY set from the start.
	cfg, opts, root := s.connSetup(label)
	cfg.Credentials = creds
	cfg.Endpoints = [2]net.Addr{nc.LocalAddr(), nc.RemoteAddr()}
	var ic *idleConn
	var stream net.Conn = nc
	if s.IdleTimeout > 0 {
		ic = &idleConn{Conn: nc}
		ic.touch()
		stream = ic
	}
	ended := func(c *protocol.Conn) { s.ended(c, ic, log) }
	opts = append(opts[:len(opts):len(opts)], protocol.WithDone(ended))
	running = true // from here on, ended calls s.wg.Done
	conn := protocol.New(channel.New(stream, cfg.Channel), root, cfg, opts...)
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		conn.Close()
		return
	}
	select {
	case <-conn.Done(): // over already (ended ran, or is about to)
		s.mu.Unlock()
		return
	default:
	}
	s.conns[conn] = struct{}{}
	s.mu.Unlock()
	if log.Enabled(context.Background(), slog.LevelInfo) {
		log.Info("rpyc server: client connected", "conn", conn.ID())
	}
	if ic != nil {
		ic.watch(s.IdleTimeout, conn, log)
	}
}

// ended runs on a connection's reader once it is over (protocol.WithDone).
func (s *Server) ended(c *protocol.Conn, ic *idleConn, log *slog.Logger) {
	defer s.wg.Done()
	if ic != nil {
		ic.stop()
	}
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	if log.Enabled(context.Background(), slog.LevelInfo) {
		log.Info("rpyc server: client disconnected", "conn", c.ID(), "cause", c.Err())
	}
}

// newBudget returns the memory budget MemoryBudget asks for (nil when it is negative).
func (s *Server) newBudget() *protocol.Budget {
	switch {
	case s.MemoryBudget == 0:
		return protocol.NewBudget(DefaultMemoryBudget)
	case s.MemoryBudget > 0:
		return protocol.NewBudget(s.MemoryBudget)
	}
	return nil
}

// connTemplate is what every connection of a Serve starts from: made once, so that a connection
// costs no configuration building (DefaultConfig's maps), no service-name derivation and no
// option list of its own.
type connTemplate struct {
	cfg  protocol.Config
	opts []protocol.Option
}

// template makes the connTemplate of the server's current settings (s.mu held).
func (s *Server) template(aliases []string) connTemplate {
	cfg := protocol.DefaultConfig()
	if s.Config != nil {
		cfg = *s.Config
	}
	cfg.Logger = s.Logger // nil: the connection's own discarding logger
	if s.MaxInflight > 0 {
		cfg.MaxInflight = s.MaxInflight
	}
	cfg.ServiceAliases = aliases
	if cfg.Budget == nil && s.budget != nil {
		cfg.Budget = s.budget
	}
	if cfg.Channel.Budget == nil && cfg.Budget != nil {
		cfg.Channel.Budget = cfg.Budget // large frames are charged as they are read
	}
	opts := []protocol.Option{protocol.WithObjects(pyobj.Handler{})}
	if s.Kind == ThreadPool {
		opts = append(opts, protocol.WithExecutor(s.submit))
	}
	return connTemplate{cfg: cfg, opts: opts}
}

// connSetup returns what a new connection labelled label is made of: its configuration, options
// and root (the shared Service, or a new one from NewService).
func (s *Server) connSetup(label string) (protocol.Config, []protocol.Option, any) {
	s.mu.Lock()
	t := s.setup
	s.mu.Unlock()
	cfg := t.cfg
	cfg.ConnID = label
	root := s.Service
	if s.NewService != nil {
		root = s.NewService()
	}
	return cfg, t.opts, root
}

// ServeStream serves one connection over rwc (a pair of pipes, the process's standard input and
// output, an SSH channel) until the peer closes it or ctx ends, and returns why it ended (nil
// when the peer closed it). This is how Python's connect_subproc, connect_pipes and
// connect_stdpipes reach a Go service (see [ServeStdio]). The dialect is detected from the peer's
// first message. The server's limits, memory budget and hooks apply; Kind, MaxConns and the
// listener settings do not.
func (s *Server) ServeStream(ctx context.Context, rwc io.ReadWriteCloser) error {
	aliases := s.ServiceAliases()
	s.mu.Lock()
	if s.budget == nil {
		s.budget = s.newBudget()
	}
	s.setup = s.template(aliases)
	s.mu.Unlock()
	cfg, opts, root := s.connSetup("stream")
	conn := protocol.New(channel.New(rwc, cfg.Channel), root, cfg, opts...)
	select {
	case <-conn.Done():
	case <-ctx.Done():
		conn.Close()
		<-conn.Done()
		return ctx.Err()
	}
	if err := conn.Err(); err != nil && !errors.Is(err, protocol.ErrPeerClosed) && !errors.Is(err, protocol.ErrClosed) {
		return err
	}
	return nil
}

// ServeStdio serves service over the process's standard input and output, for a Python program
// that starts this one as a child: rpyc.connect_subproc([path]) or connect_pipes. Nothing else
// may write to standard output meanwhile (log to standard error).
func ServeStdio(ctx context.Context, service any, opts ...func(*Server)) error {
	s := &Server{Service: service}
	for _, opt := range opts {
		opt(s)
	}
	// Go ends a process that writes to a closed standard output with SIGPIPE; a parent that
	// closes the pipes while an answer is being written must end the connection, not this
	// process: with SIGPIPE notified, the write fails with EPIPE instead.
	sigpipe := make(chan os.Signal, 1)
	signal.Notify(sigpipe, syscall.SIGPIPE)
	defer signal.Stop(sigpipe)
	return s.ServeStream(ctx, stdio{})
}

// stdio is the process's standard input and output as one stream.
type stdio struct{}

func (stdio) Read(p []byte) (int, error)  { return os.Stdin.Read(p) }
func (stdio) Write(p []byte) (int, error) { return os.Stdout.Write(p) }
func (stdio) Close() error {
	err := os.Stdin.Close()
	if e := os.Stdout.Close(); err == nil {
		err = e
	}
	return err
}

// submit hands a request to the worker pool (ThreadPool servers).
func (s *Server) submit(fn func()) {
	s.mu.Lock()
	pool := s.pool
	s.mu.Unlock()
	if pool == nil {
		fn()
		return
	}
	defer func() {
		if recover() != nil { // pool closed during shutdown
			fn()
		}
	}()
	pool <- fn
}

// idleConn records the time of the last read, for IdleTimeout, and closes the connection once
// it has been idle that long, with a timer rather than a goroutine.
type idleConn struct {
	net.Conn
	last    atomic.Int64
	mu      sync.Mutex // guards t and stopped
	t       *time.Timer
	stopped bool
}

func (c *idleConn) touch() { c.last.Store(time.Now().UnixNano()) }

func (c *idleConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.touch()
	}
	return n, err
}

// watch closes conn once nothing was read for timeout and none of its requests runs: the timer
// fires when the connection may have become idle, and is set again for the rest otherwise.
func (c *idleConn) watch(timeout time.Duration, conn *protocol.Conn, log *slog.Logger) {
	period := max(timeout/4, 10*time.Millisecond)
	check := func() {
		idle := time.Since(time.Unix(0, c.last.Load()))
		if idle >= timeout && conn.Inflight() == 0 {
			log.Info("rpyc server: closing idle connection", "conn", conn.ID(), "idle", idle.Round(time.Millisecond))
			conn.Close() // on the timer's goroutine, which is not the reader
			return
		}
		next := timeout - idle
		if next <= 0 { // requests still run: look again a little later
			next = period
		}
		c.mu.Lock()
		if c.t != nil {
			c.t.Reset(next)
		}
		c.mu.Unlock()
	}
	c.mu.Lock()
	if !c.stopped {
		c.t = time.AfterFunc(timeout, check)
	}
	c.mu.Unlock()
}

// stop stops the timer once the connection ended.
func (c *idleConn) stop() {
	c.mu.Lock()
	c.stopped = true
	if c.t != nil {
		c.t.Stop()
		c.t = nil
	}
	c.mu.Unlock()
}

// Shutdown stops accepting, lets in-flight calls finish until ctx ends, then closes every
// connection (each Close waits Config.CloseGrace for its handlers and runs OnDisconnect) and,
// until ctx ends, waits for the connections' goroutines. Handlers that ignore their canceled
// context past that are abandoned: they end on their own, and Shutdown does not wait for them.
// It returns ctx's error if calls were still running when it gave up.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.closing {
		abandon := s.abandon
		s.mu.Unlock()
		waitOr(&s.wg, abandon)
		return nil
	}
	s.closing = true
	ln := s.ln
	s.mu.Unlock()
	if ln != nil {
		_ = ln.Close()
	}
	s.stopRegistration()
	var err error
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
wait:
	for s.inflight() > 0 {
		select {
		case <-ctx.Done():
			err = ctx.Err()
			break wait
		case <-tick.C:
		}
	}
	s.closeConns()
	s.mu.Lock()
	abandon := s.abandon
	s.mu.Unlock()
	stopWaiting := context.AfterFunc(ctx, func() {
		if abandon != nil {
			s.abandonOnce.Do(func() { close(abandon) })
		}
	})
	// A connection's goroutine (its reader) ends with its last handler; those that ignore
	// their canceled context past ctx are abandoned.
	waitOr(&s.wg, abandon)
	s.shutdownPool()
	stopWaiting()
	if s.done != nil {
		select {
		case <-s.done:
		default:
			close(s.done)
		}
	}
	return err
}

// Close closes the listener and every connection at once, without waiting for calls.
func (s *Server) Close() error {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Shutdown(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

func (s *Server) inflight() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for c := range s.conns {
		n += c.Inflight()
	}
	return n
}

func (s *Server) closeConns() {
	s.mu.Lock()
	conns := make([]*protocol.Conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.Close()
		}()
	}
	wg.Wait()
}

// Budget returns the memory budget the server's connections share (nil before Serve, or when
// MemoryBudget is negative).
func (s *Server) Budget() *protocol.Budget {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.budget
}

var unixConns atomic.Int64

// remoteLabel names a connection's peer for logs and Conn.ID: its address, or for a Unix socket
// (whose clients have no address) the socket path and a number.
func remoteLabel(nc net.Conn) string {
	if nc.RemoteAddr() != nil {
		if a := nc.RemoteAddr().String(); a != "" && a != "@" {
			return a
		}
	}
	if nc.LocalAddr() != nil && nc.LocalAddr().Network() == "unix" {
		return fmt.Sprintf("unix:%s#%d", nc.LocalAddr().String(), unixConns.Add(1))
	}
	return "unknown"
}

// Connections returns the number of open connections.
func (s *Server) Connections() int { return s.connCount() }

// Serve is a shorthand: it serves service on ln until ctx ends, with a Server adjusted by opts
// (a Threaded server with defaults when there are none), then shuts down gracefully:
//
//	err := server.Serve(ctx, ln, &KV{}, func(s *server.Server) { s.Kind = server.ThreadPool; s.MaxConns = 100 })
func Serve(ctx context.Context, ln net.Listener, service any, opts ...func(*Server)) error {
	s := &Server{Service: service}
	for _, opt := range opts {
		opt(s)
	}
	return s.Serve(ctx, ln)
}

// startRegistration runs the registry registration loop for the listener's port.
func (s *Server) startRegistration(addr net.Addr) {
	port := 0
	if ta, ok := addr.(*net.TCPAddr); ok {
		port = ta.Port
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	s.mu.Lock()
	s.regStop, s.regDone = cancel, done
	s.mu.Unlock()
	a := registry.AutoRegistration{Registrar: s.Registrar, Aliases: s.ServiceAliases(), Port: port,
		Logger: s.logger(), Interval: s.RegisterInterval}
	go func() {
		defer close(done)
		if err := a.Run(ctx); err != nil {
			s.logger().Warn("rpyc server: unregister failed", "err", err)
		}
	}()
}

// stopRegistration unregisters (waiting for the UNREGISTER to be sent).
func (s *Server) stopRegistration() {
	s.mu.Lock()
	stop, done := s.regStop, s.regDone
	s.regStop = nil
	s.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
}
