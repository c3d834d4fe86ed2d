package main

import (
	"context"
	"errors"
	"flag"
	"net"
	"strconv"
	"strings"

	"github.com/gorpyc/rpyc"
	"github.com/gorpyc/rpyc/classic"
	"github.com/gorpyc/rpyc/compat"
	"github.com/gorpyc/rpyc/sshtunnel"
)

// sshFlags are the flags that reach the server through an SSH tunnel (--ssh and its options),
// common to every command that connects.
type sshFlags struct {
	host       string
	keys       stringList
	knownHosts string
	jump       string
}

func (f *sshFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.host, "ssh", f.host, "reach the server through SSH, like Python's ssh_connect: log in to this `user@host[:port]` "+
		"and connect to HOST[:PORT] as that host sees it (localhost for a server on the SSH host)")
	fs.Var(&f.keys, "ssh-key", "private key `file` for --ssh (repeatable; default: the ssh-agent's keys and ~/.ssh/id_ed25519, id_ecdsa, id_rsa)")
	fs.StringVar(&f.knownHosts, "ssh-known-hosts", f.knownHosts, "known_hosts `file` the SSH host key is checked against (default ~/.ssh/known_hosts)")
	fs.StringVar(&f.jump, "ssh-jump", f.jump, "reach the --ssh host through this jump host, `user@host[:port]`, like ssh -J")
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(s string) error {
	*l = append(*l, s)
	return nil
}

// tunnel returns the SSH configuration for a server at address ("host:port" as the SSH host sees
// it) and the port.
func (a *app) tunnel(address string) (sshtunnel.Config, int, error) {
	if a.useTLS || a.tlsCA != "" || a.tlsCert != "" {
		return sshtunnel.Config{}, 0, usagef("--ssh and --tls cannot be combined (the SSH tunnel encrypts the connection)")
	}
	host, ps, err := net.SplitHostPort(address)
	if err != nil {
		return sshtunnel.Config{}, 0, usagef("%v", err)
	}
	port, err := strconv.Atoi(ps)
	if err != nil || port <= 0 || port > 65535 {
		return sshtunnel.Config{}, 0, usagef("bad port in %q", address)
	}
	cfg := sshtunnel.Config{Host: a.ssh.host, RemoteHost: host, Timeout: a.timeout}
	if a.ssh.jump != "" {
		jump := sshtunnel.Config{Host: a.ssh.jump, Timeout: a.timeout}
		cfg.Jump = &jump
	}
	for _, c := range []*sshtunnel.Config{&cfg, cfg.Jump} {
		if c == nil {
			continue
		}
		if len(a.ssh.keys) > 0 {
			c.KeyFiles = a.ssh.keys
		}
		if a.ssh.knownHosts != "" {
			c.KnownHostsFiles = []string{a.ssh.knownHosts}
		}
	}
	return cfg, port, nil
}

// sshOptions are the rpyc options of a connection through SSH.
func (a *app) sshOptions() []rpyc.Option {
	opts := []rpyc.Option{rpyc.WithRequestTimeout(a.timeout), rpyc.WithLogger(quiet)}
	if d, _ := compat.ParseDialect(a.dialect); d != compat.Auto {
		opts = append(opts, rpyc.WithDialect(d))
	}
	return opts
}

// connectClassicSSH is connectClassic through --ssh.
func (a *app) connectClassicSSH(ctx context.Context, host string) (*classic.Client, error) {
	return viaSSH(ctx, a, classic.Address(host, classic.DefaultPort), sshtunnel.ConnectClassic)
}

// connectAnySSH is connectAny through --ssh.
func (a *app) connectAnySSH(ctx context.Context, address string) (*rpyc.Conn, error) {
	return viaSSH(ctx, a, address, sshtunnel.Connect)
}

// viaSSH connects to address (as the SSH host sees it) with connect, one of sshtunnel's one-shot
// entry points, bounded by --timeout.
func viaSSH[T any](ctx context.Context, a *app, address string,
	connect func(context.Context, sshtunnel.Config, int, ...rpyc.Option) (T, error)) (T, error) {
	var zero T
	cfg, port, err := a.tunnel(address)
	if err != nil {
		return zero, err
	}
	cctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	c, err := connect(cctx, cfg, port, a.sshOptions()...)
	if err != nil {
		return zero, sshError(err)
	}
	return c, nil
}

// sshError is a failure to connect through SSH: a refused host key is reported by itself (its
// message says what to do), anything else with the SSH login it happened on.
func sshError(err error) error {
	var hke *sshtunnel.HostKeyError
	if errors.As(err, &hke) {
		return &connError{hke}
	}
	return &connError{err}
}
