package protocol

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"weak"

	"github.com/gorpyc/rpyc/brine"
	"github.com/gorpyc/rpyc/channel"
	"github.com/gorpyc/rpyc/compat"
	"github.com/gorpyc/rpyc/netref"
)

var connCounter atomic.Int64

// Conn is one RPyC connection. It is symmetric, like Python's Connection: it sends requests to
// the peer and serves the peer's requests on its local root object, over the same channel.
//
// One goroutine at a time reads the connection. Like a Python server's thread, it answers the
// peer's requests itself (no goroutine switch per request); but as soon as a handler sends a
// request on the connection (a callback into the peer) or runs longer than 20 ms, the reading
// role moves to a new goroutine, and the old one finishes the handler and exits. So a handler that
// calls back into the peer, and a peer that calls back while serving one of ours, cannot
// deadlock, and one slow handler does not hold up the others. With Config.Executor (a server's
// worker pool) requests run on the executor instead. Replies are matched to requests by sequence
// number; a reply nobody waits for any more is dropped.
//
// A Conn is safe for concurrent use. Close releases every goroutine it started.
type Conn struct {
	cfg     Config
	ch      *channel.Channel
	log     *slog.Logger
	id      string
	dialect atomic.Uint32 // compat.Dialect; Auto until detected
	dmu     sync.Mutex    // serialises detection with the first send
	root    any           // local root object (the service)

	seq atomic.Int64 // next request sequence number

	mu         sync.Mutex // guards the fields below
	pending    map[int64]*netref.AsyncResult
	locals     map[compat.IDPack]*localEntry
	byIdentity map[identity]compat.IDPack
	proxies    map[compat.IDPack]weak.Pointer[netref.Ref]
	classIDs   map[string]int64
	nextID     int64
	remoteRoot *netref.Ref
	rootID     compat.IDPack // the peer's root, valid once remoteRoot is set; never released

	ctx          context.Context // canceled when the connection closes; handlers run under it
	cancel       context.CancelCauseFunc
	closeOnce    sync.Once
	shutdownOnce sync.Once
	closeErr     error
	done         chan struct{} // closed when the connection is closed and every goroutine ended
	readerDone   chan struct{}
	unread       []byte                      // Config.Unread, consumed by the first reader
	ready        chan struct{}               // closed once the root's OnConnect returned
	tasks        chan func()                 // hands requests to idle handler goroutines
	inlineTok    atomic.Pointer[readerToken] // the handler running inline in the reader, if any
	workers      sync.WaitGroup
	wgMu         sync.Mutex // guards handlers.Add against Close's Wait
	draining     bool
	handlers     sync.WaitGroup
	inflight     atomic.Int64
}

type localEntry struct {
	obj   any
	extra int64 // references handed out beyond the first
}

