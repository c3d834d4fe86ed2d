// Package rpyc is a Go implementation of RPyC, wire-compatible with Python's rpyc 4.1 through
// 6.0. This package holds the entry points; the connection engine is in package protocol, remote
// proxies in package netref, Go values as Python objects in package pyobj, the wire vocabulary in
// package compat, the codec and framing in packages brine and channel.
//
// Calling a Python rpyc service from Go:
//
//	conn, err := rpyc.Connect(ctx, "127.0.0.1:18861")
//	if err != nil { ... }
//	defer conn.Close()
//	root, err := conn.Root(ctx)
//	sum, err := rpyc.As[int](root.CallMethod(ctx, "add", 1, 2))  // root.add(1, 2)
//
// Python rpyc 5.x and 6.x use different message envelopes and cannot talk to each other; gorpyc
// speaks both. Connect finds the server's dialect by itself unless [WithDialect] says which.
//
// A client needs no other package: this one also offers brine's values ([Tuple], [Slice],
// [FrozenSet]), copies of remote containers ([Copy], [Dict], [Set]), the errors to test with
// errors.Is ([ErrClosed], [ErrStopIteration], and every Python exception class: [KeyError],
// [ValueError], ...) and the configuration ([Config], [DefaultConfig], the dialects), each an
// alias of the lower package's own, so the names are interchangeable.
//
//	rows, err := rpyc.As[[]map[string]any](root.CallMethod(ctx, "rows"))  // a list of dicts, by value
//	if errors.Is(err, rpyc.KeyError) { ... }
//
// The library logs nothing unless given a logger ([WithLogger]).
package rpyc

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/gorpyc/rpyc/channel"
	"github.com/gorpyc/rpyc/compat"
	"github.com/gorpyc/rpyc/netref"
	"github.com/gorpyc/rpyc/protocol"
	"github.com/gorpyc/rpyc/pyobj"
)

// Conn is an RPyC connection: a [protocol.Conn] (Close, Ping, Done, Context, ...) whose Root is
// the proxy of the peer's service. It is safe for concurrent use.
type Conn struct {
	*protocol.Conn
}

// Root returns the proxy of the peer's root object (its service), sending GETROOT the first
// time. The root proxy is kept for the connection's lifetime.
func (c *Conn) Root(ctx context.Context) (*Ref, error) { return netref.Root(ctx, c.Conn) }

// Ref is a proxy of a remote object; see [netref.Ref].
type Ref = netref.Ref

// Kwargs holds keyword arguments for [netref.Ref.Call] and [netref.Ref.CallMethod].
type Kwargs = netref.Kwargs

// RemoteError is an exception raised by the peer; see [protocol.RemoteError].
type RemoteError = protocol.RemoteError

// As converts a result to T; see [netref.As].
func As[T any](v any, err error) (T, error) { return netref.As[T](v, err) }

// Dialects, re-exported from package compat.
const (
	DialectAuto = compat.Auto
	DialectV5   = compat.V5
	DialectV6   = compat.V6
)

// DefaultPort is the port of rpyc servers started with rpyc_classic (18812); services have no
// fixed port.
const DefaultPort = 18812

// Option configures Connect and ConnectStream.
type Option func(*options)

type options struct {
	base        *protocol.Config         // WithConfig's configuration, if given
	set         []func(*protocol.Config) // the other options' settings, in order
	service     any
	dialer      net.Dialer
	tls         *tls.Config
	dialTimeout time.Duration
	cfg         protocol.Config // the result: base, then every setting
}

func buildOptions(opts []Option) options {
	o := options{dialTimeout: 3 * time.Second}
	for _, opt := range opts {
		opt(&o)
	}
	o.cfg = defaultConfig()
	if o.base != nil {
		o.cfg = *o.base
	}
	for _, set := range o.set {
		set(&o.cfg)
	}
	return o
}

// defaultConfig is protocol.DefaultConfig(), made once: its SafeAttrs map is shared by the
// connections that use it (they only read it).
var defaultConfig = sync.OnceValue(protocol.DefaultConfig)

// setting is an Option that changes one field of the configuration.
func setting(fn func(*protocol.Config)) Option {
	return func(o *options) { o.set = append(o.set, fn) }
}

// WithService serves root to the peer (callbacks, on-connect calls from the server). The
// default is a VoidService, like Python's rpyc.connect.
func WithService(root any) Option { return func(o *options) { o.service = root } }

// WithConfig sets the protocol configuration the other options start from (begin with
// protocol.DefaultConfig()). Wherever it stands among the options, the others (WithDialect,
// WithRequestTimeout, WithLogger) apply on top of it.
func WithConfig(cfg protocol.Config) Option {
	return func(o *options) { o.base = &cfg }
}

// WithDialect sets the server's dialect (compat.V5 for rpyc 4.1-5.3, compat.V6 for 6.x) and
// skips the probe.
func WithDialect(d compat.Dialect) Option {
	return setting(func(c *protocol.Config) { c.Dialect = d })
}

// WithRequestTimeout sets sync_request_timeout: how long a request whose context has no
// deadline may wait (30 s by default; 0 waits for the context alone).
func WithRequestTimeout(d time.Duration) Option {
	return setting(func(c *protocol.Config) { c.SyncRequestTimeout = d })
}

// WithLogger sets the logger. Without it the connection logs nothing.
func WithLogger(l *slog.Logger) Option {
	return setting(func(c *protocol.Config) { c.Logger = l })
}

