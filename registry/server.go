package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/gorpyc/rpyc/brine"
	"github.com/gorpyc/rpyc/compat"
)

// Defaults of the server's limits (see [Server]).
const (
	// DefaultMaxTCPConns is the default of [Server.MaxTCPConns].
	DefaultMaxTCPConns = 256
	// DefaultMaxTCPConnsPerIP is the default of [Server.MaxTCPConnsPerIP].
	DefaultMaxTCPConnsPerIP = 64
	// DefaultTCPEvictIdle is the default of [Server.TCPEvictIdle].
	DefaultTCPEvictIdle = 50 * time.Millisecond
	// DefaultTCPTimeout is the default of [Server.TCPTimeout].
	DefaultTCPTimeout = 3 * time.Second
	// DefaultMaxRegistrations is the default of [Server.MaxRegistrations].
	DefaultMaxRegistrations = 1 << 17
	// DefaultMaxEndpointsPerName is the default of [Server.MaxEndpointsPerName].
	DefaultMaxEndpointsPerName = 1024
	// DefaultStoreTimeout is the default of [Server.StoreTimeout].
	DefaultStoreTimeout = 2 * time.Second
	// DefaultMaxPendingWrites is the default of [Server.MaxPendingWrites].
	DefaultMaxPendingWrites = 256
)

