package classic

import (
	"crypto/tls"
	"io"
	"log/slog"
	"time"

	"github.com/gorpyc/rpyc/compat"
	"github.com/gorpyc/rpyc/protocol"
)

// Option configures [Connect] and [StartPython].
type Option func(*options)

type options struct {
	tls            *tls.Config
	dialect        compat.Dialect
	requestTimeout time.Duration
	dialTimeout    time.Duration
	logger         *slog.Logger

	// StartPython only.
	env         []string
	stderr      io.Writer
	serverArgs  []string
	stopTimeout time.Duration
}

func buildOptions(opts []Option) options {
	o := options{requestTimeout: protocol.DefaultSyncRequestTimeout, stopTimeout: 5 * time.Second}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// config returns the local protocol configuration: Python's ClassicService switches its own side
// to the classic policy too, so the peer may call back into what it is given.
func (o *options) config() protocol.Config {
	cfg := protocol.ClassicConfig()
	cfg.SyncRequestTimeout = o.requestTimeout
	cfg.Dialect = o.dialect
	cfg.Logger = o.logger
	return cfg
}

// WithTLS connects over TLS (Python's rpyc.classic.ssl_connect); the default port becomes
// [DefaultTLSPort]. Python clients do not verify the server by default: to do the same, set
// InsecureSkipVerify, or give RootCAs (and ServerName) to verify it.
func WithTLS(cfg *tls.Config) Option { return func(o *options) { o.tls = cfg } }

// WithDialect names the server's rpyc dialect (compat.V5 for rpyc 4.1-5.3, compat.V6 for 6.x)
// and skips the probe [Connect] otherwise makes. [StartPython] learns the dialect from the child's
// first message and ignores it.
func WithDialect(d compat.Dialect) Option { return func(o *options) { o.dialect = d } }

// WithRequestTimeout bounds every request whose context has no deadline (30 s by default, like
// Python's sync_request_timeout; 0 waits for the context alone).
func WithRequestTimeout(d time.Duration) Option {
	return func(o *options) { o.requestTimeout = d }
}

// WithDialTimeout bounds each TCP connect attempt (3 s by default).
func WithDialTimeout(d time.Duration) Option { return func(o *options) { o.dialTimeout = d } }

// WithLogger sets the connection's logger. Without it the connection logs nothing.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithEnv adds "KEY=value" entries to the environment of the process [StartPython] starts (for
// example PYTHONPATH to pick an rpyc installation).
func WithEnv(env ...string) Option {
	return func(o *options) { o.env = append(o.env, env...) }
}

// WithStderr copies the standard error of the process [StartPython] starts to w. The rpyc
// classic server sends its stderr to /dev/null once it serves, so w only sees start-up failures
// such as a missing rpyc module (which StartPython's error also quotes).
func WithStderr(w io.Writer) Option { return func(o *options) { o.stderr = w } }

// WithServerArgs replaces the interpreter arguments [StartPython] uses, which by default run
// rpyc's classic server in stdio mode:
//
//	-u -c "from rpyc.cli.rpyc_classic import main; main()" -q -m stdio
//
// Use it for rpyc releases without the rpyc.cli package (4.x and 5.0 ship
// bin/rpyc_classic.py): WithServerArgs("-u", "/path/to/rpyc_classic.py", "-q", "-m", "stdio").
func WithServerArgs(args ...string) Option {
	return func(o *options) { o.serverArgs = append([]string(nil), args...) }
}

// WithStopTimeout bounds how long [Client.Close] waits for a process started by [StartPython]
// to exit after the connection closes, before killing it (5 s by default).
func WithStopTimeout(d time.Duration) Option { return func(o *options) { o.stopTimeout = d } }
