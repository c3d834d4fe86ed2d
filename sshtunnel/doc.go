// Package sshtunnel reaches RPyC servers through SSH, as Python's rpyc.ssh_connect does: it logs
// in to an SSH server and opens a TCP forward (a direct-tcpip channel) to the rpyc server as that
// host sees it, localhost:PORT by default, so the server needs no open port beyond SSH's. It is
// written with golang.org/x/crypto/ssh and runs no ssh binary.
//
// One connection, one SSH login (the SSH client is closed with the rpyc connection):
//
//	conn, err := sshtunnel.Connect(ctx, sshtunnel.Config{Host: "me@buildhost"}, 18861)
//	c, err := sshtunnel.ConnectClassic(ctx, sshtunnel.Config{Host: "me@buildhost"}, 0) // rpyc_classic, port 18812
//
// Many connections over one SSH login (Python's ssh_connect with one SshMachine):
//
//	tunnel, err := sshtunnel.Dial(ctx, sshtunnel.Config{Host: "me@buildhost:2222"})
//	defer tunnel.Close()                     // closes every connection made through it
//	a, err := tunnel.Connect(ctx, 18861)     // each connection is one channel of the login
//	b, err := tunnel.ConnectClassic(ctx, 18812)
//
// A [Client] is owned by its caller: connections made with its methods close their own channel
// only, and Close closes the SSH client and with it every channel still open. The package-level
// [Connect] and [ConnectClassic] make a private Client that the returned connection owns.
//
// # Authentication
//
// As OpenSSH's client does by default, a Client offers the keys of the ssh-agent at
// $SSH_AUTH_SOCK (or [Config.AgentSocket]), then the private key files ~/.ssh/id_ed25519,
// ~/.ssh/id_ecdsa and ~/.ssh/id_rsa that exist (or [Config.KeyFiles]). Encrypted key files need
// [Config.Passphrase]; without it, encrypted default keys are skipped (add them to the agent with
// ssh-add instead). [Config.Auth] replaces all of this with methods of your own (passwords,
// keyboard-interactive).
//
// # Host keys
//
// The server's host key is verified against ~/.ssh/known_hosts and /etc/ssh/ssh_known_hosts (or
// [Config.KnownHostsFiles]), hashed entries and "[host]:port" entries included. A host that is
// not listed, or whose key differs, is refused with a [*HostKeyError] that matches
// [ErrHostKeyUnknown] or [ErrHostKeyMismatch] with errors.Is; nothing is ever added to
// known_hosts. To accept any key, set [Config.InsecureIgnoreHostKey] (only on networks where
// nobody can sit between you and the server).
//
// # Jump hosts
//
// [Config.Jump] logs in to a jump host first and reaches the target SSH server through it, like
// OpenSSH's ProxyJump; the target's host key is checked as usual, under the name given in Host
// (which the jump host resolves). Jumps chain.
//
// # Dialects
//
// Without rpyc.WithDialect, the server's rpyc dialect (5.x or 6.x) is found as rpyc.Connect finds
// it (see rpyc.ConnectVia): a 6.x server refuses the first probe of the process, and a second
// channel is opened on the same login; the dialect is then remembered per login and port.
//
// # Cost
//
// An SSH login costs a key exchange and a signature, a few milliseconds on a fast host; each
// further connection over an open Client costs one channel open (a round trip) on top of the
// rpyc connect. The README's "Transports and security" section has figures beside Python's
// ssh_connect, which runs the ssh binary for each SshMachine.
package sshtunnel