// New starts a connection over ch, serving root (the local service object; nil serves nothing
// but PING and the protocol's own bookkeeping). Use [DefaultConfig] as the starting point for
// cfg. The connection owns ch and closes it on Close.
func New(ch *channel.Channel, root any, cfg Config) *Conn {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.ConnID == "" {
		cfg.ConnID = fmt.Sprintf("conn%d", connCounter.Add(1))
	}
	if cfg.MaxInflight <= 0 {
		cfg.MaxInflight = 1024
	}
	if cfg.SafeAttrs == nil {
		cfg.SafeAttrs = DefaultConfig().SafeAttrs
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	c := &Conn{
		cfg:        cfg,
		ch:         ch,
		log:        cfg.Logger.With("conn", cfg.ConnID),
		id:         cfg.ConnID,
		root:       root,
		pending:    make(map[int64]*netref.AsyncResult),
		locals:     make(map[compat.IDPack]*localEntry),
		byIdentity: make(map[identity]compat.IDPack),
		proxies:    make(map[compat.IDPack]weak.Pointer[netref.Ref]),
		classIDs:   make(map[string]int64),
		ctx:        ctx,
		cancel:     cancel,
		done:       make(chan struct{}),
		readerDone: make(chan struct{}),
	}
	c.dialect.Store(uint32(cfg.Dialect))
	c.unread, c.cfg.Unread = cfg.Unread, nil
	c.ready = make(chan struct{})
	c.tasks = make(chan func())
	go c.readLoop()
	// Like Python's on_connect: it may call the peer (replies are read meanwhile), and no request
	// of the peer is served before it returns.
	if h, ok := root.(ConnectHook); ok {
		h.OnConnect(c)
	}
	close(c.ready)
	return c
}

// Dialect returns the connection's message envelope (compat.Auto until the peer's first message
// decided it, on a serving connection).
func (c *Conn) Dialect() compat.Dialect { return compat.Dialect(c.dialect.Load()) }

// Config returns the connection's configuration.
func (c *Conn) Config() Config { return c.cfg }

// ID returns the connection's label (Config.ConnID, or "conn<N>").
func (c *Conn) ID() string { return c.id }

// LocalRoot returns the local root object served to the peer.
func (c *Conn) LocalRoot() any { return c.root }

// Done returns a channel that is closed when the connection has closed and all its goroutines
// have ended.
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

// Close sends HANDLE_CLOSE to the peer, closes the transport, fails every pending request with
// ErrClosed and waits for the connection's goroutines (including running handlers, whose
// context is canceled) to end. It is idempotent; it returns the transport's close error unless
// Config.CloseCatchall is set.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() {
		if c.cfg.BeforeClosed != nil && c.ctx.Err() == nil {
			c.cfg.BeforeClosed(c)
		}
		if c.ctx.Err() == nil && c.Dialect() != compat.Auto {
			// Python never replies to CLOSE; a 6.x peer waits for our EOF, which follows at once.
			_ = c.send(compat.MsgRequest, c.seq.Add(1)-1, brine.Tuple{int64(compat.HandleClose), brine.Tuple{int64(compat.LabelValue), brine.Tuple{}}})
		}
		c.shutdown(ErrClosed)
		<-c.readerDone
		c.wgMu.Lock()
		c.draining = true
		c.wgMu.Unlock()
		c.handlers.Wait()
		c.workers.Wait()
		if h, ok := c.root.(DisconnectHook); ok {
			h.OnDisconnect(c)
		}
		close(c.done)
	})
	<-c.done
	if c.cfg.CloseCatchall {
		return nil
	}
	return c.closeErr
}

// shutdown marks the connection closed, closes the transport and fails pending requests. It
// does not wait: the reader calls it too.
func (c *Conn) shutdown(cause error) {
	c.shutdownOnce.Do(func() { c.doShutdown(cause) })
}

func (c *Conn) doShutdown(cause error) {
	c.cancel(cause)
	if err := c.ch.Close(); err != nil && !errors.Is(err, channel.ErrClosed) {
		c.closeErr = err
	}
	c.mu.Lock()
	pending := c.pending
	locals := c.locals
	c.pending = map[int64]*netref.AsyncResult{}
	c.locals = map[compat.IDPack]*localEntry{}
	c.byIdentity = map[identity]compat.IDPack{}
	c.mu.Unlock()
	for _, p := range pending {
		p.Resolve(nil, cause)
	}
	for _, e := range locals {
		if r, ok := e.obj.(Releaser); ok {
			r.RPyCRelease()
		}
	}
	c.log.Debug("rpyc: connection closed", "cause", cause)
}

