package protocol

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"weak"

	"github.com/gorpyc/rpyc/brine"
	"github.com/gorpyc/rpyc/channel"
	"github.com/gorpyc/rpyc/compat"
	"github.com/gorpyc/rpyc/internal/ident"
)

var connCounter atomic.Int64

// Conn is one RPyC connection. It is symmetric, like Python's Connection: it sends requests to
// the peer and serves the peer's requests on its local root object, over the same channel.
//
// The goroutines of a Conn, and the lock order, are described in the package documentation.
// A Conn is safe for concurrent use. Close may be called from any goroutine, including from
// inside a handler, a callback, OnConnect or OnDisconnect.
type Conn struct {
	cfg  Config
	ch   *channel.Channel
	log  *slog.Logger
	id   string
	root any     // local root object (the service)
	objs Objects // behaviour of local objects
	exec func(fn func())
	// onDone runs on the reader once Done is closed (WithDone).
	onDone func(*Conn)

	dialect atomic.Uint32 // compat.Dialect; Auto until the reader detected it

	seq atomic.Int64 // next request sequence number

	// mu guards the object tables and the pending requests. It is a leaf: no other lock is
	// taken, no I/O is done and no user code runs while it is held.
	mu         sync.Mutex
	pending    map[int64]*AsyncResult
	locals     map[compat.IDPack]*localEntry
	byIdentity map[ident.Key]compat.IDPack
	proxies    map[compat.IDPack]weak.Pointer[Ref]
	classIDs   map[string]int64
	nextID     int64
	remoteRoot *Ref
	rootID     compat.IDPack // the peer's root, valid once remoteRoot is set; never released
	rootRes    *AsyncResult  // the answer to NewClient's probe (a GETROOT); nil without a probe
	ka         *keepalive    // Config.PingInterval's (keepalive.go); nil when off

	// hmu guards the hook state and the wait for running handlers. A leaf, like mu.
	hmu          sync.Mutex
	connected    bool          // OnConnect returned
	ended        bool          // the connection ended: OnDisconnect is due once connected
	disconnected bool          // OnDisconnect has been started
	idle         chan struct{} // closed when inflight drops to 0; nil while nobody waits

	// delMu guards the queue of HANDLE_DELs to send. A leaf.
	delMu      sync.Mutex
	dels       map[compat.IDPack]int64 // references to give back, by object
	delRunning chan struct{}           // non-nil while the flusher runs; closed when it exits
	delClosed  bool

	ctx          context.Context // canceled when the connection closes; handlers run under it
	cancel       context.CancelCauseFunc
	closeOnce    sync.Once
	shutdownOnce sync.Once
	closeErr     error         // the transport's close error; written once, in shutdown
	readerDone   chan struct{} // closed when the reader returned
	tasks        chan task     // hands requests to lingering handler goroutines
	done         chan struct{} // closed when every goroutine of the connection ended
	ready        chan struct{} // closed once the root's OnConnect returned
	unread       []byte        // the probe's unread first message, consumed by the reader
	workers      sync.WaitGroup
	inflight     atomic.Int64 // the peer's requests running user code on this side

	queued    atomic.Int64 // bytes being written (queued output)
	maxQueued int64        // Config.MaxQueuedOutput
	outWait   atomic.Bool  // the reader waits for queued output to drain
	omu       sync.Mutex   // guards ocond; a leaf
	ocond     sync.Cond    // L is &omu
}

type localEntry struct {
	obj   any
	extra int64 // references handed out beyond the first
}

// New starts a connection over ch, serving root (the local service object; nil serves a
// VoidService). Use [DefaultConfig] as the starting point for cfg. The connection owns ch and
// closes it on Close.
//
// If root implements [ConnectHook], New calls OnConnect before it returns; the peer's requests
// are read meanwhile (OnConnect may call the peer) but none is served before OnConnect returns.
func New(ch *channel.Channel, root any, cfg Config, opts ...Option) *Conn {
	c := newConn(ch, root, cfg, nil, opts)
	c.launch()
	return c
}