// Server is a registry server: it answers REGISTER, UNREGISTER, QUERY and LIST requests over
// UDP (one datagram each way, like Python's UDPRegistryServer) and TCP (one request per
// connection, like TCPRegistryServer). The zero value is ready to use; set the fields before
// the first call to a Serve method and do not change them afterwards.
//
// A Server may serve several packet connections and listeners at once (for example UDP and TCP
// on the same port); they share one service table. Its methods are safe for concurrent use.
type Server struct {
	// Net is the network ListenAndServe listens on: "udp" (the default), "udp4", "udp6", "tcp",
	// "tcp4" or "tcp6".
	Net string
	// Addr is the address ListenAndServe listens on; the default ":18811" means every address,
	// port 18811 ([DefaultPort]). Port 0 picks a free port; see NotifyStarted.
	Addr string
	// PruneTimeout is how long a registration lives without being refreshed; 0 means 240 s
	// ([DefaultPruneTimeout]). As with Python's pruning_timeout, a negative value makes every
	// registration stale at once.
	PruneTimeout time.Duration
	// AllowListing enables LIST (Python's allow_listing, off by default). When it is off, LIST
	// is answered with None, which clients report as [ErrListingDisabled].
	AllowListing bool
	// Logger receives the server's log lines: one at Info level when a Serve method starts, one
	// at Debug level per request, and rate-limited Warn lines for requests that get no reply
	// (undecodable, oversized, bad magic, unknown command, bad arguments) and for truncated
	// replies. nil logs nothing (a library stays quiet unless configured).
	Logger *slog.Logger
	// TCPTimeout bounds each TCP exchange, from accept to the reply, however steadily the
	// request trickles in; 0 means 3 s ([DefaultTCPTimeout], Python's TCPRegistryServer.TIMEOUT).
	// A client that has not sent a complete request by then is disconnected.
	TCPTimeout time.Duration
	// MaxTCPConns limits the TCP connections open at once per listener; 0 means 256
	// ([DefaultMaxTCPConns]). When it is reached, a new connection evicts a stalled one: a
	// connection still waiting for (the rest of) its request that has received nothing for
	// TCPEvictIdle, the oldest first (see MaxTCPConnsPerIP). When none is stalled, the server
	// stops accepting until one is or a connection ends; new connections wait in the kernel's
	// listen backlog, and none is refused for being one too many. So slow or idle clients
	// cannot starve fast ones: a registry request is one small segment sent right after
	// connecting, answered as soon as it is read. Python's TCPRegistryServer has no such limit
	// (it serves one connection at a time, and one idle client blocks it).
	MaxTCPConns int
	// MaxTCPConnsPerIP is the share of MaxTCPConns one client address may hold when the table
	// is full (for IPv6, one /64 prefix); 0 means 64 ([DefaultMaxTCPConnsPerIP]), a negative
	// value means no shares. While some address holds more, eviction takes only stalled
	// connections of such addresses, so that a flood from one address cannot evict slow
	// clients elsewhere. It is not a hard limit: an address may hold more while the table has
	// room, and clients sharing an address with an attacker (on one host, behind NAT) are still
	// served, since eviction only takes stalled connections.
	MaxTCPConnsPerIP int
	// TCPEvictIdle is how long a TCP connection with an incomplete request must have received
	// nothing before it counts as stalled and may be evicted; 0 means 50 ms
	// ([DefaultTCPEvictIdle]). It protects healthy clients whose request is still in flight;
	// the longer it is, the longer new connections may wait while a flood of slow clients
	// keeps the table full.
	TCPEvictIdle time.Duration
	// MaxRegistrations bounds the registrations held, one per name and endpoint, so that a
	// flood of REGISTERs cannot exhaust memory (an entry takes about 250 bytes plus its
	// name); 0 means 131,072 ([DefaultMaxRegistrations]), a negative value means no bound.
	// A REGISTER that would add entries beyond it gets no reply (and is logged); its entries
	// already known are refreshed. Python's registry has no bound.
	MaxRegistrations int
	// MaxEndpointsPerName bounds the endpoints of one name; 0 means 1024
	// ([DefaultMaxEndpointsPerName]), a negative value means no bound. A new endpoint for a
	// full name replaces the one registered least recently, which QUERY replies (about 60 to
	// 130 endpoints fit in one) would never include anyway; this keeps QUERY cheap however
	// many endpoints a peer registers under one name. Python's registry has no bound.
	MaxEndpointsPerName int
	// NotifyStarted, if set, is called with the local address each time a Serve method (or
	// ListenAndServe) starts serving, before the first request is read. With port 0 it is the
	// way to learn the port.
	NotifyStarted func(addr net.Addr)
	// Store, if set, holds the registrations instead of an in-memory table of the Server's
	// own: several Servers sharing one Store (for example an etcd-backed one, see package
	// registry/etcdstore) answer with one view. PruneTimeout, MaxRegistrations and
	// MaxEndpointsPerName then do not apply (the Store has its own). A REGISTER or UNREGISTER
	// is acknowledged once the Store has recorded it, within StoreTimeout; over UDP it is
	// handed to a goroutine of its own, so that a slow Store never holds up the reader (see
	// MaxPendingWrites). The Server does not close the Store.
	Store Store
	// StoreTimeout bounds each write (REGISTER, UNREGISTER) to Store; 0 means 2 s
	// ([DefaultStoreTimeout], the time Python's UDP client waits for the reply). A write not
	// done by then gets no reply, and the client retries or reports no acknowledgement.
	StoreTimeout time.Duration
	// MaxPendingWrites bounds the writes to Store received over UDP and in progress at once;
	// 0 means 256 ([DefaultMaxPendingWrites]). Beyond it, REGISTER and UNREGISTER datagrams
	// are dropped (logged, rate-limited) until writes complete, so that a slow or unreachable
	// Store costs bounded memory. TCP writes are bounded by MaxTCPConns.
	MaxPendingWrites int
	// OnRequest, if set, is called for every request decoded with a known command, with the
	// command and the transport ("udp" or "tcp"), before it is answered; for metrics (see
	// cmd/rpyc-registry --metrics). It must be quick and safe for concurrent use.
	OnRequest func(cmd Command, transport string)

	initOnce sync.Once
	tab      *table // the in-memory table, when Store is nil
	store    Store  // Store, or tab
	pending  chan struct{}
	ctx      context.Context // ends with closeConns: cancels the Store writes in progress
	cancel   context.CancelFunc
	log      *slog.Logger
	warnings limiter
	now      func() time.Time
	done     chan struct{} // closed by Shutdown/Close

	mu        sync.Mutex // guards the fields below
	closed    bool
	janitorOn bool
	pconns    map[net.PacketConn]struct{}
	lns       map[net.Listener]struct{}
	conns     map[net.Conn]struct{}
	running   sync.WaitGroup // Serve loops, TCP handlers, the janitor; Add only under mu while !closed
}

