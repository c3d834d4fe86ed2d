package sshtunnel

import (
	"context"
	"io"
	"net"
	"strconv"

	"github.com/gorpyc/rpyc"
	"github.com/gorpyc/rpyc/classic"
	"github.com/gorpyc/rpyc/protocol"
)

// Connect logs in to the SSH server cfg names and connects to the rpyc server listening on port
// of cfg.RemoteHost (localhost) there: Python's rpyc.ssh_connect(SshMachine(...), port). Port 0
// means rpyc.DefaultPort (18812). The returned connection owns the login: closing it logs out.
// To make several connections over one login, [Dial] a [Client] and use its Connect.
func Connect(ctx context.Context, cfg Config, port int, opts ...rpyc.Option) (*rpyc.Conn, error) {
	return withLogin(ctx, cfg, func(c *Client) (*rpyc.Conn, error) { return c.connect(ctx, port, true, opts) })
}

// ConnectClassic is [Connect] for a classic server (rpyc_classic, SlaveService):
// Python's rpyc.classic.ssh_connect. Port 0 means classic.DefaultPort (18812).
func ConnectClassic(ctx context.Context, cfg Config, port int, opts ...rpyc.Option) (*classic.Client, error) {
	return withLogin(ctx, cfg, func(c *Client) (*classic.Client, error) { return c.connectClassic(ctx, port, true, opts) })
}

// withLogin logs in and runs connect, which makes a connection that owns the login; the login is
// closed if connect fails.
func withLogin[T any](ctx context.Context, cfg Config, connect func(*Client) (T, error)) (T, error) {
	var zero T
	c, err := Dial(ctx, cfg)
	if err != nil {
		return zero, err
	}
	v, err := connect(c)
	if err != nil {
		_ = c.Close()
		return zero, err
	}
	return v, nil
}

// Connect connects to the rpyc server listening on port of the Client's remote host (localhost
// as the SSH server sees it) over a new channel of the login; port 0 means rpyc.DefaultPort.
// Without rpyc.WithDialect the server's dialect is found as rpyc.Connect finds it (see
// [rpyc.ConnectVia]). Closing the connection closes its channel; the login stays open.
func (c *Client) Connect(ctx context.Context, port int, opts ...rpyc.Option) (*rpyc.Conn, error) {
	return c.connect(ctx, port, false, opts)
}

// ConnectClassic connects to a classic server (rpyc_classic) on port (0: 18812) of the Client's
// remote host, like [Client.Connect], and checks that it is one (classic.ErrNotClassic
// otherwise). The options apply on top of the classic configuration (protocol.ClassicConfig).
func (c *Client) ConnectClassic(ctx context.Context, port int, opts ...rpyc.Option) (*classic.Client, error) {
	return c.connectClassic(ctx, port, false, opts)
}

func (c *Client) connectClassic(ctx context.Context, port int, own bool, opts []rpyc.Option) (*classic.Client, error) {
	base := []rpyc.Option{rpyc.WithService(classic.NewSlaveRoot()), rpyc.WithConfig(protocol.ClassicConfig())}
	conn, err := c.connect(ctx, port, own, append(base, opts...))
	if err != nil {
		return nil, err
	}
	cl, err := classic.New(ctx, conn.Conn)
	if err != nil {
		_ = conn.Close()
		return nil, err
	}
	return cl, nil
}

// connect forwards a channel to the rpyc server and connects over it; with own, the connection
// closes c when it closes.
func (c *Client) connect(ctx context.Context, port int, own bool, opts []rpyc.Option) (*rpyc.Conn, error) {
	if port == 0 {
		port = rpyc.DefaultPort
	}
	addr := net.JoinHostPort(c.remoteHost, strconv.Itoa(port))
	var last *tunnelConn
	conn, err := rpyc.ConnectVia(ctx, c.name+"/"+addr, func(ctx context.Context) (io.ReadWriteCloser, error) {
		tc, err := c.forward(ctx, "tcp", addr) // errors are named by ConnectVia, with c and addr
		if err != nil {
			return nil, err
		}
		last = tc
		return tc, nil
	}, opts...)
	if err != nil {
		return nil, err
	}
	if own {
		last.own(c)
	}
	return conn, nil
}
