// Package rpyc is a Go implementation of RPyC, wire-compatible with Python's rpyc 4.1 through
// 6.0. This package holds the entry points; the protocol engine is in package protocol, remote
// proxies in package netref, the codec and framing in packages brine and channel.
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
package rpyc

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/gorpyc/rpyc/channel"
	"github.com/gorpyc/rpyc/compat"
	"github.com/gorpyc/rpyc/netref"
	"github.com/gorpyc/rpyc/protocol"
)

// Conn is an RPyC connection; see [protocol.Conn].
type Conn = protocol.Conn

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
	cfg         protocol.Config
	service     any
	dialer      net.Dialer
	tls         *tls.Config
	probeOrder  []compat.Dialect
	dialTimeout time.Duration
}

func buildOptions(opts []Option) options {
	o := options{cfg: protocol.DefaultConfig(), dialTimeout: 3 * time.Second,
		probeOrder: []compat.Dialect{compat.V5, compat.V6}}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// WithService serves root to the peer (callbacks, on-connect calls from the server). The
// default is a VoidService, like Python's rpyc.connect.
func WithService(root any) Option { return func(o *options) { o.service = root } }

// WithConfig replaces the protocol configuration (start from protocol.DefaultConfig()).
func WithConfig(cfg protocol.Config) Option {
	return func(o *options) {
		d := o.cfg.Dialect
		o.cfg = cfg
		if cfg.Dialect == compat.Auto {
			o.cfg.Dialect = d
		}
	}
}

// WithDialect sets the server's dialect (compat.V5 for rpyc 4.1-5.3, compat.V6 for 6.x) and
// skips the probe.
func WithDialect(d compat.Dialect) Option { return func(o *options) { o.cfg.Dialect = d } }

// WithRequestTimeout sets sync_request_timeout: how long a request whose context has no
// deadline may wait (30 s by default; 0 waits for the context alone).
func WithRequestTimeout(d time.Duration) Option {
	return func(o *options) { o.cfg.SyncRequestTimeout = d }
}

// WithLogger sets the logger (slog.Default() otherwise).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.cfg.Logger = l } }

// WithDialTimeout bounds each TCP connect attempt (3 s by default, as Python's).
func WithDialTimeout(d time.Duration) Option { return func(o *options) { o.dialTimeout = d } }

// WithKeepAlive enables TCP keep-alive with the given period (Python's keepalive=N).
func WithKeepAlive(d time.Duration) Option { return func(o *options) { o.dialer.KeepAlive = d } }

// WithTLS wraps the connection in TLS (Python's ssl_connect). Python servers present whatever
// certificate they were given; set InsecureSkipVerify only where Python clients would not verify
// either.
func WithTLS(cfg *tls.Config) Option { return func(o *options) { o.tls = cfg } }

// Connect dials an RPyC server at address ("host:port", IPv4 or IPv6 "[::1]:port") and returns
// the connection. Without WithDialect it probes the server's dialect: it sends a PING in the v5
// envelope; a 6.x server answers in its own envelope and closes, and Connect redials with v6.
// The probe costs one round trip on every connect, plus one extra TCP connect against a 6.x
// server; WithDialect avoids both.
func Connect(ctx context.Context, address string, opts ...Option) (*Conn, error) {
	o := buildOptions(opts)
	if o.cfg.Dialect != compat.Auto {
		rwc, err := o.dial(ctx, address)
		if err != nil {
			return nil, err
		}
		return o.start(rwc), nil
	}
	var lastErr error
	order := o.probeOrder
	for i := 0; i < len(order); i++ {
		d := order[i]
		rwc, err := o.dial(ctx, address)
		if err != nil {
			return nil, err
		}
		ch := channel.New(rwc, o.cfg.Channel)
		stop := context.AfterFunc(ctx, func() { _ = ch.Close() })
		first, err := protocol.Probe(ch, d)
		stop()
		if err == nil {
			o.cfg.Dialect = d
			o.cfg.Unread = first
			return o.startChannel(ch, rwc), nil
		}
		_ = ch.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("rpyc: connect %s: %w", address, context.Cause(ctx))
		}
		lastErr = err
		var pe *protocol.ProbeError
		if !errors.As(err, &pe) {
			return nil, fmt.Errorf("rpyc: connect %s: %w", address, err)
		}
		if pe.Peer != compat.Auto && pe.Peer != d {
			// The peer told us its dialect: use it next, without another probe.
			o.cfg.Dialect = pe.Peer
			rwc, err := o.dial(ctx, address)
			if err != nil {
				return nil, err
			}
			return o.start(rwc), nil
		}
	}
	return nil, fmt.Errorf("rpyc: connect %s: no dialect worked: %w", address, lastErr)
}

func (o *options) dial(ctx context.Context, address string) (io.ReadWriteCloser, error) {
	d := o.dialer
	d.Timeout = o.dialTimeout
	c, err := d.DialContext(ctx, "tcp", address)
	if err != nil {
		return nil, fmt.Errorf("rpyc: connect: %w", err)
	}
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
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
			return nil, fmt.Errorf("rpyc: TLS handshake with %s: %w", address, err)
		}
		return tc, nil
	}
	return c, nil
}

func (o *options) start(rwc io.ReadWriteCloser) *Conn {
	return o.startChannel(channel.New(rwc, o.cfg.Channel), rwc)
}

func (o *options) startChannel(ch *channel.Channel, rwc io.ReadWriteCloser) *Conn {
	if c, ok := rwc.(net.Conn); ok {
		o.cfg.Endpoints = [2]net.Addr{c.LocalAddr(), c.RemoteAddr()}
	}
	return protocol.New(ch, o.service, o.cfg)
}

// ConnectStream runs an RPyC connection over an existing stream (a pipe, a unix socket, an SSH
// channel). The connection owns rwc. Without WithDialect the dialect is probed once; a mismatch
// cannot be retried on the same stream and returns an error naming the peer's dialect.
func ConnectStream(ctx context.Context, rwc io.ReadWriteCloser, opts ...Option) (*Conn, error) {
	o := buildOptions(opts)
	ch := channel.New(rwc, o.cfg.Channel)
	if o.cfg.Dialect == compat.Auto {
		stop := context.AfterFunc(ctx, func() { _ = ch.Close() })
		first, err := protocol.Probe(ch, o.probeOrder[0])
		stop()
		if err != nil {
			_ = ch.Close()
			return nil, fmt.Errorf("rpyc: dialect probe: %w (use WithDialect)", err)
		}
		o.cfg.Dialect = o.probeOrder[0]
		o.cfg.Unread = first
	}
	return o.startChannel(ch, rwc), nil
}
