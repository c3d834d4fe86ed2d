package sshtunnel

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Config says how to reach and log in to an SSH server. The zero value of every field but Host
// does what OpenSSH's client does without a configuration file.
type Config struct {
	// Host is the SSH server: "host", "host:port" or "user@host:port" ("[::1]:2222" for IPv6;
	// an "ssh://" prefix is allowed). The port defaults to 22 and the user to User, then to the
	// user running the process.
	Host string
	// User is the login name when Host names none.
	User string

	// KeyFiles are the private key files to offer (OpenSSH, PEM or PKCS#8). nil offers those of
	// ~/.ssh/id_ed25519, ~/.ssh/id_ecdsa and ~/.ssh/id_rsa that exist; an empty, non-nil slice
	// offers none (the agent's keys only).
	KeyFiles []string
	// Passphrase returns the passphrase of an encrypted key file. Without it, an encrypted file
	// named in KeyFiles is an error and an encrypted default key is skipped.
	Passphrase func(keyFile string) ([]byte, error)
	// AgentSocket is the ssh-agent's Unix socket: "" means $SSH_AUTH_SOCK (no agent when it is
	// unset), "none" means no agent. The agent's keys are offered before the key files.
	AgentSocket string
	// Auth, when set, replaces the keys above with these methods (ssh.Password,
	// ssh.KeyboardInteractive, ssh.PublicKeys of signers you hold).
	Auth []ssh.AuthMethod

	// KnownHostsFiles are the OpenSSH known_hosts files the server's host key is checked
	// against. nil means ~/.ssh/known_hosts and /etc/ssh/ssh_known_hosts, those that exist.
	KnownHostsFiles []string
	// InsecureIgnoreHostKey accepts whatever host key the server presents: anyone able to
	// intercept the connection can then pose as the server and read everything sent to it.
	InsecureIgnoreHostKey bool
	// HostKeyCallback, when set, replaces the known_hosts check.
	HostKeyCallback ssh.HostKeyCallback

	// Jump, when set, is a jump host (OpenSSH's ProxyJump): it is logged in to first, and
	// Host is reached through it.
	Jump *Config

	// RemoteHost is the host the rpyc servers run on as the SSH server resolves it, "localhost"
	// by default (Python's ssh_connect always forwards to localhost).
	RemoteHost string
	// Timeout bounds the TCP connect, the key exchange and the login (15 s by default), on top
	// of the context's deadline.
	Timeout time.Duration
	// Logger receives debug messages about the login (methods offered, keys skipped). The
	// package logs nothing without it.
	Logger *slog.Logger
}

// DefaultTimeout is [Config.Timeout]'s default.
const DefaultTimeout = 15 * time.Second

// Errors a refused host key matches with errors.Is; the error itself is a [*HostKeyError].
var (
	// ErrHostKeyUnknown: known_hosts has no key for the server.
	ErrHostKeyUnknown = errors.New("sshtunnel: host key unknown")
	// ErrHostKeyMismatch: known_hosts holds other keys for the server than the one it presented
	// (the server was reinstalled, or someone is intercepting the connection).
	ErrHostKeyMismatch = errors.New("sshtunnel: host key mismatch")
	// ErrHostKeyRevoked: the key is marked @revoked in known_hosts.
	ErrHostKeyRevoked = errors.New("sshtunnel: host key revoked")
)

// HostKeyError is a host key refused by the known_hosts check. It wraps one of
// [ErrHostKeyUnknown], [ErrHostKeyMismatch] or [ErrHostKeyRevoked], and the knownhosts package's
// own error (*knownhosts.KeyError or *knownhosts.RevokedError).
type HostKeyError struct {
	// Host is the server as checked, "host:port".
	Host string
	// Key is the key the server presented.
	Key ssh.PublicKey
	// Known are the keys known_hosts holds for Host (none when it is unknown).
	Known []knownhosts.KnownKey

	kind error // one of the three sentinels
	err  error // knownhosts' error
}