// readLoop receives and dispatches every message until the connection ends.
func (c *Conn) readLoop() {
	if first := c.unread; first != nil {
		c.unread = nil // only the first reader sees it (later readers start after this write)
		if err := c.dispatch(first); err != nil && err != errHandedOff {
			c.shutdown(fmt.Errorf("%w: %w", ErrClosed, err))
			close(c.readerDone)
			go c.Close()
			return
		} else if err == errHandedOff {
			return
		}
	}
	for {
		payload, err := c.ch.Recv()
		if err != nil {
			if c.ctx.Err() == nil {
				if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
					c.shutdown(fmt.Errorf("%w (%v)", ErrPeerClosed, err))
				} else {
					c.log.Warn("rpyc: receive failed", "err", err)
					c.shutdown(fmt.Errorf("%w: %w", ErrClosed, err))
				}
			}
			close(c.readerDone)
			// When a Close is not the cause, run the close so Done fires.
			go c.Close()
			return
		}
		if err := c.dispatch(payload); err != nil {
			if err == errHandedOff {
				return // another goroutine reads now; this one has finished a handler
			}
			c.log.Warn("rpyc: closing connection after protocol error", "err", err)
			// Pending and later requests fail with an error matching both ErrClosed (the
			// connection is gone, as ErrClosed promises) and the cause (ErrProtocol).
			c.shutdown(fmt.Errorf("%w: %w", ErrClosed, err))
			close(c.readerDone)
			go c.Close()
			return
		}
	}
}

// errHandedOff tells readLoop that the reading role moved to another goroutine.
var errHandedOff = errors.New("rpyc: reader handed off")

// handoffDelay is how long a handler may run inline in the reader before another goroutine
// takes over reading, so that a slow handler does not hold up the connection's other requests
// for long. (A handler that sends a request on the connection hands off at once: its reply needs
// a reader.) The delay is long enough that stopped timers never wake an idle netpoller per call.
const handoffDelay = 20 * time.Millisecond

// readerToken marks a handler running inline in the reader: 0 running, 1 finished (the
// goroutine goes on reading), 2 handed off (a new reader was started; this goroutine exits after
// the handler).
type readerToken struct {
	conn  *Conn
	state atomic.Int32
}

// handOff starts a new reader if the handler holding tok is still running inline.
func (tok *readerToken) handOff() {
	if tok.state.CompareAndSwap(0, 2) {
		go tok.conn.readLoop()
	}
}

// runInline runs a request in the reader goroutine. It reports whether this goroutine must stop
// reading because the reading role was handed off meanwhile.
func (c *Conn) runInline(seq int64, handler compat.Handler, args brine.Tuple) (handedOff bool) {
	tok := &readerToken{conn: c}
	c.inlineTok.Store(tok)
	timer := time.AfterFunc(handoffDelay, tok.handOff)
	v, err := c.serveCtx(c.ctx, handler, args)
	timer.Stop()
	c.inlineTok.CompareAndSwap(tok, nil)
	if tok.state.CompareAndSwap(0, 1) {
		c.replyFromReader(seq, v, err)
		return false
	}
	c.reply(seq, v, err)
	return true
}