func (s *Server) init() {
	s.initOnce.Do(func() {
		timeout := s.PruneTimeout
		if timeout == 0 {
			timeout = DefaultPruneTimeout
		}
		if s.Store != nil {
			s.store = s.Store
			s.pending = make(chan struct{}, orDefault(s.MaxPendingWrites, DefaultMaxPendingWrites))
		} else {
			s.tab = newTable(timeout)
			s.tab.maxEntries = orDefault(s.MaxRegistrations, DefaultMaxRegistrations)
			s.tab.maxPerName = orDefault(s.MaxEndpointsPerName, DefaultMaxEndpointsPerName)
			s.store = &MemoryStore{s.tab}
		}
		s.ctx, s.cancel = context.WithCancel(context.Background())
		s.log = loggerOr(s.Logger)
		if s.now == nil {
			s.now = time.Now
		}
		s.warnings = limiter{perSecond: 10}
		s.done = make(chan struct{})
		s.pconns = make(map[net.PacketConn]struct{})
		s.lns = make(map[net.Listener]struct{})
		s.conns = make(map[net.Conn]struct{})
	})
}

// orDefault returns v, or def when v is 0; negative values mean "no bound" (0 for the table).
func orDefault(v, def int) int {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

// janitorInterval is how often the whole table is swept of stale entries.
func janitorInterval(timeout time.Duration) time.Duration {
	return min(max(timeout/2, 50*time.Millisecond), 30*time.Second)
}

// start registers one running goroutine, after track (called under s.mu) has recorded what it
// serves; it fails once the server is closed. The first call also starts the janitor.
func (s *Server) start(track func()) bool {
	s.init()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	if _, ok := s.store.(pruner); ok && !s.janitorOn {
		s.janitorOn = true
		s.running.Add(1)
		go s.janitor()
	}
	track()
	s.running.Add(1)
	return true
}

// janitor sweeps the table of stale entries until the server closes, so that names nobody
// queries do not pile up (Python prunes only inside QUERY).
func (s *Server) janitor() {
	defer s.running.Done()
	p := s.store.(pruner)
	t := time.NewTicker(janitorInterval(s.pruneTimeout()))
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
			if n := p.Prune(s.now()); n > 0 {
				s.log.Debug("registry: pruned stale registrations", "count", n)
			}
		}
	}
}

// ListenAndServe listens on s.Net and s.Addr and serves until [Server.Shutdown] or
// [Server.Close], after which it returns [ErrServerClosed].
func (s *Server) ListenAndServe() error {
	s.init()
	network := s.Net
	if network == "" {
		network = "udp"
	}
	addr := s.Addr
	if addr == "" {
		addr = fmt.Sprintf(":%d", DefaultPort)
	}
	if s.isClosed() {
		return ErrServerClosed
	}
	switch network {
	case "udp", "udp4", "udp6":
		pc, err := net.ListenPacket(network, addr)
		if err != nil {
			return fmt.Errorf("registry: %w", err)
		}
		return s.ServePacket(pc)
	case "tcp", "tcp4", "tcp6":
		l, err := net.Listen(network, addr)
		if err != nil {
			return fmt.Errorf("registry: %w", err)
		}
		return s.Serve(l)
	}
	return fmt.Errorf("registry: unsupported network %q (want udp, udp4, udp6, tcp, tcp4 or tcp6)", network)
}

func (s *Server) isClosed() bool {
	s.init()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// ServePacket answers registry datagrams arriving on pc until [Server.Shutdown] or
// [Server.Close] (which close pc) and then returns [ErrServerClosed]. Each datagram of at most
// 1500 bytes holding one request gets one reply datagram, sent back to its source; anything
// else is logged and dropped, and serving goes on. It closes pc when it returns.
func (s *Server) ServePacket(pc net.PacketConn) error {
	if !s.start(func() { s.pconns[pc] = struct{}{} }) {
		_ = pc.Close()
		return ErrServerClosed
	}
	defer s.running.Done()
	defer func() {
		s.mu.Lock()
		delete(s.pconns, pc)
		s.mu.Unlock()
		_ = pc.Close()
	}()
	s.log.Info("registry: serving", "net", pc.LocalAddr().Network(), "addr", pc.LocalAddr().String(),
		s.storeAttr(), "listing", s.AllowListing)
	if s.NotifyStarted != nil {
		s.NotifyStarted(pc.LocalAddr())
	}
	udp, _ := pc.(*net.UDPConn)
	buf := make([]byte, MaxDatagramSize+1) // one extra byte tells an oversized datagram
	out := make([]byte, 0, MaxListReplySize)
	var backoff time.Duration
	for {
		var (
			n    int
			from netip.AddrPort
			addr net.Addr
			err  error
		)
		if udp != nil {
			n, from, err = udp.ReadFromUDPAddrPort(buf)
		} else {
			n, addr, err = pc.ReadFrom(buf)
		}
		if err != nil {
			if s.isClosed() {
				return ErrServerClosed
			}
			if errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("registry: %w", err)
			}
			// Transient (e.g. ENOBUFS, or a deadline someone set): log and go on, slowing down.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.warn("registry: read failed", "err", err, "retry_in", backoff)
			select {
			case <-time.After(backoff):
			case <-s.done:
			}
			continue
		}
		backoff = 0
		var ip string
		if udp != nil {
			ip = ipString(from.Addr())
		} else {
			ip = hostOf(addr)
		}
		if n > MaxDatagramSize {
			s.warn("registry: dropped request", "from", ip, "reason", errOversized, "transport", "udp")
			continue
		}
		if s.pending != nil && isWrite(buf[:n]) {
			s.writeAsync(pc, udp, from, addr, ip, buf[:n])
			continue
		}
		if reply, ok := s.handle(out[:0], buf[:n], ip, udpLimits); ok {
			s.reply(pc, udp, from, addr, ip, reply)
		}
	}
}