// Error says which host and key were refused, and what to do about it.
func (e *HostKeyError) Error() string {
	fp := e.Key.Type() + " " + ssh.FingerprintSHA256(e.Key)
	kind := strings.TrimPrefix(e.kind.Error(), "sshtunnel: ")
	switch e.kind {
	case ErrHostKeyUnknown:
		return fmt.Sprintf("%v: %s presented %s, which no known_hosts file lists; check the fingerprint "+
			"and add it (ssh-keyscan%s %s >> ~/.ssh/known_hosts, or log in once with ssh)",
			kind, e.Host, fp, keyscanPort(e.Host), keyscanHost(e.Host))
	case ErrHostKeyMismatch:
		known := make([]string, len(e.Known))
		for i, k := range e.Known {
			known[i] = fmt.Sprintf("%s:%d", k.Filename, k.Line)
		}
		return fmt.Sprintf("%v: %s presented %s, but known_hosts holds other keys for it (%s): "+
			"someone may be intercepting the connection, or the host was reinstalled",
			kind, e.Host, fp, strings.Join(known, ", "))
	}
	return fmt.Sprintf("%s: %s presented %s: %v", kind, e.Host, fp, e.err)
}

// Unwrap returns the sentinel error and the knownhosts package's error.
func (e *HostKeyError) Unwrap() []error { return []error{e.kind, e.err} }

func keyscanHost(hostport string) string {
	h, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return hostport
	}
	return h
}

func keyscanPort(hostport string) string {
	if _, p, err := net.SplitHostPort(hostport); err == nil && p != "22" {
		return " -p " + p
	}
	return ""
}

// target is a parsed Config.Host.
type target struct {
	user     string
	hostport string // "host:port", as dialed and as checked against known_hosts
}

func (cfg *Config) target() (target, error) {
	s := strings.TrimPrefix(cfg.Host, "ssh://")
	if s == "" {
		return target{}, errors.New("Config.Host is empty")
	}
	var t target
	if i := strings.LastIndex(s, "@"); i >= 0 {
		t.user, s = s[:i], s[i+1:]
	}
	if t.user == "" {
		t.user = cfg.User
	}
	if t.user == "" {
		u, err := user.Current()
		if err != nil {
			return target{}, fmt.Errorf("no user in %q and the current user is unknown: %w", cfg.Host, err)
		}
		t.user = u.Username
	}
	if _, _, err := net.SplitHostPort(s); err == nil {
		t.hostport = s
	} else {
		t.hostport = net.JoinHostPort(strings.Trim(s, "[]"), "22")
	}
	if h, _, _ := net.SplitHostPort(t.hostport); h == "" {
		return target{}, fmt.Errorf("no host in %q", cfg.Host)
	}
	return t, nil
}

// clientConfig builds the ssh.ClientConfig for t. done releases what it holds for the login
// (the agent's socket), once the handshake is over.
func (cfg *Config) clientConfig(t target, log *slog.Logger) (cc *ssh.ClientConfig, done func(), err error) {
	cc = &ssh.ClientConfig{User: t.user}
	done = func() {}
	switch {
	case cfg.HostKeyCallback != nil:
		cc.HostKeyCallback = cfg.HostKeyCallback
	case cfg.InsecureIgnoreHostKey:
		cc.HostKeyCallback = ssh.InsecureIgnoreHostKey()
	default:
		cb, err := cfg.knownHosts()
		if err != nil {
			return nil, nil, err
		}
		cc.HostKeyCallback = checked(cb)
		// Ask only for the kinds of host key known_hosts holds for the server: a server with
		// several host keys otherwise presents the one Go prefers, which may not be the one
		// OpenSSH recorded, and would be refused.
		cc.HostKeyAlgorithms = knownAlgorithms(cb, t.hostport)
		log.Debug("sshtunnel: host key algorithms", "host", t.hostport, "algorithms", cc.HostKeyAlgorithms)
	}
	if cfg.Auth != nil {
		cc.Auth = cfg.Auth
		return cc, done, nil
	}
	var agentSigners func() ([]ssh.Signer, error)
	if sock := cfg.agentSocket(); sock != "" {
		c, err := net.Dial("unix", sock)
		switch {
		case err == nil:
			done = func() { _ = c.Close() }
			agentSigners = agent.NewClient(c).Signers
		case cfg.AgentSocket != "":
			return nil, nil, fmt.Errorf("ssh-agent: %w", err)
		default:
			log.Debug("sshtunnel: no ssh-agent", "SSH_AUTH_SOCK", sock, "err", err)
		}
	}
	files, err := cfg.signers(log)
	if err != nil {
		done()
		return nil, nil, err
	}
	if agentSigners == nil && len(files) == 0 {
		done()
		return nil, nil, errors.New("no key to log in with: start an ssh-agent (SSH_AUTH_SOCK) " +
			"holding one, name key files in Config.KeyFiles, or give Config.Auth")
	}
	cc.Auth = []ssh.AuthMethod{ssh.PublicKeysCallback(func() ([]ssh.Signer, error) {
		// One method for every key: the SSH client tries each method name once.
		var signers []ssh.Signer
		if agentSigners != nil {
			s, err := agentSigners()
			if err != nil {
				log.Debug("sshtunnel: ssh-agent refused to list its keys", "err", err)
			}
			signers = append(signers, s...)
		}
		return append(signers, files...), nil
	})}
	return cc, done, nil
}