// newConn makes the connection; launch runs it.
func newConn(ch *channel.Channel, root any, cfg Config, unread []byte, opts []Option) *Conn {
	if cfg.Logger == nil {
		cfg.Logger = discardLogger
	}
	if cfg.ConnID == "" {
		cfg.ConnID = "conn" + strconv.FormatInt(connCounter.Add(1), 10)
	}
	if cfg.MaxInflight <= 0 {
		cfg.MaxInflight = 1024
	}
	if cfg.MaxQueuedOutput <= 0 {
		cfg.MaxQueuedOutput = DefaultMaxQueuedOutput
	}
	if cfg.MaxPendingDels <= 0 {
		cfg.MaxPendingDels = DefaultMaxPendingDels
	}
	if cfg.SafeAttrs == nil {
		cfg.SafeAttrs = defaultSafeAttrs()
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	c := &Conn{
		cfg:        cfg,
		ch:         ch,
		log:        cfg.Logger,
		id:         cfg.ConnID,
		root:       root,
		pending:    make(map[int64]*AsyncResult),
		locals:     make(map[compat.IDPack]*localEntry),
		byIdentity: make(map[ident.Key]compat.IDPack),
		proxies:    make(map[compat.IDPack]weak.Pointer[Ref]),
		classIDs:   make(map[string]int64),
		ctx:        ctx,
		cancel:     cancel,
		readerDone: make(chan struct{}),
		done:       make(chan struct{}),
		ready:      make(chan struct{}),
		tasks:      make(chan task),
		unread:     unread,
	}
	if cfg.Logger != discardLogger {
		c.log = cfg.Logger.With("conn", cfg.ConnID) // the default logger discards: no attribute
	}
	c.maxQueued = int64(cfg.MaxQueuedOutput)
	c.ocond.L = &c.omu
	var o connOptions
	for _, opt := range opts {
		opt(&o)
	}
	c.exec, c.objs, c.onDone = o.exec, o.objs, o.done
	c.dialect.Store(uint32(cfg.Dialect))
	if cfg.Observer != nil {
		cfg.Observer.Opened(c)
	}
	c.startKeepAlive() // keepalive.go: Config.PingInterval
	return c
}

// launch runs the reader on a goroutine of its own, then OnConnect on the caller's (New).
func (c *Conn) launch() {
	go c.readLoop()
	c.connect()
}

// connect runs the root's OnConnect, then lets requests be served. If the connection ended
// meanwhile, OnDisconnect follows, exactly once.
func (c *Conn) connect() {
	if h, ok := c.root.(ConnectHook); ok {
		h.OnConnect(c)
	}
	c.hmu.Lock()
	c.connected = true
	due := c.ended && !c.disconnected
	c.disconnected = c.disconnected || due
	c.hmu.Unlock()
	close(c.ready)
	if due {
		c.runOnDisconnect()
	}
}

// defaultSafeAttrs is DefaultConfig's SafeAttrs, made once: connections whose Config has none
// share it (it is only read).
var defaultSafeAttrs = sync.OnceValue(func() map[string]bool { return DefaultConfig().SafeAttrs })

// Option configures what the code creating a connection (a server, a client helper) provides
// beyond the user's Config.
type Option func(*connOptions)

type connOptions struct {
	exec  func(fn func())
	objs  Objects
	probe compat.Dialect
	done  func(*Conn)
}

// WithObjects sets how local Go objects behave for the peer (pyobj.Handler for the standard
// behaviour). Without it the connection answers only PING and GETROOT and refuses the other
// requests on its objects with a TypeError.
func WithObjects(objs Objects) Option { return func(o *connOptions) { o.objs = objs } }

// WithExecutor runs the handlers of the peer's requests through exec (a server's worker pool)
// instead of the connection's own goroutines. exec must not block indefinitely; the connection
// waits for it on one of its handler goroutines, never on the reader.
func WithExecutor(exec func(fn func())) Option { return func(o *connOptions) { o.exec = exec } }

// WithDone makes the connection call fn once it has ended and [Conn.Done] is closed, on its
// reader goroutine as its last act: what a server does when a connection is over, without a
// goroutine per connection waiting for it. fn must not block for long.
func WithDone(fn func(c *Conn)) Option { return func(o *connOptions) { o.done = fn } }

// WithProbeDialect makes [NewClient] probe with dialect d instead of compat.V5.
func WithProbeDialect(d compat.Dialect) Option { return func(o *connOptions) { o.probe = d } }

var discardLogger = slog.New(slog.DiscardHandler)

// Dialect returns the connection's message envelope (compat.Auto until the peer's first message
// decided it, on a serving connection).
func (c *Conn) Dialect() compat.Dialect { return compat.Dialect(c.dialect.Load()) }

// Config returns the connection's configuration. Its SafeAttrs map may be shared with other
// connections (the default one is): read it, do not change it.
func (c *Conn) Config() Config { return c.cfg }

// ID returns the connection's label (Config.ConnID, or "conn<N>").
func (c *Conn) ID() string { return c.id }

// LocalRoot returns the local root object served to the peer.
func (c *Conn) LocalRoot() any { return c.root }

// Done returns a channel that is closed when the connection has closed and all its goroutines,
// including handlers still running user code when it closed, have ended.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Context returns a context canceled when the connection closes; context.Cause tells why.
func (c *Conn) Context() context.Context { return c.ctx }

// Closed reports whether the connection is closed or closing.
func (c *Conn) Closed() bool { return c.ctx.Err() != nil }

// Err returns why the connection closed (nil while it is open).
func (c *Conn) Err() error {
	if c.ctx.Err() == nil {
		return nil
	}
	return context.Cause(c.ctx)
}

// Inflight returns how many of the peer's requests are running user code on this side.
func (c *Conn) Inflight() int64 { return c.inflight.Load() }

// closeWriteTimeout bounds the write of HANDLE_CLOSE in Close, for a peer that stopped reading.
const closeWriteTimeout = time.Second

// Close ends the connection, as Python's close() does: it sends HANDLE_CLOSE (unless the peer
// closed first), closes the transport and fails every pending request with ErrClosed. It waits
// for the reader goroutine, then up to Config.CloseGrace for the peer's requests still running
// user code on this side (their context is canceled), then runs the root's OnDisconnect (once,
// and only after OnConnect returned) and returns. Close never waits on user code beyond the
// grace period, so it returns at once from anywhere, including inside a handler or a callback;
// [Conn.Done] reports when the last handler has returned too.
//
// Close is idempotent; it returns the transport's close error unless Config.CloseCatchall is set.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() {
		if c.cfg.BeforeClosed != nil && c.ctx.Err() == nil {
			c.cfg.BeforeClosed(c)
		}
		if c.ctx.Err() == nil && c.Dialect() != compat.Auto {
			// Python never replies to CLOSE; a 6.x peer waits for our EOF, which follows at once.
			stop := time.AfterFunc(closeWriteTimeout, func() { _ = c.ch.Close() })
			_ = c.sendRequest(c.seq.Add(1)-1, compat.HandleClose, brine.Tuple{})
			stop.Stop()
		}
		c.shutdown(ErrClosed)
	})
	<-c.readerDone
	c.waitIdle(c.cfg.CloseGrace)
	c.end()
	if c.cfg.CloseCatchall {
		return nil
	}
	return c.closeErr
}

