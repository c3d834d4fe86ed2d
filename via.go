package rpyc

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/gorpyc/rpyc/compat"
	"github.com/gorpyc/rpyc/protocol"
)

// ConnectVia connects like [Connect], over streams that open returns instead of a TCP or Unix
// socket Connect dials itself: the channels of an SSH tunnel (package sshtunnel), or any
// transport that can open a new stream to the same server on demand. endpoint names that
// server for the dialect memory Connect keeps per address (for instance
// "ssh://me@host:22/localhost:18812"); it is never dialed.
//
// Without WithDialect the dialect is probed as Connect probes it: open is called once, or twice
// the first time this process meets a 6.x server at endpoint (the refused probe's stream is
// closed and a new one opened in the server's dialect). The connection owns the stream open
// returned last. ctx bounds open and the probe like Connect's steps.
func ConnectVia(ctx context.Context, endpoint string, open func(context.Context) (io.ReadWriteCloser, error), opts ...Option) (*Conn, error) {
	o := buildOptions(opts)
	ctx, cancel := o.bound(ctx)
	defer cancel()
	conn, err := o.probing(ctx, endpoint, func(popts ...protocol.Option) (*Conn, error) {
		rwc, err := open(ctx)
		if err != nil {
			return nil, err
		}
		return o.start(ctx, rwc, popts...)
	})
	if err != nil {
		return nil, fmt.Errorf("rpyc: connect %s: %w", endpoint, err)
	}
	return conn, nil
}

// probing runs attempt, which opens one stream and starts a connection on it, until the dialect
// is found: first in the dialect endpoint answered in before (if any), then, after a refused
// probe, in the dialect the peer named (or the other one if it named none). It remembers the
// dialect that worked.
func (o *options) probing(ctx context.Context, endpoint string, attempt func(...protocol.Option) (*Conn, error)) (*Conn, error) {
	var first []protocol.Option
	if o.cfg.Dialect == compat.Auto {
		if d, ok := lookupDialect(endpoint); ok { // dialectcache.go: memory and cache file
			first = append(first, protocol.WithProbeDialect(d))
		}
	}
	conn, err := attempt(first...)
	var pe *protocol.ProbeError
	if err != nil && errors.As(err, &pe) && pe.Peer != pe.Tried && ctx.Err() == nil {
		var retry []protocol.Option
		o.cfg.Dialect = pe.Peer
		if pe.Peer == compat.Auto {
			other := compat.V6
			if pe.Tried == compat.V6 {
				other = compat.V5
			}
			retry = append(retry, protocol.WithProbeDialect(other))
		}
		conn, err = attempt(retry...)
	}
	if err != nil {
		return nil, err
	}
	rememberDialect(endpoint, conn.Dialect())
	return conn, nil
}