func (cfg *Config) agentSocket() string {
	switch cfg.AgentSocket {
	case "none":
		return ""
	case "":
		return os.Getenv("SSH_AUTH_SOCK")
	}
	return cfg.AgentSocket
}

// signers reads the key files.
func (cfg *Config) signers(log *slog.Logger) ([]ssh.Signer, error) {
	files, explicit := cfg.KeyFiles, true
	if files == nil {
		explicit = false
		if home, err := os.UserHomeDir(); err == nil {
			for _, name := range []string{"id_ed25519", "id_ecdsa", "id_rsa"} {
				files = append(files, filepath.Join(home, ".ssh", name))
			}
		}
	}
	var signers []ssh.Signer
	for _, f := range files {
		s, err := cfg.readKey(f)
		switch {
		case err == nil:
			signers = append(signers, s)
		case explicit:
			return nil, fmt.Errorf("key %s: %w", f, err)
		case !errors.Is(err, fs.ErrNotExist):
			log.Debug("sshtunnel: default key skipped", "file", f, "err", err)
		}
	}
	return signers, nil
}

func (cfg *Config) readKey(file string) (ssh.Signer, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	s, err := ssh.ParsePrivateKey(pem)
	var missing *ssh.PassphraseMissingError
	if !errors.As(err, &missing) {
		return s, err
	}
	if cfg.Passphrase == nil {
		return nil, fmt.Errorf("%w (give Config.Passphrase, or add the key to ssh-agent with ssh-add)", err)
	}
	pass, err := cfg.Passphrase(file)
	if err != nil {
		return nil, err
	}
	return ssh.ParsePrivateKeyWithPassphrase(pem, pass)
}

// knownHosts reads the known_hosts files.
func (cfg *Config) knownHosts() (ssh.HostKeyCallback, error) {
	files := cfg.KnownHostsFiles
	if files == nil {
		var defaults []string
		if home, err := os.UserHomeDir(); err == nil {
			defaults = append(defaults, filepath.Join(home, ".ssh", "known_hosts"))
		}
		for _, f := range append(defaults, "/etc/ssh/ssh_known_hosts") {
			if _, err := os.Stat(f); err == nil {
				files = append(files, f)
			}
		}
	}
	cb, err := knownhosts.New(files...)
	if err != nil {
		return nil, fmt.Errorf("known_hosts: %w", err)
	}
	return cb, nil
}

// checked turns knownhosts' errors into HostKeyErrors.
func checked(cb ssh.HostKeyCallback) ssh.HostKeyCallback {
	return func(host string, remote net.Addr, key ssh.PublicKey) error {
		err := cb(host, remote, key)
		var ke *knownhosts.KeyError
		var re *knownhosts.RevokedError
		switch {
		case err == nil:
			return nil
		case errors.As(err, &ke) && len(ke.Want) == 0:
			return &HostKeyError{Host: host, Key: key, kind: ErrHostKeyUnknown, err: err}
		case errors.As(err, &ke):
			return &HostKeyError{Host: host, Key: key, Known: ke.Want, kind: ErrHostKeyMismatch, err: err}
		case errors.As(err, &re):
			return &HostKeyError{Host: host, Key: key, Known: []knownhosts.KnownKey{re.Revoked}, kind: ErrHostKeyRevoked, err: err}
		}
		return err
	}
}

// knownAlgorithms returns the host key algorithms of the keys cb knows for hostport (nil, the
// client's defaults, when it knows none): cb is asked about a throwaway key, which it refuses
// listing the keys it knows.
func knownAlgorithms(cb ssh.HostKeyCallback, hostport string) []string {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil
	}
	probe, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return nil
	}
	var ke *knownhosts.KeyError
	if !errors.As(cb(hostport, &net.TCPAddr{IP: net.IPv4zero}, probe.PublicKey()), &ke) {
		return nil
	}
	var algos []string
	seen := map[string]bool{}
	for _, k := range ke.Want {
		for _, a := range algorithmsFor(k.Key.Type()) {
			if !seen[a] {
				seen[a] = true
				algos = append(algos, a)
			}
		}
	}
	return algos
}

// algorithmsFor lists the host key algorithms that present a key of the given type.
func algorithmsFor(keyType string) []string {
	if keyType == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	}
	return []string{keyType}
}