// shutdown marks the connection closed, closes the transport and fails pending requests. It
// never blocks on the network or on user code.
func (c *Conn) shutdown(cause error) {
	c.shutdownOnce.Do(func() {
		c.cancel(cause)
		if err := c.ch.Close(); err != nil && !errors.Is(err, channel.ErrClosed) {
			c.closeErr = err
		}
		c.mu.Lock()
		pending := c.pending
		c.pending = nil // nothing is added once the context is canceled
		c.mu.Unlock()
		for _, p := range pending {
			p.resolve(nil, cause)
		}
		c.omu.Lock()
		c.ocond.Broadcast() // a reader waiting for output to drain
		c.omu.Unlock()
		c.log.Debug("rpyc: connection closed", "cause", cause)
	})
}

// end records that the connection ended and runs OnDisconnect if it is due: exactly once, and
// only after OnConnect returned (New runs it otherwise).
func (c *Conn) end() {
	c.hmu.Lock()
	c.ended = true
	due := c.connected && !c.disconnected
	c.disconnected = c.disconnected || due
	c.hmu.Unlock()
	if due {
		c.runOnDisconnect()
	}
}

func (c *Conn) runOnDisconnect() {
	if h, ok := c.root.(DisconnectHook); ok {
		defer func() {
			if r := recover(); r != nil {
				c.log.Error("rpyc: panic in OnDisconnect", "panic", r)
			}
		}()
		h.OnDisconnect(c)
	}
}

// waitIdle waits up to d for the peer's requests running on this side to return.
func (c *Conn) waitIdle(d time.Duration) {
	if d <= 0 {
		return
	}
	c.hmu.Lock()
	if c.inflight.Load() == 0 {
		c.hmu.Unlock()
		return
	}
	if c.idle == nil {
		c.idle = make(chan struct{})
	}
	idle := c.idle
	c.hmu.Unlock()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-idle:
	case <-t.C:
	}
}

// requestDone ends the accounting of one request started with startRequest.
func (c *Conn) requestDone() {
	if c.inflight.Add(-1) == 0 {
		c.hmu.Lock()
		if c.idle != nil {
			close(c.idle)
			c.idle = nil
		}
		c.hmu.Unlock()
	}
}

// readLoop is the reader goroutine: it receives and dispatches every message until the
// connection ends, then finishes the connection. Its own frame is kept small (the work is in
// received): an idle connection's reader waits inside Recv, and the depth of its stack there
// decides whether the garbage collector can shrink that stack to a smaller size.
func (c *Conn) readLoop() {
	defer c.finish()
	if first := c.unread; first != nil {
		c.unread = nil
		if !c.received(first, nil) {
			return
		}
	}
	for {
		c.waitOutput()
		payload, err := c.ch.Recv()
		if !c.received(payload, err) {
			return
		}
	}
}