func (c *Conn) dispatch(payload []byte) error {
	d := c.Dialect()
	if d == compat.Auto {
		c.dmu.Lock()
		d = c.Dialect()
		if d == compat.Auto {
			var ok bool
			if d, ok = compat.Detect(payload); !ok {
				c.dmu.Unlock()
				return fmt.Errorf("%w: cannot tell the dialect of the first message % x", ErrProtocol, head(payload))
			}
			c.dialect.Store(uint32(d))
			c.log.Debug("rpyc: detected dialect", "dialect", d)
		}
		c.dmu.Unlock()
	}
	msg, seq, body, err := d.ParseMessage(payload)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrProtocol, err)
	}
	switch msg {
	case compat.MsgRequest:
		return c.onRequest(seq, body)
	case compat.MsgReply, compat.MsgException:
		c.mu.Lock()
		p := c.pending[seq]
		delete(c.pending, seq)
		c.mu.Unlock()
		if msg == compat.MsgException {
			err := loadException(body)
			if p != nil {
				p.Resolve(nil, err)
			}
			return nil
		}
		// Unbox even when nobody waits: references in the reply must be counted (and released).
		v, err := c.unbox(body)
		if p == nil {
			c.log.Debug("rpyc: reply for unknown or abandoned request", "seq", seq)
			releaseAll(v)
			return nil
		}
		p.Resolve(v, err)
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
// counts follow the wire order), then runs the handler in a goroutine.
func (c *Conn) onRequest(seq int64, body any) error {
	t, ok := body.(brine.Tuple)
	if !ok || len(t) != 2 {
		return fmt.Errorf("%w: request body %v is not (handler, args)", ErrProtocol, body)
	}
	h, ok := t[0].(int64)
	if !ok || h < 0 || h > 255 {
		c.replyError(seq, fmt.Errorf("%w: invalid handler %v", KeyError, t[0]))
		return nil
	}
	handler := compat.Handler(h)
	switch handler {
	case compat.HandleClose:
		c.shutdown(ErrPeerClosed)
		return nil
	case compat.HandleDel:
		// Applied in arrival order, like Python, and answered from the reader.
		c.replyFromReader(seq, nil, c.handleDel(t[1]))
		return nil
	}
	args, err := c.unbox(t[1])
	if err != nil {
		c.replyError(seq, err)
		return nil
	}
	argt, ok := args.(brine.Tuple)
	if !ok {
		c.replyError(seq, fmt.Errorf("%w: handler arguments %v are not a tuple", TypeError, args))
		return nil
	}
	if c.isReady() && inlineSafe(handler, argt) {
		// No user code runs for these: answer at once, as a Python server does, without a
		// goroutine handoff.
		v, err := c.serve(handler, argt)
		c.replyFromReader(seq, v, err)
		return nil
	}
	if c.inflight.Load() >= int64(c.cfg.MaxInflight) {
		c.spawn(func() {
			c.replyError(seq, fmt.Errorf("%w: too many requests in flight (limit %d)", RuntimeError, c.cfg.MaxInflight))
		})
		return nil
	}
	if c.cfg.Executor == nil && c.isReady() {
		// Like a Python server, run the request in the reader itself (no goroutine handoff);
		// see runInline for how a slow or nested handler gives up the reading role.
		c.inflight.Add(1)
		c.wgMu.Lock()
		c.handlers.Add(1)
		c.wgMu.Unlock()
		handedOff := c.runInline(seq, handler, argt)
		c.handlers.Done()
		c.inflight.Add(-1)
		if handedOff {
			return errHandedOff
		}
		return nil
	}
	c.inflight.Add(1)
	c.work(func() {
		defer c.inflight.Add(-1)
		select {
		case <-c.ready:
		case <-c.ctx.Done():
			return
		}
		run := func() {
			v, err := c.serve(handler, argt)
			c.reply(seq, v, err)
		}
		if c.cfg.Executor == nil {
			run()
			return
		}
		// The executor (a server's worker pool) may make us wait for a worker; that wait happens
		// here, never in the reader.
		done := make(chan struct{})
		c.cfg.Executor(func() {
			defer close(done)
			run()
		})
		<-done
	})
	return nil
}

func (c *Conn) isReady() bool {
	select {
	case <-c.ready:
		return true
	default:
		return false
	}
}

// inlineSafe reports whether a request can be answered by the reader itself: it runs no user
// code, so it cannot block.
func inlineSafe(h compat.Handler, args brine.Tuple) bool {
	switch h {
	case compat.HandlePing, compat.HandleGetRoot, compat.HandleDir, compat.HandleInspect:
		return true
	case compat.HandleGetAttr:
		if len(args) == 0 {
			return true
		}
		_, custom := args[0].(interface {
			RPyCGetAttr(name string) (any, error)
		})
		return !custom
	}
	return false
}

// inlineReplyMax is the largest reply the reader sends itself; a larger one is written by a
// goroutine, so that the reader never sits in a long write while the peer is writing to us.
const inlineReplyMax = 64 << 10

// replyFromReader sends a reply computed by the reader: like reply, except that a large reply
// is written by a goroutine.
func (c *Conn) replyFromReader(seq int64, v any, err error) { c.respond(seq, v, err, true) }

// workerIdle is how long an idle handler goroutine waits for more work before it exits.
const workerIdle = 10 * time.Second

// work runs fn on one of the connection's handler goroutines: an idle one if there is one (its
// stack has already grown, and waking it is cheaper than starting a goroutine), else a new one.
// It never blocks. Close waits for every fn and every handler goroutine.
func (c *Conn) work(fn func()) {
	c.wgMu.Lock()
	if c.draining {
		c.wgMu.Unlock()
		return
	}
	c.handlers.Add(1)
	select {
	case c.tasks <- fn:
		c.wgMu.Unlock()
		return
	default:
	}
	c.workers.Add(1)
	c.wgMu.Unlock()
	go c.worker(fn)
}

func (c *Conn) worker(fn func()) {
	defer c.workers.Done()
	idle := time.NewTimer(workerIdle)
	defer idle.Stop()
	for {
		fn()
		c.handlers.Done()
		idle.Reset(workerIdle)
		select {
		case fn = <-c.tasks:
		case <-idle.C:
			return
		case <-c.ctx.Done():
			return
		}
	}
}

// spawn runs fn in a goroutine that Close waits for; once Close is draining, fn is dropped.
func (c *Conn) spawn(fn func()) {
	c.wgMu.Lock()
	defer c.wgMu.Unlock()
	if c.draining {
		return
	}
	c.handlers.Add(1)
	go func() {
		defer c.handlers.Done()
		fn()
	}()
}

func (c *Conn) reply(seq int64, v any, err error) { c.respond(seq, v, err, false) }

// respond sends the reply (or exception) for request seq; fromReader is set when the reader
// goroutine itself sends it.
func (c *Conn) respond(seq int64, v any, err error, fromReader bool) {
	if err != nil {
		c.replyError(seq, err)
		return
	}
	boxed, berr := c.box(v)
	if berr != nil {
		c.replyError(seq, berr)
		return
	}
	if err := c.sendMsg(compat.MsgReply, seq, boxed, fromReader); err != nil {
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
	if sendErr := c.send(compat.MsgException, seq, payload); sendErr != nil {
		c.log.Debug("rpyc: exception not sent", "seq", seq, "err", sendErr)
	}
}

// send encodes and sends one message.
func (c *Conn) send(msg compat.MsgType, seq int64, body any) error {
	return c.sendMsg(msg, seq, body, false)
}

// sendMsg is send; with detachLarge, a message over inlineReplyMax is written by a goroutine, so
// that the reader never sits in a long write while the peer is writing to us.
func (c *Conn) sendMsg(msg compat.MsgType, seq int64, body any, detachLarge bool) error {
	d := c.Dialect()
	if d == compat.Auto {
		return fmt.Errorf("rpyc: cannot send before the dialect is known (set Config.Dialect)")
	}
	buf := bufPool.Get().(*[]byte)
	defer bufPool.Put(buf)
	out, err := d.AppendMessage((*buf)[:0], msg, seq, body)
	if err != nil {
		return err
	}
	if cap(out) <= 64<<10 {
		*buf = out
	}
	if detachLarge && len(out) > inlineReplyMax {
		payload := bytes.Clone(out) // the pooled buffer goes back to the pool
		c.spawn(func() { _ = c.ch.Send(payload) })
		return nil
	}
	if err := c.ch.Send(out); err != nil {
		if c.ctx.Err() != nil {
			return fmt.Errorf("%w", context.Cause(c.ctx))
		}
		return err
	}
	return nil
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// Request sends a synchronous request with the given handler arguments and returns the unboxed
// reply. Arguments are boxed like Python does: dumpable values by value, tuples element-wise,
// proxies of this connection's peer as LOCAL_REF and anything else as a new reference. If ctx
// has no deadline, Config.SyncRequestTimeout applies (TimeoutError "result expired").
func (c *Conn) Request(ctx context.Context, h compat.Handler, args ...any) (any, error) {
	if c.cfg.SyncRequestTimeout > 0 {
		if _, ok := ctx.Deadline(); !ok {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeoutCause(ctx, c.cfg.SyncRequestTimeout,
				fmt.Errorf("%w: result expired after %v", TimeoutError, c.cfg.SyncRequestTimeout))
			defer cancel()
		}
	}
	res, seq, err := c.start(h, args)
	if err != nil {
		return nil, err
	}
	select {
	case <-res.Done():
		return res.Value(), res.Err()
	case <-ctx.Done():
		c.mu.Lock()
		delete(c.pending, seq)
		c.mu.Unlock()
		return nil, fmt.Errorf("rpyc: %v request abandoned: %w", h, context.Cause(ctx))
	}
}

// RequestAsync sends a request and returns at once; the reply resolves the result.
func (c *Conn) RequestAsync(h compat.Handler, args ...any) *netref.AsyncResult {
	res, _, err := c.start(h, args)
	if err != nil {
		res = netref.NewAsyncResult()
		res.Resolve(nil, err)
	}
	return res
}

func (c *Conn) start(h compat.Handler, args []any) (*netref.AsyncResult, int64, error) {
	if c.ctx.Err() != nil {
		return nil, 0, context.Cause(c.ctx)
	}
	boxed, err := c.box(brine.Tuple(args))
	if err != nil {
		return nil, 0, err
	}
	// A handler running inline in the reader may be the one sending this request: its reply will
	// need a reader, so reading moves to a new goroutine first.
	if tok := c.inlineTok.Load(); tok != nil {
		tok.handOff()
	}
	res := netref.NewAsyncResult()
	seq := c.seq.Add(1) - 1
	c.mu.Lock()
	if c.ctx.Err() != nil {
		c.mu.Unlock()
		return nil, 0, context.Cause(c.ctx)
	}
	c.pending[seq] = res
	c.mu.Unlock()
	if err := c.send(compat.MsgRequest, seq, brine.Tuple{int64(h), boxed}); err != nil {
		c.mu.Lock()
		delete(c.pending, seq)
		c.mu.Unlock()
		return nil, 0, err
	}
	return res, seq, nil
}

// Release sends an asynchronous HANDLE_DEL for count references to id. It never blocks the
// caller on the network for long: the message is written by a goroutine.
func (c *Conn) Release(id compat.IDPack, count int64) {
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
	c.spawn(func() {
		// The peer looks the object up in its own table: it must travel as LABEL_LOCAL_REF
		// not as a raw id_pack, which Python would take for a tuple.
		res := c.RequestAsync(compat.HandleDel, localRef(id), count)
		_ = res // DEL replies are ignored, as Python does
	})
}

// Root returns the proxy of the peer's root object (its service), sending GETROOT the first
// time. The root proxy is kept for the connection's lifetime.
func (c *Conn) Root(ctx context.Context) (*netref.Ref, error) {
	c.mu.Lock()
	r := c.remoteRoot
	c.mu.Unlock()
	if r != nil {
		return r, nil
	}
	v, err := c.Request(ctx, compat.HandleGetRoot)
	if err != nil {
		return nil, err
	}
	ref, ok := v.(*netref.Ref)
	if !ok {
		return nil, fmt.Errorf("%w: GETROOT returned %T, not a reference", ErrProtocol, v)
	}
	pinned := netref.NewPinned(c, ref.ID())
	c.mu.Lock()
	if c.remoteRoot == nil {
		c.remoteRoot = pinned
		c.rootID = ref.ID()
	}
	r = c.remoteRoot
	c.mu.Unlock()
	// ref's cleanup may run from here on: Release now ignores the root's id.
	runtime.KeepAlive(ref)
	return r, nil
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