// reply sends a datagram's reply back to its sender: through udp (without an allocation for the
// address) when pc is a *net.UDPConn, else through pc.
func (s *Server) reply(pc net.PacketConn, udp *net.UDPConn, from netip.AddrPort, addr net.Addr, ip string, reply []byte) {
	var err error
	if udp != nil {
		_, err = udp.WriteToUDPAddrPort(reply, from)
	} else {
		_, err = pc.WriteTo(reply, addr)
	}
	if err != nil {
		s.log.Debug("registry: reply not sent", "to", ip, "err", err)
	}
}

// Serve answers registry requests on connections accepted from l until [Server.Shutdown] or
// [Server.Close] (which close l) and then returns [ErrServerClosed]. Each connection carries
// one request: the server reads until it holds a complete brine value (at most 1500 bytes,
// within TCPTimeout), writes the reply in one write and closes the connection. Anything else is
// logged and the connection closed; serving goes on. At most MaxTCPConns connections are open
// at once; when they all are, stalled ones are evicted to admit new ones (see MaxTCPConns). It
// closes l when it returns.
func (s *Server) Serve(l net.Listener) error {
	if !s.start(func() { s.lns[l] = struct{}{} }) {
		_ = l.Close()
		return ErrServerClosed
	}
	defer s.running.Done()
	defer func() {
		s.mu.Lock()
		delete(s.lns, l)
		s.mu.Unlock()
		_ = l.Close()
	}()
	s.log.Info("registry: serving", "net", l.Addr().Network(), "addr", l.Addr().String(),
		s.storeAttr(), "listing", s.AllowListing)
	if s.NotifyStarted != nil {
		s.NotifyStarted(l.Addr())
	}
	tab := s.newConnTable()
	var backoff time.Duration
	for {
		c, err := l.Accept()
		if err != nil {
			if s.isClosed() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.Is(err, net.ErrClosed) || !errors.As(err, &ne) {
				return fmt.Errorf("registry: %w", err)
			}
			// Out of file descriptors and the like: wait and retry, as net/http does.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.warn("registry: accept failed", "err", err, "retry_in", backoff)
			select {
			case <-time.After(backoff):
			case <-s.done:
			}
			continue
		}
		backoff = 0
		tc := &tcpConn{c: c, ip: connKey(c.RemoteAddr())}
		if !s.admit(tab, tc) {
			_ = c.Close()
			return ErrServerClosed
		}
		if !s.start(func() { s.conns[c] = struct{}{} }) {
			tab.done(tc)
			_ = c.Close()
			return ErrServerClosed
		}
		go s.serveConn(tab, tc)
	}
}

func (s *Server) newConnTable() *connTable {
	maxConns := s.MaxTCPConns
	if maxConns <= 0 {
		maxConns = DefaultMaxTCPConns
	}
	perIP := s.MaxTCPConnsPerIP
	if perIP == 0 {
		perIP = DefaultMaxTCPConnsPerIP
	}
	idle := s.TCPEvictIdle
	if idle <= 0 {
		idle = DefaultTCPEvictIdle
	}
	return newConnTable(maxConns, perIP, idle)
}