// received handles what one Recv returned; false ends the reader.
func (c *Conn) received(payload []byte, err error) bool {
	if err != nil {
		if c.ctx.Err() == nil {
			switch {
			case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
				c.shutdown(&peerClosed{err})
			case errors.Is(err, channel.ErrBudget):
				c.protocolError(fmt.Errorf("%w: %w", ErrLimit, err))
			default:
				c.log.Warn("rpyc: receive failed", "err", err)
				c.shutdown(fmt.Errorf("%w: %w", ErrClosed, err))
			}
		}
		return false
	}
	if c.ka != nil {
		c.ka.heard()
	}
	if c.cfg.Observer != nil {
		c.cfg.Observer.Transferred(c, len(payload), false)
	}
	if err := c.dispatch(payload); err != nil {
		c.protocolError(err)
		return false
	}
	return c.ctx.Err() == nil // else HANDLE_CLOSE, or Close meanwhile
}

// peerClosed is the cause of a connection the peer closed: ErrPeerClosed, with what the read
// returned (formatted only if someone asks).
type peerClosed struct{ err error }

func (e *peerClosed) Error() string { return ErrPeerClosed.Error() + " (" + e.err.Error() + ")" }

func (e *peerClosed) Unwrap() error { return ErrPeerClosed }

func (c *Conn) protocolError(err error) {
	if errors.Is(err, ErrLimit) {
		c.log.Warn("rpyc: closing connection: limit exceeded", "err", err)
	} else {
		c.log.Warn("rpyc: closing connection after protocol error", "err", err)
	}
	// Pending and later requests fail with an error matching both ErrClosed (the connection is
	// gone, as ErrClosed promises) and the cause (ErrProtocol).
	c.shutdown(fmt.Errorf("%w: %w", ErrClosed, err))
}

// finish runs in the reader goroutine once it stopped reading: it gives running handlers the
// grace period, runs OnDisconnect, waits for every handler goroutine and the DEL flusher, runs
// the Releaser hooks of objects still exported, and closes Done.
func (c *Conn) finish() {
	close(c.readerDone)
	c.waitIdle(c.cfg.CloseGrace)
	c.end()
	c.workers.Wait() // only the reader starts workers, so no Add races with this Wait
	c.delMu.Lock()
	c.delClosed = true
	flusher := c.delRunning
	c.delMu.Unlock()
	if flusher != nil {
		<-flusher
	}
	var releasers []Releaser
	c.mu.Lock()
	for _, e := range c.locals {
		if r, ok := e.obj.(Releaser); ok {
			releasers = append(releasers, r)
		}
	}
	clear(c.locals)
	clear(c.byIdentity)
	clear(c.proxies) // Refs still held by users keep the Conn, not the table
	c.mu.Unlock()
	c.delMu.Lock()
	c.dels = nil
	c.delMu.Unlock()
	for _, r := range releasers {
		r.RPyCRelease()
	}
	if c.ka != nil {
		c.ka.stop()
	}
	if c.cfg.Observer != nil {
		c.cfg.Observer.Closed(c, context.Cause(c.ctx))
	}
	close(c.done)
	if c.onDone != nil {
		c.onDone(c)
	}
}

func (c *Conn) dispatch(payload []byte) error {
	d := c.Dialect()
	if d == compat.Auto {
		// Only the reader sets the dialect, from the peer's first message; nothing can be sent
		// before (sendMsg refuses), and a serving side sends only in answer.
		var ok bool
		if d, ok = compat.Detect(payload); !ok {
			return fmt.Errorf("%w: cannot tell the dialect of the first message % x", ErrProtocol, head(payload))
		}
		c.dialect.Store(uint32(d))
		c.log.Debug("rpyc: detected dialect", "dialect", d)
	}
	// A large payload is handed over to what it decodes into: its bytes values of 4 KiB or more
	// alias it rather than being copied (the payload's storage is the message's now, never
	// reused by the channel).
	borrow := len(payload) >= brine.BorrowMin
	msg, seq, body, decoded, err := d.DecodeMessage(brine.Decoder{MaxDecodedSize: c.cfg.DecodeLimit(), BorrowBytes: borrow}, payload)
	if borrow {
		c.ch.TakePayload()
	}
	if err != nil {
		if errors.Is(err, brine.ErrTooLarge) {
			return fmt.Errorf("%w: the message decodes to more than MaxDecodedSize (%d bytes of Go memory): %w",
				ErrLimit, c.cfg.DecodeLimit(), err)
		}
		return fmt.Errorf("%w: %w", ErrProtocol, err)
	}
	// The message (its payload and what it decoded into) is charged to the shared budget until
	// it is handled: here, or by the handler goroutine a request is handed to.
	size := decoded
	if c.ch.Config().Budget == nil {
		size += int64(len(payload)) // the channel does not charge the frames itself
	}
	if err := c.charge(size); err != nil {
		return err
	}
	switch msg {
	case compat.MsgRequest:
		handed, err := c.onRequest(seq, body, size)
		if !handed {
			c.uncharge(size)
		}
		return err
	case compat.MsgReply, compat.MsgException:
		defer c.uncharge(size)
		c.mu.Lock()
		p := c.pending[seq]
		delete(c.pending, seq)
		c.mu.Unlock()
		if msg == compat.MsgException {
			err := loadException(body)
			if p != nil {
				p.resolve(nil, err)
			}
			return nil
		}
		// Unbox even when nobody waits: references in the reply must be counted (and released).
		v, err := c.unbox(body)
		if p == nil {
			releaseAll(v)
			return nil
		}
		p.resolve(v, err)
	}
	return nil
}

