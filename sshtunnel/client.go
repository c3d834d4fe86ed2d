package sshtunnel

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// Client is one login to an SSH server, through which any number of connections are forwarded.
// It is safe for concurrent use. Its caller owns it: Close ends the login and every connection
// forwarded through it.
type Client struct {
	ssh        *ssh.Client
	jump       *Client // the jump host's login, closed after this one
	name       string  // "ssh://user@host:port", with the jumps before it
	remoteHost string
	closeOnce  sync.Once
	closeErr   error
}

// Dial logs in to the SSH server cfg names (through cfg.Jump, if set). ctx and cfg.Timeout bound
// the whole login; once Dial has returned, ctx no longer matters.
func Dial(ctx context.Context, cfg Config) (*Client, error) {
	c, err := dial(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("sshtunnel: %w", err)
	}
	return c, nil
}

// dial is Dial, its errors named by the login only.
func dial(ctx context.Context, cfg Config) (*Client, error) {
	t, err := cfg.target()
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	c := &Client{name: "ssh://" + t.user + "@" + t.hostport, remoteHost: cfg.RemoteHost}
	if c.remoteHost == "" {
		c.remoteHost = "localhost"
	}
	if cfg.Jump != nil {
		if c.jump, err = dial(ctx, *cfg.Jump); err != nil {
			return nil, fmt.Errorf("jump host %w", err)
		}
		c.name = c.jump.name + "," + c.name
	}
	if err := c.login(ctx, &cfg, t, log, timeout); err != nil {
		if c.jump != nil {
			_ = c.jump.Close()
		}
		return nil, fmt.Errorf("%s: %w", c.name, err)
	}
	log.Debug("sshtunnel: logged in", "server", c.name, "version", string(c.ssh.ServerVersion()))
	return c, nil
}

// login connects to t (through the jump host, if any) and runs the SSH handshake.
func (c *Client) login(ctx context.Context, cfg *Config, t target, log *slog.Logger, timeout time.Duration) error {
	ctx, cancel := context.WithTimeoutCause(ctx, timeout,
		fmt.Errorf("no login within %v: %w", timeout, context.DeadlineExceeded))
	defer cancel()
	var conn net.Conn
	var err error
	if c.jump != nil {
		conn, err = c.jump.ssh.DialContext(ctx, "tcp", t.hostport)
	} else {
		var d net.Dialer
		conn, err = d.DialContext(ctx, "tcp", t.hostport)
	}
	if err != nil {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		return err
	}
	cc, done, err := cfg.clientConfig(t, log)
	if err != nil {
		_ = conn.Close()
		return err
	}
	defer done()
	// The handshake has no context of its own: closing the connection is what stops it.
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	sc, chans, reqs, err := ssh.NewClientConn(conn, t.hostport, cc)
	if !stop() {
		if err == nil {
			_ = sc.Close()
		}
		return context.Cause(ctx)
	}
	if err != nil {
		return err
	}
	c.ssh = ssh.NewClient(sc, chans, reqs)
	return nil
}

// SSH returns the underlying SSH client, for sessions, other forwards and the like.
func (c *Client) SSH() *ssh.Client { return c.ssh }

// String names the login: "ssh://user@host:port", jump hosts first, comma-separated.
func (c *Client) String() string { return c.name }

// DialContext opens a connection to address as the SSH server sees it (network "tcp": "host:port",
// which the server resolves; network "unix": a socket path on the server). ctx bounds the
// channel's opening.
func (c *Client) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	tc, err := c.forward(ctx, network, address)
	if err != nil {
		return nil, fmt.Errorf("sshtunnel: %s: forward to %s: %w", c.name, address, err)
	}
	return tc, nil
}

func (c *Client) forward(ctx context.Context, network, address string) (*tunnelConn, error) {
	nc, err := c.ssh.DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	return &tunnelConn{Conn: nc, local: c.ssh.LocalAddr(), remote: tunnelAddr(c.name + "/" + address)}, nil
}

// Close ends the login, and the jump host's, closing every connection forwarded through them.
// It waits for the SSH client's goroutines to end. It is idempotent.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		c.closeErr = c.ssh.Close()
		_ = c.ssh.Wait()
		if c.jump != nil {
			if err := c.jump.Close(); c.closeErr == nil {
				c.closeErr = err
			}
		}
	})
	return c.closeErr
}

// tunnelAddr is a forwarded connection's remote address, "ssh://user@host:port/target".
type tunnelAddr string

func (a tunnelAddr) Network() string { return "ssh" }
func (a tunnelAddr) String() string  { return string(a) }

// tunnelConn is a forwarded connection. Its owner, if set, is closed with it.
type tunnelConn struct {
	net.Conn
	local  net.Addr
	remote net.Addr

	mu     sync.Mutex
	closed bool
	owner  *Client
}

func (tc *tunnelConn) LocalAddr() net.Addr  { return tc.local }
func (tc *tunnelConn) RemoteAddr() net.Addr { return tc.remote }

// Close closes the channel, and the owning Client if the connection has one.
func (tc *tunnelConn) Close() error {
	tc.mu.Lock()
	tc.closed = true
	owner := tc.owner
	tc.mu.Unlock()
	err := tc.Conn.Close()
	if owner != nil {
		_ = owner.Close()
	}
	return err
}

// own makes c close with the connection (at once if it is closed already).
func (tc *tunnelConn) own(c *Client) {
	tc.mu.Lock()
	closed := tc.closed
	tc.owner = c
	tc.mu.Unlock()
	if closed {
		_ = c.Close()
	}
}