// admit puts tc in tab, evicting a stalled connection if the table is full, and waiting for
// one to stall or end if there is none (tc, and the connections behind it in the listen
// backlog, wait meanwhile). It returns false if the server closes meanwhile.
func (s *Server) admit(tab *connTable, tc *tcpConn) bool {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for waited := false; ; waited = true {
		now := time.Now()
		tc.start, tc.last = now, now
		victim, ok, retry := tab.admit(tc, now)
		if victim != nil {
			_ = victim.c.Close()
			s.warn("registry: evicted a stalled connection to admit a new one", "from", hostOf(victim.c.RemoteAddr()),
				"open_for", now.Sub(victim.start).Round(time.Millisecond), "idle_for", now.Sub(victim.last).Round(time.Millisecond),
				"transport", "tcp")
		}
		if ok {
			return true
		}
		if !waited {
			s.warn("registry: connection table full, waiting for a connection to end or stall",
				"from", hostOf(tc.c.RemoteAddr()), "open", tab.size(), "transport", "tcp")
		}
		var wake <-chan time.Time
		if retry >= 0 {
			if timer == nil {
				timer = time.NewTimer(retry)
			} else {
				timer.Reset(retry)
			}
			wake = timer.C
		}
		select {
		case <-tab.changed:
		case <-wake:
		case <-s.done:
			return false
		}
	}
}

// serveConn handles one TCP connection: one request, one reply.
func (s *Server) serveConn(tab *connTable, tc *tcpConn) {
	c := tc.c
	defer s.running.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		_ = c.Close()
		tab.done(tc)
	}()
	timeout := s.TCPTimeout
	if timeout <= 0 {
		timeout = DefaultTCPTimeout
	}
	_ = c.SetDeadline(tc.start.Add(timeout))
	ip := hostOf(c.RemoteAddr())
	buf := make([]byte, 0, MaxDatagramSize)
	n := 0
	for {
		if !tab.reading(tc, n, time.Now()) {
			return // evicted (and logged) by the accept loop
		}
		var err error
		n, err = c.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if n > 0 {
			_, _, derr := brine.Decode(buf)
			switch {
			case derr == nil:
				if !tab.complete(tc) {
					return
				}
				reply, ok := s.handle(nil, buf, ip, tcpLimits)
				if ok {
					if _, err := c.Write(reply); err != nil {
						s.log.Debug("registry: reply not sent", "to", ip, "err", err)
					}
				}
				return
			case !errors.Is(derr, brine.ErrTruncated):
				s.warn("registry: dropped request", "from", ip, "reason", derr, "transport", "tcp")
				return
			case len(buf) == cap(buf):
				s.warn("registry: dropped request", "from", ip, "reason", errOversized, "transport", "tcp")
				return
			}
		}
		if err != nil {
			if tab.evicted(tc) {
				return // logged by the accept loop
			}
			if len(buf) == 0 && (errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed)) {
				s.log.Debug("registry: connection closed without a request", "from", ip)
				return
			}
			s.warn("registry: incomplete request", "from", ip, "bytes", len(buf), "err", err, "transport", "tcp")
			return
		}
	}
}

// Registrations returns the number of names and of registrations (one per name and endpoint)
// the server holds, stale ones included until the janitor prunes them.
func (s *Server) Registrations() (names, entries int) {
	s.init()
	return s.store.Counts()
}

// pruneTimeout is the in-memory store's pruning timeout, or 0 for another Store.
func (s *Server) pruneTimeout() time.Duration {
	if m, ok := s.store.(*MemoryStore); ok {
		return m.t.timeout
	}
	return 0
}

// storeAttr describes where registrations are kept, for the "serving" log line: the pruning
// timeout of the in-memory table, or the Store's type.
func (s *Server) storeAttr() slog.Attr {
	if s.tab == nil {
		return slog.String("store", fmt.Sprintf("%T", s.Store))
	}
	return slog.Duration("prune_timeout", s.tab.timeout)
}

// maxPerName is the in-memory table's bound of endpoints per name, or 0 with a Store.
func (s *Server) maxPerName() int {
	if s.tab == nil {
		return 0
	}
	return s.tab.maxPerName
}

// isWrite reports whether data is a REGISTER or UNREGISTER request.
func isWrite(data []byte) bool {
	req, _, err := parseRequest(data)
	return err == nil && (req.cmd == CmdRegister || req.cmd == CmdUnregister)
}