func head(b []byte) []byte {
	if len(b) > 16 {
		return b[:16]
	}
	return b
}

// onRequest runs in the reader: it decodes the request and its arguments (so that reference
// counts follow the wire order), answers what runs no user code, and hands the rest to a
// handler goroutine.
func (c *Conn) onRequest(seq int64, body any, size int64) (handed bool, err error) {
	t, ok := body.(brine.Tuple)
	if !ok || len(t) != 2 {
		return false, fmt.Errorf("%w: request body %v is not (handler, args)", ErrProtocol, body)
	}
	h, ok := t[0].(int64)
	if !ok || h < 0 || h > 255 {
		c.replyError(seq, fmt.Errorf("%w: invalid handler %v", KeyError, t[0]))
		return false, nil
	}
	handler := compat.Handler(h)
	switch handler {
	case compat.HandleClose:
		c.shutdown(ErrPeerClosed)
		return false, nil
	case compat.HandleDel:
		// Applied in arrival order, like Python, and answered from the reader.
		c.respond(seq, nil, c.handleDel(t[1]))
		return false, nil
	}
	spec := lookupHandler(handler)
	if spec == nil {
		c.replyError(seq, fmt.Errorf("%w: %d", KeyError, int(handler)))
		return false, nil
	}
	args, err := c.unbox(t[1])
	if err != nil {
		c.replyError(seq, err)
		return false, nil
	}
	argt, ok := args.(brine.Tuple)
	if !ok {
		c.replyError(seq, fmt.Errorf("%w: handler arguments %v are not a tuple", TypeError, args))
		return false, nil
	}
	if len(argt) < spec.min || len(argt) > spec.max {
		c.replyError(seq, fmt.Errorf("%w: %v takes %d to %d arguments, got %d", TypeError, handler, spec.min, spec.max, len(argt)))
		return false, nil
	}
	if isClosed(c.ready) {
		// What runs no user code is answered at once, as a Python server does.
		if v, ok, err := c.serveQuick(handler, argt); ok {
			c.respond(seq, v, err)
			return false, nil
		}
		if spec.inline {
			v, err := c.serve(c.ctx, handler, spec, argt)
			c.respond(seq, v, err)
			return false, nil
		}
	}
	if c.inflight.Load() >= int64(c.cfg.MaxInflight) {
		c.replyError(seq, fmt.Errorf("%w: too many requests in flight (limit %d)", RuntimeError, c.cfg.MaxInflight))
		return false, nil
	}
	c.inflight.Add(1)
	c.work(task{seq: seq, handler: handler, spec: spec, args: argt, charge: size})
	return true, nil
}

// task is one of the peer's requests for a handler goroutine: a request to serve (spec set), or
// a function to run (fn set).
type task struct {
	seq     int64
	handler compat.Handler
	spec    *handlerSpec
	args    brine.Tuple
	charge  int64 // bytes of the shared budget the request holds until it is answered
	fn      func()
}