// WithDialTimeout bounds each TCP connect attempt (3 s by default, as Python's).
func WithDialTimeout(d time.Duration) Option { return func(o *options) { o.dialTimeout = d } }

// WithKeepAlive enables TCP keep-alive with the given period (Python's keepalive=N). Without it
// TCP keep-alive is off, as with Python's rpyc.connect.
func WithKeepAlive(d time.Duration) Option { return func(o *options) { o.dialer.KeepAlive = d } }

// WithTLS wraps the connection in TLS (Python's ssl_connect). Python servers present whatever
// certificate they were given; set InsecureSkipVerify only where Python clients would not verify
// either.
func WithTLS(cfg *tls.Config) Option { return func(o *options) { o.tls = cfg } }

// Connect dials an RPyC server at address ("host:port", IPv4 or IPv6 "[::1]:port", or
// "unix:///path/to/socket" for a server on a Unix domain socket, Python's unix_connect) and
// returns the connection. Without WithDialect it probes the server's dialect: it sends GETROOT in
// the v5 envelope; a 5.x server answers with its root (kept for the first Root, so the probe
// costs no round trip of its own when the root is used, as it nearly always is), a 6.x server
// answers in its own envelope and closes, and Connect redials with v6. That refused probe costs
// one extra connection the first time this process connects to a 6.x server's address (the
// dialect is then remembered per address, and later probes use it first); WithDialect avoids it.
//
// Every step is bounded: each TCP connect by WithDialTimeout (3 s), the TLS handshake and the
// probe by ctx or, when ctx has no deadline, by the request timeout (WithRequestTimeout, 30 s).
func Connect(ctx context.Context, address string, opts ...Option) (*Conn, error) {
	o := buildOptions(opts)
	ctx, cancel := o.bound(ctx)
	defer cancel()
	// probing (via.go) probes in the dialect this address answered in before, if any, so that a
	// 6.x server does not log a refused v5 probe on every connect; after a refusal it redials
	// once in the dialect the peer named (or the other one), and remembers the answer.
	conn, err := o.probing(ctx, address, func(popts ...protocol.Option) (*Conn, error) {
		return o.connect(ctx, address, popts...)
	})
	if err != nil {
		return nil, fmt.Errorf("rpyc: connect %s: %w", address, err)
	}
	return conn, nil
}

// bound gives ctx the request timeout as a deadline if it has none.
func (o *options) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok || o.cfg.SyncRequestTimeout <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, o.cfg.SyncRequestTimeout)
}

func (o *options) connect(ctx context.Context, address string, opts ...protocol.Option) (*Conn, error) {
	rwc, err := o.dial(ctx, address)
	if err != nil {
		return nil, err
	}
	return o.start(ctx, rwc, opts...)
}

func (o *options) dial(ctx context.Context, address string) (io.ReadWriteCloser, error) {
	d := o.dialer
	d.Timeout = o.dialTimeout
	network, dialAddr := "tcp", address
	if path, ok := strings.CutPrefix(address, "unix://"); ok {
		network, dialAddr = "unix", path // Python's unix_connect
	}
	if d.KeepAlive == 0 {
		d.KeepAlive = -1 // off unless WithKeepAlive, as in Python (Go's dialer would enable it)
	}
	// Nagle is off: Go's TCP connections have TCP_NODELAY set from the start.
	c, err := d.DialContext(ctx, network, dialAddr)
	if err != nil {
		return nil, err
	}
	if o.tls != nil {
		cfg := o.tls.Clone()
		if cfg.ServerName == "" && !cfg.InsecureSkipVerify {
			host, _, _ := net.SplitHostPort(address)
			cfg.ServerName = host
		}
		tc := tls.Client(c, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			c.Close()
			return nil, fmt.Errorf("TLS handshake: %w", err)
		}
		return tc, nil
	}
	return c, nil
}

func (o *options) start(ctx context.Context, rwc io.ReadWriteCloser, opts ...protocol.Option) (*Conn, error) {
	cfg := o.cfg
	if c, ok := rwc.(net.Conn); ok {
		cfg.Endpoints = [2]net.Addr{c.LocalAddr(), c.RemoteAddr()}
	}
	if cfg.Channel.Budget == nil && cfg.MaxDecodedSize >= 0 {
		// A frame larger than twice what a message may decode into cannot be decoded anyway:
		// refuse it before it is read or inflated, so a hostile server's zlib-compressed
		// amplification costs nothing.
		cfg.Channel.Budget = protocol.NewBudget(2 * cfg.DecodeLimit())
	}
	opts = append(opts, protocol.WithObjects(pyobj.Handler{}))
	pc, err := protocol.NewClient(ctx, channel.New(rwc, cfg.Channel), o.service, cfg, opts...)
	if err != nil {
		return nil, err
	}
	return &Conn{pc}, nil
}

// ConnectStream runs an RPyC connection over an existing stream (a pipe, a unix socket, an SSH
// channel). The connection owns rwc. Without WithDialect the dialect is probed once (bounded
// like Connect's); a mismatch cannot be retried on the same stream and returns an error naming
// the peer's dialect.
func ConnectStream(ctx context.Context, rwc io.ReadWriteCloser, opts ...Option) (*Conn, error) {
	o := buildOptions(opts)
	ctx, cancel := o.bound(ctx)
	defer cancel()
	conn, err := o.start(ctx, rwc)
	if err != nil {
		return nil, fmt.Errorf("rpyc: dialect probe: %w (use WithDialect)", err)
	}
	return conn, nil
}