// writeAsync answers a write request received on pc in a goroutine of its own, or drops it
// when MaxPendingWrites are in progress.
func (s *Server) writeAsync(pc net.PacketConn, udp *net.UDPConn, from netip.AddrPort, addr net.Addr, ip string, data []byte) {
	select {
	case s.pending <- struct{}{}:
	default:
		s.warn("registry: dropped request", "from", ip, "reason", "too many store writes in progress",
			"max_pending_writes", cap(s.pending), "transport", "udp")
		return
	}
	data = append([]byte(nil), data...)
	if !s.start(func() {}) {
		<-s.pending
		return
	}
	go func() {
		defer s.running.Done()
		defer func() { <-s.pending }()
		if reply, ok := s.handle(nil, data, ip, udpLimits); ok {
			s.reply(pc, udp, from, addr, ip, reply)
		}
	}()
}

// storeCtx bounds one write to s.store.
func (s *Server) storeCtx() (context.Context, context.CancelFunc) {
	if s.tab != nil {
		return s.ctx, func() {} // the in-memory table never blocks
	}
	timeout := s.StoreTimeout
	if timeout <= 0 {
		timeout = DefaultStoreTimeout
	}
	return context.WithTimeout(s.ctx, timeout)
}

// Shutdown stops the server gracefully: it closes every packet connection and listener (so the
// Serve methods return [ErrServerClosed]), lets TCP exchanges in progress finish, and returns
// once every goroutine of the server has ended. If ctx ends first, it closes the remaining
// connections, waits for their goroutines, and returns ctx's error.
func (s *Server) Shutdown(ctx context.Context) error {
	s.closeListeners()
	done := make(chan struct{})
	go func() {
		s.running.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.closeConns()
		<-done
		return ctx.Err()
	}
}

// Close stops the server at once: it closes every packet connection, listener and TCP
// connection, and returns once every goroutine of the server has ended.
func (s *Server) Close() error {
	s.closeListeners()
	s.closeConns()
	s.running.Wait()
	return nil
}

func (s *Server) closeListeners() {
	s.init()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		close(s.done)
	}
	for pc := range s.pconns {
		_ = pc.Close()
	}
	for l := range s.lns {
		_ = l.Close()
	}
}

func (s *Server) closeConns() {
	s.cancel()
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		_ = c.Close()
	}
}

// replyLimits are the largest replies a Python client reads, per command.
// (transport names the transport for OnRequest.)
type replyLimits struct {
	query, list int
	transport   string
}

var (
	udpLimits = replyLimits{query: MaxDatagramSize, list: MaxListReplySize, transport: "udp"}
	tcpLimits = replyLimits{query: MaxDatagramSize, list: MaxDatagramSize, transport: "tcp"}
)

// okReply is the brine str "OK", the reply to REGISTER and UNREGISTER.
var okReply = []byte{0x08, 0x0b, 'O', 'K'}

// noneReply is brine None, the LIST reply when listing is disabled.
var noneReply = []byte{0x00}