// run serves the request on a handler goroutine.
func (c *Conn) run(t task) {
	if t.fn != nil {
		t.fn()
		return
	}
	defer c.requestDone()
	defer c.uncharge(t.charge)
	select {
	case <-c.ready:
	case <-c.ctx.Done():
		return
	}
	if c.ctx.Err() != nil {
		return
	}
	if c.exec == nil {
		v, err := c.serve(c.ctx, t.handler, t.spec, t.args)
		c.respond(t.seq, v, err)
		return
	}
	// The executor (a server's worker pool) may make us wait for a worker; that wait happens
	// here, never in the reader.
	finished := make(chan struct{})
	c.exec(func() {
		defer close(finished)
		v, err := c.serve(c.ctx, t.handler, t.spec, t.args)
		c.respond(t.seq, v, err)
	})
	<-finished
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// workerLinger is how long a handler goroutine that finished its request waits for another
// before it exits: long enough to be reused by a connection that calls steadily (waking it
// costs less than starting a goroutine and growing its stack again), short enough that an
// idle connection is soon down to its reader.
const workerLinger = 100 * time.Millisecond

// work runs t on one of the connection's handler goroutines: a lingering one if there is one,
// else a new one. It never blocks. Only the reader calls it.
func (c *Conn) work(t task) {
	select {
	case c.tasks <- t:
		return
	default:
	}
	c.workers.Add(1)
	go c.worker(t)
}

func (c *Conn) worker(t task) {
	defer c.workers.Done()
	linger := time.NewTimer(workerLinger)
	defer linger.Stop()
	for {
		c.run(t)
		linger.Reset(workerLinger)
		select {
		case t = <-c.tasks:
		case <-linger.C:
			return
		case <-c.ctx.Done():
			return
		}
	}
}

// respond sends the reply (or exception) for request seq.
func (c *Conn) respond(seq int64, v any, err error) {
	if err != nil {
		c.replyError(seq, err)
		return
	}
	out, buf, err := c.encode(compat.MsgReply, seq, -1, v)
	if err != nil {
		putBuf(buf, out)
		c.replyError(seq, err) // the value could not be boxed
		return
	}
	err = c.write(out, true)
	putBuf(buf, out)
	if err != nil {
		c.log.Debug("rpyc: reply not sent", "seq", seq, "err", err)
	}
}

func (c *Conn) replyError(seq int64, err error) {
	stack := ""
	var pe *panicError
	if errors.As(err, &pe) {
		stack = pe.stack
	}
	payload := dumpException(err, c.cfg.IncludeLocalTraceback, stack)
	d := c.Dialect()
	buf := getBuf()
	out := *buf
	var encErr error
	out.b, encErr = d.AppendHeader(out.b, compat.MsgException, seq)
	if encErr == nil {
		out.b, encErr = brine.Append(out.b, payload)
	}
	if encErr == nil {
		encErr = c.write(out, true)
	}
	putBuf(buf, out)
	if encErr != nil {
		c.log.Debug("rpyc: exception not sent", "seq", seq, "err", encErr)
	}
}

// sendRequest sends request seq: handler h with the boxed arguments args.
func (c *Conn) sendRequest(seq int64, h compat.Handler, args brine.Tuple) error {
	out, buf, err := c.encode(compat.MsgRequest, seq, int(h), args)
	if err == nil {
		err = c.write(out, false)
	}
	putBuf(buf, out)
	return err
}

// encode writes one message into a pooled wireMsg: a reply (h < 0) whose body is v's box, or a
// request (h, box(v)). Large bytes values are not copied (see wireMsg): out refers to them, so it
// must be written before they change. Return the storage with putBuf once out is no longer used.
func (c *Conn) encode(msg compat.MsgType, seq int64, h int, v any) (out wireMsg, buf *wireMsg, err error) {
	d := c.Dialect()
	if d == compat.Auto {
		return out, nil, fmt.Errorf("rpyc: cannot send before the dialect is known (set Config.Dialect)")
	}
	buf = getBuf()
	m := *buf
	if m.b, err = d.AppendHeader(m.b, msg, seq); err != nil {
		return m, buf, err
	}
	if h >= 0 {
		m.b = brine.AppendInt(append(m.b, byte(brine.TagTup2)), int64(h))
	}
	err = c.appendBox(&m, v)
	return m, buf, err
}

// write sends one encoded message. A reply's bytes count as queued output until the write
// returns; the reader stops reading while more than Config.MaxQueuedOutput bytes of replies are
// queued, so a peer that stops reading the answers stops being served. (This side's own requests
// do not count: two peers sending each other large requests must not both stop reading.)
func (c *Conn) write(out wireMsg, reply bool) error {
	if !reply {
		return c.send(&out)
	}
	n := int64(out.size())
	c.queued.Add(n)
	err := c.send(&out)
	if c.queued.Add(-n) <= c.maxQueued && c.outWait.Load() {
		c.omu.Lock()
		c.ocond.Broadcast()
		c.omu.Unlock()
	}
	return err
}

func (c *Conn) send(out *wireMsg) error {
	if c.cfg.Observer != nil {
		c.cfg.Observer.Transferred(c, out.size(), true)
	}
	var err error
	if len(out.spans) == 0 {
		err = c.ch.Send(out.b)
	} else {
		err = c.ch.SendParts(out.payload())
	}
	if err != nil {
		if c.ctx.Err() != nil {
			return fmt.Errorf("%w", context.Cause(c.ctx))
		}
		if errors.Is(err, channel.ErrMessageTooLarge) || errors.Is(err, channel.ErrFrameTooLarge) {
			return err // refused before anything was written: the connection is fine
		}
		// The transport failed (or timed out) while writing: the stream is lost.
		c.shutdown(fmt.Errorf("%w: %w", ErrClosed, err))
		return err
	}
	return nil
}

// waitOutput blocks the reader while too much output is queued (the peer does not read), until
// it drains or the connection closes.
func (c *Conn) waitOutput() {
	if c.queued.Load() <= c.maxQueued {
		return
	}
	c.omu.Lock()
	c.outWait.Store(true)
	for c.queued.Load() > c.maxQueued && c.ctx.Err() == nil {
		c.ocond.Wait()
	}
	c.outWait.Store(false)
	c.omu.Unlock()
}

func getBuf() *wireMsg {
	m := bufPool.Get().(*wireMsg)
	m.reset()
	return m
}

// putBuf returns a message's storage to the pool, keeping what its buffer grew to unless that
// is large, and none of the caller's data.
func putBuf(buf *wireMsg, grown wireMsg) {
	if buf == nil {
		return
	}
	if cap(grown.b) <= 64<<10 {
		buf.b = grown.b
	}
	buf.spans, buf.parts = grown.spans, grown.parts
	buf.reset()
	bufPool.Put(buf)
}

var bufPool = sync.Pool{New: func() any { return &wireMsg{b: make([]byte, 0, 512)} }}

// Request sends a synchronous request with the given handler arguments and returns the unboxed
// reply. Arguments are boxed like Python does: dumpable values by value, tuples element-wise,
// proxies of this connection's peer as LOCAL_REF and anything else as a new reference. If ctx
// has no deadline, Config.SyncRequestTimeout applies (TimeoutError "result expired").
func (c *Conn) Request(ctx context.Context, h compat.Handler, args ...any) (v any, err error) {
	if c.cfg.Observer != nil {
		var done func(error)
		ctx, done = c.cfg.Observer.Request(ctx, c, h, false)
		defer func() { done(err) }()
	}
	res, seq, err := c.start(h, args)
	if err != nil {
		return nil, err
	}
	var expired <-chan time.Time
	if c.cfg.SyncRequestTimeout > 0 {
		if _, ok := ctx.Deadline(); !ok {
			t := timerPool.Get().(*time.Timer)
			t.Reset(c.cfg.SyncRequestTimeout)
			defer func() {
				t.Stop() // since Go 1.23 a stopped timer's channel holds no stale value
				timerPool.Put(t)
			}()
			expired = t.C
		}
	}
	var cause error
	select {
	case <-res.done:
		return res.value, res.err
	case <-ctx.Done():
		cause = context.Cause(ctx)
	case <-expired:
		cause = fmt.Errorf("%w: result expired after %v", TimeoutError, c.cfg.SyncRequestTimeout)
	}
	c.mu.Lock()
	delete(c.pending, seq)
	c.mu.Unlock()
	return nil, fmt.Errorf("rpyc: %v request abandoned: %w", h, cause)
}

// timerPool holds stopped timers for request timeouts, so that a request costs no timer
// allocation.
var timerPool = sync.Pool{New: func() any {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return t
}}

// RequestAsync sends a request and returns at once; the reply resolves the result.
func (c *Conn) RequestAsync(h compat.Handler, args ...any) *AsyncResult {
	res, _, err := c.start(h, args)
	if err != nil {
		res = newAsyncResult()
		res.resolve(nil, err)
	}
	return res
}

func (c *Conn) start(h compat.Handler, args []any) (*AsyncResult, int64, error) {
	if c.ctx.Err() != nil {
		return nil, 0, context.Cause(c.ctx)
	}
	seq := c.seq.Add(1) - 1
	out, buf, err := c.encode(compat.MsgRequest, seq, int(h), brine.Tuple(args))
	defer putBuf(buf, out)
	if err != nil {
		return nil, 0, err
	}
	res := newAsyncResult()
	c.mu.Lock()
	if c.ctx.Err() != nil {
		c.mu.Unlock()
		return nil, 0, context.Cause(c.ctx)
	}
	c.pending[seq] = res
	c.mu.Unlock()
	if err := c.write(out, false); err != nil {
		c.mu.Lock()
		delete(c.pending, seq)
		c.mu.Unlock()
		return nil, 0, err
	}
	return res, seq, nil
}

// release tells the peer that count references to its object id are gone (HANDLE_DEL). It
// never blocks: DELs are queued and sent, in order, by one goroutine that runs while the queue
// is not empty.
func (c *Conn) release(id compat.IDPack, count int64) {
	if c.ctx.Err() != nil {
		return
	}
	c.mu.Lock()
	if c.remoteRoot != nil && id == c.rootID {
		// Like Python, never DEL the root: the proxy GETROOT unboxed (and any later proxy of
		// the same object) must not take the peer's service out of its table.
		c.mu.Unlock()
		return
	}
	if wp, ok := c.proxies[id]; ok {
		if r := wp.Value(); r == nil || r.Released() {
			delete(c.proxies, id)
		}
	}
	c.mu.Unlock()
	c.delMu.Lock()
	defer c.delMu.Unlock()
	if c.delClosed {
		return
	}
	if c.dels == nil {
		c.dels = make(map[compat.IDPack]int64)
	}
	if _, ok := c.dels[id]; !ok && len(c.dels) >= c.cfg.MaxPendingDels {
		// The flusher cannot send them: the peer does not read. Stop serving it.
		err := fmt.Errorf("%w: %d objects to release wait to be sent (MaxPendingDels): the peer does not read",
			ErrLimit, len(c.dels))
		c.log.Warn("rpyc: closing connection", "err", err)
		go c.shutdown(fmt.Errorf("%w: %w", ErrClosed, err))
		c.delClosed = true
		return
	}
	c.dels[id] += count
	if c.delRunning == nil {
		c.delRunning = make(chan struct{})
		go c.flushDels(c.delRunning)
	}
}

// flushDels sends the queued DELs until the queue is empty or the connection closed. One DEL
// per object carries every reference queued for it.
func (c *Conn) flushDels(running chan struct{}) {
	defer close(running)
	for {
		c.delMu.Lock()
		batch := c.dels
		c.dels = nil
		if len(batch) == 0 || c.ctx.Err() != nil {
			c.delRunning = nil
			c.delMu.Unlock()
			return
		}
		c.delMu.Unlock()
		for id, count := range batch {
			// The peer looks the object up in its own table: it must travel as
			// LABEL_LOCAL_REF, not as a raw id_pack, which Python would take for a tuple. The
			// reply (None) is not waited for, as Python does not.
			if err := c.sendRequest(c.seq.Add(1)-1, compat.HandleDel, brine.Tuple{localRef(id), count}); err != nil {
				break
			}
		}
	}
}

// Root returns the reference to the peer's root object (its service), sending GETROOT the first
// time, unless the dialect probe of [NewClient] (a GETROOT) brought it. The root is kept for the
// connection's lifetime and never released. (netref.Root gives the proxy with its operations.)
func (c *Conn) Root(ctx context.Context) (*Ref, error) {
	c.mu.Lock()
	r := c.remoteRoot
	c.mu.Unlock()
	if r != nil {
		return r, nil
	}
	v, err := c.probedRoot(ctx)
	if err == nil && v == nil {
		v, err = c.Request(ctx, compat.HandleGetRoot)
	}
	if err != nil {
		return nil, err
	}
	ref, ok := v.(*Ref)
	if !ok {
		return nil, fmt.Errorf("%w: GETROOT returned %T, not a reference", ErrProtocol, v)
	}
	pinned := &Ref{st: &refState{conn: c, id: ref.ID(), pinned: true}}
	c.mu.Lock()
	if c.remoteRoot == nil {
		c.remoteRoot = pinned
		c.rootID = ref.ID()
	}
	r = c.remoteRoot
	c.mu.Unlock()
	// ref's cleanup may run from here on: release now ignores the root's id.
	runtime.KeepAlive(ref)
	return r, nil
}

// probedRoot waits for the answer to the probe's GETROOT, bounded like a request. It returns
// nil, nil when there was no probe or the probe's GETROOT failed (Root then asks again), and an
// error only when ctx or the request timeout ended the wait.
func (c *Conn) probedRoot(ctx context.Context) (any, error) {
	res := c.rootRes
	if res == nil {
		return nil, nil
	}
	var expired <-chan time.Time
	if _, ok := ctx.Deadline(); !ok && c.cfg.SyncRequestTimeout > 0 && !res.Ready() {
		t := timerPool.Get().(*time.Timer)
		t.Reset(c.cfg.SyncRequestTimeout)
		defer func() {
			t.Stop()
			timerPool.Put(t)
		}()
		expired = t.C
	}
	select {
	case <-res.done:
		if res.err != nil {
			return nil, nil
		}
		return res.value, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("rpyc: %v request abandoned: %w", compat.HandleGetRoot, context.Cause(ctx))
	case <-expired:
		return nil, fmt.Errorf("rpyc: %v request abandoned: %w: result expired after %v", compat.HandleGetRoot, TimeoutError, c.cfg.SyncRequestTimeout)
	}
}

// Ping sends data (nil means Python's default 520-character string) and checks the echo.
func (c *Conn) Ping(ctx context.Context, data any) error {
	if data == nil {
		s := ""
		for range 20 {
			s += "abcdefghijklmnopqrstuvwxyz"
		}
		data = s
	}
	start := time.Now()
	v, err := c.Request(ctx, compat.HandlePing, data)
	if err != nil {
		return err
	}
	if !brine.Equal(v, data) {
		return fmt.Errorf("rpyc: ping echo mismatch")
	}
	c.log.Debug("rpyc: ping", "rtt", time.Since(start))
	return nil
}