// handle answers one request from ip, appending the reply to dst. ok is false when the request
// gets no reply (logged). Bytes after the request are ignored, as Python ignores them.
func (s *Server) handle(dst, data []byte, ip string, limits replyLimits) (reply []byte, ok bool) {
	req, _, err := parseRequest(data)
	if err != nil {
		s.warn("registry: dropped request", "from", ip, "reason", err)
		return dst, false
	}
	if s.OnRequest != nil {
		s.OnRequest(req.cmd, limits.transport)
	}
	args := req.args
	now := s.now()
	switch req.cmd {
	case CmdRegister:
		if len(args) != 2 {
			break
		}
		names, ok1 := aliasNames(args[0])
		port, ok2 := portOf(args[1])
		if !ok1 || !ok2 {
			break
		}
		ctx, cancel := s.storeCtx()
		added, replaced, err := s.store.Register(ctx, now, Entry{ip, port}, names)
		cancel()
		if err != nil {
			if s.tab != nil {
				s.warn("registry: dropped request", "from", ip, "reason", err, "command", req.raw,
					"max_registrations", s.tab.maxEntries)
			} else {
				s.warn("registry: dropped request", "from", ip, "reason", err, "command", req.raw)
			}
			return dst, false
		}
		if replaced > 0 {
			s.warn("registry: too many endpoints for a name, dropped the least recently registered",
				"from", ip, "names", pyRepr(names), "dropped", replaced, "max_per_name", s.maxPerName())
		}
		if s.debugging() {
			s.log.Debug("registry: register", "from", ip, "port", port, "names", names, "new", added)
		}
		return append(dst, okReply...), true
	case CmdUnregister:
		if len(args) != 1 {
			break
		}
		port, ok := portOf(args[0])
		if !ok {
			break
		}
		ctx, cancel := s.storeCtx()
		removed, err := s.store.Unregister(ctx, Entry{ip, port})
		cancel()
		if err != nil {
			s.warn("registry: dropped request", "from", ip, "reason", err, "command", req.raw)
			return dst, false
		}
		if s.debugging() {
			s.log.Debug("registry: unregister", "from", ip, "port", port, "removed", removed)
		}
		return append(dst, okReply...), true
	case CmdQuery:
		if len(args) != 1 {
			break
		}
		name, ok := args[0].(string)
		if b, isBytes := args[0].([]byte); isBytes {
			// Python upper-cases bytes too and finds no such (str) name.
			s.log.Debug("registry: query", "from", ip, "name", pyRepr(b), "endpoints", 0)
			return appendTupleHeader(dst, 0), true
		}
		if !ok {
			break
		}
		name = compat.ServiceName(name)
		entries := s.store.Query(now, name)
		reply, kept := appendEndpoints(dst, entries, limits.query)
		if s.debugging() {
			s.log.Debug("registry: query", "from", ip, "name", name, "endpoints", len(entries),
				"reply", replyRepr(entries[len(entries)-kept:]))
		}
		if kept < len(entries) {
			s.warn("registry: QUERY reply truncated to fit a datagram", "name", name,
				"endpoints", len(entries), "sent", kept, "kept", "most recently registered")
		}
		return reply, true
	case CmdList:
		// 5.2.1+ clients send ((filter_host,),); 5.1 clients sent ().
		var filter any
		switch len(args) {
		case 0:
		case 1:
			if !s.AllowListing {
				break
			}
			f, ok := args[0].(brine.Tuple)
			if !ok || len(f) == 0 {
				return s.badArgs(dst, req, ip)
			}
			filter = f[0]
		default:
			return s.badArgs(dst, req, ip)
		}
		if !s.AllowListing {
			s.log.Debug("registry: list refused (listing disabled)", "from", ip)
			return append(dst, noneReply...), true
		}
		host, isStr := filter.(string)
		reply, kept, more := s.appendList(dst, now, pyTruthy(filter), host, isStr, limits.list)
		if s.debugging() {
			s.log.Debug("registry: list", "from", ip, "filter", pyRepr(filter), "names", kept)
		}
		if more {
			s.warn("registry: LIST reply truncated to fit", "sent", kept, "limit_bytes", limits.list)
		}
		return reply, true
	}
	return s.badArgs(dst, req, ip)
}

// debugging reports whether Debug lines are logged; per-request lines check it first, so that
// building their attributes costs nothing otherwise.
func (s *Server) debugging() bool { return s.log.Enabled(context.Background(), slog.LevelDebug) }

func (s *Server) badArgs(dst []byte, req request, ip string) ([]byte, bool) {
	s.warn("registry: dropped request", "from", ip, "reason", errBadArgs, "command", req.raw, "args", pyRepr(req.args))
	return dst, false
}

// aliasNames reads REGISTER's aliases: a tuple (or frozenset) of str, upper-cased.
func aliasNames(v any) ([]string, bool) {
	var items []any
	switch x := v.(type) {
	case brine.Tuple:
		items = x
	case brine.FrozenSet:
		items = x
	default:
		return nil, false
	}
	names := make([]string, len(items))
	for i, it := range items {
		s, ok := it.(string)
		if !ok {
			return nil, false
		}
		names[i] = compat.ServiceName(s)
	}
	return names, true
}

// portOf reads a registered port: an int (TCP servers) or a str (unix-socket servers).
func portOf(v any) (portKey, bool) {
	switch v.(type) {
	case int64, string:
		return v, true
	}
	return nil, false
}

// tupleHeader is the size of a brine tuple header for n items.
func tupleHeader(n int) int {
	switch {
	case n <= 4:
		return 1
	case n <= 255:
		return 2
	}
	return 5
}

// appendEndpoints appends the QUERY reply for entries (oldest first) within limit bytes. When
// they do not all fit it keeps the most recently registered ones, the likeliest to be alive,
// still oldest first. It returns how many it kept. It encodes only what it keeps (and one
// more), however many entries there are.
// replyRepr is the QUERY reply as Python's registry logs it: a list of (host, port) tuples.
func replyRepr(entries []Entry) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, e := range entries {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(brine.Repr(brine.Tuple{e.IP, e.Port}))
	}
	b.WriteByte(']')
	return b.String()
}

func appendEndpoints(dst []byte, entries []Entry, limit int) ([]byte, int) {
	var buf []byte // the kept endpoints, most recent first
	var ends []int // ends[j] is where the j-th most recent one ends in buf
	for i := len(entries) - 1; i >= 0; i-- {
		b, err := brine.Append(buf, brine.Tuple{entries[i].IP, entries[i].Port})
		if err != nil {
			panic("registry: BUG: endpoint not encodable: " + err.Error())
		}
		if tupleHeader(len(ends)+1)+len(b) > limit {
			break
		}
		buf = b
		ends = append(ends, len(buf))
	}
	dst = appendTupleHeader(dst, len(ends))
	for j := len(ends) - 1; j >= 0; j-- {
		start := 0
		if j > 0 {
			start = ends[j-1]
		}
		dst = append(dst, buf[start:ends[j]]...)
	}
	return dst, len(ends)
}

// appendList appends the LIST reply within limit bytes: names in insertion order, filtered by
// host when filter is set (a non-str filter matches nothing, as in Python). more reports that
// names were left out.
func (s *Server) appendList(dst []byte, now time.Time, filter bool, host string, isStr bool, limit int) (reply []byte, kept int, more bool) {
	var items [][]byte
	size := 0
	s.store.List(now, filter, host, func(name string) bool {
		if filter && !isStr {
			return false
		}
		b, _ := brine.Append(nil, name)
		if tupleHeader(len(items)+1)+size+len(b) > limit {
			more = true
			return false
		}
		items = append(items, b)
		size += len(b)
		return true
	})
	dst = appendTupleHeader(dst, len(items))
	for _, b := range items {
		dst = append(dst, b...)
	}
	return dst, len(items), more
}

func appendTupleHeader(dst []byte, n int) []byte {
	switch {
	case n == 0:
		return append(dst, 0x02)
	case n <= 4:
		return append(dst, byte(0x10+n-1))
	case n <= 255:
		return append(dst, 0x14, byte(n))
	}
	return append(dst, 0x15, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

// ipString renders a sender's address as Python's socket module does, except that IPv4
// addresses received on a dual-stack socket are shown as IPv4 ("127.0.0.1", not
// "::ffff:127.0.0.1"), so that the same client is recorded the same way on every socket.
func ipString(a netip.Addr) string { return a.Unmap().String() }

// hostOf returns the IP of a remote address.
func hostOf(a net.Addr) string {
	switch x := a.(type) {
	case *net.TCPAddr:
		return ipString(x.AddrPort().Addr())
	case *net.UDPAddr:
		return ipString(x.AddrPort().Addr())
	case nil:
		return ""
	}
	if ap, err := netip.ParseAddrPort(a.String()); err == nil {
		return ipString(ap.Addr())
	}
	if h, _, err := net.SplitHostPort(a.String()); err == nil {
		return h
	}
	return a.String()
}

// warn logs at Warn level, at most perSecond lines a second; the number of lines suppressed is
// reported with the next line let through.
func (s *Server) warn(msg string, args ...any) {
	if n, ok := s.warnings.allow(s.now()); ok {
		if n > 0 {
			args = append(args, "suppressed_since_last", n)
		}
		s.log.Warn(msg, args...)
	}
}

// limiter lets through at most perSecond events per one-second window.
type limiter struct {
	perSecond  int
	mu         sync.Mutex
	window     time.Time
	count      int
	suppressed int
}

// allow reports whether an event at now may be logged, and how many were suppressed before it.
func (l *limiter) allow(now time.Time) (suppressed int, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.window) >= time.Second {
		l.window, l.count = now, 0
	}
	if l.count >= l.perSecond {
		l.suppressed++
		return 0, false
	}
	l.count++
	suppressed, l.suppressed = l.suppressed, 0
	return suppressed, true
}
