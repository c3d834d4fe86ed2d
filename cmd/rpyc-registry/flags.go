package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/gorpyc/rpyc/registry"
	"github.com/gorpyc/rpyc/registry/etcdstore"
)

// config is the parsed command line.
type config struct {
	mode      string // "UDP" or "TCP"
	ipv6      bool
	port      int
	host      string // Go extension: bind address ("" = Python's choice)
	logfile   string
	quiet     bool  // -q VALUE with a non-empty VALUE
	timeout   int64 // pruning timeout, seconds
	listing   bool  // -l VALUE with a non-empty VALUE
	logFormat string
	logLevel  string
	help      bool
	version   bool

	// Go extensions: the server's limits against hostile clients, with the registry package's
	// defaults; "no limit" is -1 (the registry package's negative values).
	maxTCPConns      int
	maxTCPConnsPerIP int
	tcpTimeout       time.Duration
	tcpEvictIdle     time.Duration
	maxRegistrations int
	maxPerName       int

	metrics string // Go extension: address of the Prometheus /metrics endpoint ("" = none)

	// Go extensions: where registrations are kept. backend is "memory" or
	// "etcd://HOST:PORT,..."; the etcd switches apply to the latter.
	backend    string
	prefix     string
	etcdCACert string
	etcdCert   string
	etcdKey    string
	etcdUser   string
}

// defaultConfig is the configuration without switches.
func defaultConfig() config {
	return config{mode: "UDP", port: 18811, timeout: 240, logFormat: "text", logLevel: "info",
		maxTCPConns: registry.DefaultMaxTCPConns, maxTCPConnsPerIP: registry.DefaultMaxTCPConnsPerIP,
		tcpTimeout: registry.DefaultTCPTimeout, tcpEvictIdle: registry.DefaultTCPEvictIdle,
		maxRegistrations: registry.DefaultMaxRegistrations, maxPerName: registry.DefaultMaxEndpointsPerName,
		backend: "memory", prefix: etcdstore.DefaultPrefix}
}

// switchDef describes one switch: its long name (used with the flag package), an optional
// one-letter short name, whether it takes a value, and its help.
type switchDef struct {
	long, short string
	takesValue  bool
	meta        string
	help        string
	goOnly      bool // not a switch of Python's rpyc_registry
}

var switches = []switchDef{
	{long: "ipv6", short: "6", help: "use ipv6 instead of ipv4 (UDP binds :: instead of 0.0.0.0; TCP mode ignores it, as Python does)"},
	{long: "listing", short: "l", takesValue: true, meta: "VALUE", help: "enable listing (LIST requests); any non-empty VALUE enables it, even \"false\", as in Python"},
	{long: "logfile", takesValue: true, meta: "PATH", help: "append the log to PATH; the default is stderr"},
	{long: "mode", short: "m", takesValue: true, meta: "{UDP,TCP}", help: "serving mode, case-insensitive; the default is UDP"},
	{long: "port", short: "p", takesValue: true, meta: "[0..65535]", help: "the UDP/TCP listener port; the default is 18811"},
	{long: "quiet", short: "q", takesValue: true, meta: "VALUE", help: "quiet mode: only errors are logged (any non-empty VALUE)"},
	{long: "timeout", short: "t", takesValue: true, meta: "SECONDS", help: "pruning timeout: a registration not refreshed within SECONDS is dropped; the default is 240"},
	{long: "host", takesValue: true, meta: "ADDR", goOnly: true, help: "bind address; the default is 0.0.0.0 (:: for UDP with -6), as in Python"},
	{long: "log-format", takesValue: true, meta: "{text,json,python}", goOnly: true, help: "log line format: text (the default), json, or python (the lines Python's rpyc_registry writes)"},
	{long: "log-level", takesValue: true, meta: "{debug,info,warn,error}", goOnly: true, help: "log level; the default is info (debug logs every request, like Python's default); -q means error"},
	{long: "max-tcp-conns", takesValue: true, meta: "N", goOnly: true, help: "TCP mode: connections open at once (at least 1); when they are all open, a new one evicts a stalled one (an incomplete request that has received nothing for --tcp-evict-idle), or waits in the listen backlog until one stalls or ends; the default is 256"},
	{long: "max-tcp-conns-per-ip", takesValue: true, meta: "N", goOnly: true, help: "TCP mode: the share of one client address (IPv6: one /64) when all connections are open; while an address holds more, only its stalled connections are evicted; 0 disables shares; the default is 64"},
	{long: "tcp-timeout", takesValue: true, meta: "DURATION", goOnly: true, help: "TCP mode: deadline of a whole exchange, from accept to reply, such as 3s or 500ms; the default is 3s (Python's)"},
	{long: "tcp-evict-idle", takesValue: true, meta: "DURATION", goOnly: true, help: "TCP mode: how long a connection with an incomplete request must have received nothing before it counts as stalled; the default is 50ms"},
	{long: "max-registrations", takesValue: true, meta: "N", goOnly: true, help: "registrations (one per name and endpoint) held at most; a REGISTER adding more gets no reply; 0 means no limit (Python has none); the default is 131072"},
	{long: "max-endpoints-per-name", takesValue: true, meta: "N", goOnly: true, help: "endpoints kept per name, the least recently registered making room (QUERY replies hold the most recent ones, at most about 130); 0 means no limit; the default is 1024"},
	{long: "metrics", takesValue: true, meta: "ADDR", goOnly: true, help: "serve Prometheus metrics (requests by command and transport, names and registrations held) at http://ADDR/metrics, such as 127.0.0.1:9464; the default is none"},
	{long: "backend", takesValue: true, meta: "{memory,etcd://HOST:PORT[,HOST:PORT...]}", goOnly: true, help: "where registrations are kept: memory (the default, Python's behaviour) or an etcd cluster, which any number of rpyc-registry replicas share: each answers with every registration, and losing a replica or a minority of etcd members loses none"},
	{long: "prefix", takesValue: true, meta: "KEY", goOnly: true, help: "etcd backend: the key prefix of the registrations; replicas with the same prefix share them; the default is /rpyc-registry"},
	{long: "etcd-cacert", takesValue: true, meta: "PATH", goOnly: true, help: "etcd backend: verify the etcd members with the CA certificates in PATH (PEM); any of the TLS switches makes the connection TLS"},
	{long: "etcd-cert", takesValue: true, meta: "PATH", goOnly: true, help: "etcd backend: client certificate (PEM), with --etcd-key"},
	{long: "etcd-key", takesValue: true, meta: "PATH", goOnly: true, help: "etcd backend: client private key (PEM), with --etcd-cert"},
	{long: "etcd-user", takesValue: true, meta: "NAME", goOnly: true, help: "etcd backend: authenticate as NAME, with the password in the environment variable " + etcdPasswordEnv},
	{long: "help", short: "h", help: "print this help and exit"},
	{long: "help-all", help: "the same as --help"},
	{long: "version", short: "v", help: "print the version and exit"},
}

func lookupLong(name string) (switchDef, bool) {
	for _, s := range switches {
		if s.long == name {
			return s, true
		}
	}
	return switchDef{}, false
}

func lookupShort(c string) (switchDef, bool) {
	for _, s := range switches {
		if s.short != "" && s.short == c {
			return s, true
		}
	}
	return switchDef{}, false
}

// usageErr is a command-line error (exit status 2).
type usageErr string

func (e usageErr) Error() string { return string(e) }

func usageError(format string, args ...any) error {
	return usageErr(fmt.Sprintf(format, args...))
}

// normalize rewrites a command line in plumbum's syntax (rpyc_registry's parser) into the flag
// package's: "-p1", "-6p 1", "-6 -p 1", "--port=1" and "--port 1" all become "-port 1". Like
// plumbum it refuses unknown or repeated switches, missing values, values given to flags
// ("--ipv6=yes") and positional arguments.
func normalize(args []string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	add := func(s switchDef, spelled string, value *string) error {
		if seen[s.long] && s.long != "help" && s.long != "help-all" {
			return usageError("switch %s already given", spelled)
		}
		seen[s.long] = true
		out = append(out, "-"+s.long)
		if value != nil {
			out = append(out, *value)
		}
		return nil
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			if i+1 < len(args) {
				return nil, usageError("expected no positional arguments, got %q", args[i+1:])
			}
			return out, nil
		case strings.HasPrefix(a, "--"):
			name, val, hasVal := strings.Cut(a[2:], "=")
			s, ok := lookupLong(name)
			if !ok {
				return nil, usageError("unknown switch --%s", name)
			}
			switch {
			case !s.takesValue && hasVal:
				return nil, usageError("switch --%s takes no argument", name)
			case !s.takesValue:
				if err := add(s, a, nil); err != nil {
					return nil, err
				}
			case hasVal && val == "", !hasVal && i+1 >= len(args):
				return nil, usageError("switch --%s requires an argument", name)
			case hasVal:
				if err := add(s, "--"+name, &val); err != nil {
					return nil, err
				}
			default:
				i++
				if err := add(s, a, &args[i]); err != nil {
					return nil, err
				}
			}
		case strings.HasPrefix(a, "-") && len(a) > 1:
			// A group of short switches: flags, then at most one switch taking a value, with
			// its value attached ("-p1") or in the next argument ("-p 1").
			for j := 1; j < len(a); j++ {
				c := a[j : j+1]
				s, ok := lookupShort(c)
				if !ok {
					return nil, usageError("unknown switch -%s", c)
				}
				if !s.takesValue {
					if err := add(s, "-"+c, nil); err != nil {
						return nil, err
					}
					continue
				}
				val := a[j+1:]
				if val == "" {
					if i+1 >= len(args) {
						return nil, usageError("switch -%s requires an argument", c)
					}
					i++
					val = args[i]
				}
				if err := add(s, "-"+c, &val); err != nil {
					return nil, err
				}
				break
			}
		default:
			return nil, usageError("expected no positional arguments, got %q", args[i:])
		}
	}
	return out, nil
}

// parseArgs parses rpyc_registry's command line (see [switches]).
func parseArgs(args []string) (config, error) {
	norm, err := normalize(args)
	if err != nil {
		return config{}, err
	}
	cfg := defaultConfig()
	fs := flag.NewFlagSet("rpyc-registry", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var mode, port, timeout, quiet, listing string
	limits := []struct {
		name  string
		dst   *int
		least int
	}{
		{"max-tcp-conns", &cfg.maxTCPConns, 1},
		{"max-tcp-conns-per-ip", &cfg.maxTCPConnsPerIP, 0},
		{"max-registrations", &cfg.maxRegistrations, 0},
		{"max-endpoints-per-name", &cfg.maxPerName, 0},
	}
	limitVals := make([]string, len(limits))
	for i, l := range limits {
		fs.StringVar(&limitVals[i], l.name, "", "")
	}
	durations := []struct {
		name string
		dst  *time.Duration
	}{{"tcp-timeout", &cfg.tcpTimeout}, {"tcp-evict-idle", &cfg.tcpEvictIdle}}
	durationVals := make([]string, len(durations))
	for i, d := range durations {
		fs.StringVar(&durationVals[i], d.name, "", "")
	}
	fs.StringVar(&mode, "mode", "UDP", "")
	fs.BoolVar(&cfg.ipv6, "ipv6", false, "")
	fs.StringVar(&port, "port", "18811", "")
	fs.StringVar(&cfg.host, "host", "", "")
	fs.StringVar(&cfg.logfile, "logfile", "", "")
	fs.StringVar(&quiet, "quiet", "", "")
	fs.StringVar(&timeout, "timeout", "240", "")
	fs.StringVar(&listing, "listing", "", "")
	fs.StringVar(&cfg.logFormat, "log-format", "text", "")
	fs.StringVar(&cfg.logLevel, "log-level", "info", "")
	fs.StringVar(&cfg.metrics, "metrics", "", "")
	fs.StringVar(&cfg.backend, "backend", cfg.backend, "")
	fs.StringVar(&cfg.prefix, "prefix", cfg.prefix, "")
	fs.StringVar(&cfg.etcdCACert, "etcd-cacert", "", "")
	fs.StringVar(&cfg.etcdCert, "etcd-cert", "", "")
	fs.StringVar(&cfg.etcdKey, "etcd-key", "", "")
	fs.StringVar(&cfg.etcdUser, "etcd-user", "", "")
	fs.BoolVar(&cfg.help, "help", false, "")
	fs.BoolVar(&cfg.help, "help-all", false, "")
	fs.BoolVar(&cfg.version, "version", false, "")
	if err := fs.Parse(norm); err != nil {
		return config{}, usageError("%v", err)
	}
	if cfg.help || cfg.version {
		return cfg, nil
	}
	switch m := strings.ToUpper(mode); m {
	case "UDP", "TCP":
		cfg.mode = m
	default:
		return config{}, usageError("argument of --mode expected to be {UDP, TCP}, not %q", mode)
	}
	p, ok := pyInt(port)
	if !ok || p < 0 || p > 65535 {
		return config{}, usageError("argument of --port expected to be [0..65535], not %q", port)
	}
	cfg.port = int(p)
	if cfg.timeout, ok = pyInt(timeout); !ok {
		return config{}, usageError("argument of --timeout expected to be an integer, not %q", timeout)
	}
	cfg.quiet, cfg.listing = quiet != "", listing != "" // Python's bool(str)
	switch cfg.logFormat {
	case "text", "json", "python":
	default:
		return config{}, usageError("argument of --log-format expected to be {text, json, python}, not %q", cfg.logFormat)
	}
	switch cfg.logLevel {
	case "debug", "info", "warn", "error":
	default:
		return config{}, usageError("argument of --log-level expected to be {debug, info, warn, error}, not %q", cfg.logLevel)
	}
	for i, l := range limits {
		if !seenFlag(fs, l.name) {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(limitVals[i]))
		if err != nil || n < l.least {
			return config{}, usageError("argument of --%s expected to be an integer >= %d, not %q", l.name, l.least, limitVals[i])
		}
		if n == 0 {
			n = -1 // no limit, in the registry package's terms
		}
		*l.dst = n
	}
	if err := checkBackend(fs, cfg); err != nil {
		return config{}, err
	}
	for i, d := range durations {
		if !seenFlag(fs, d.name) {
			continue
		}
		v, err := time.ParseDuration(strings.TrimSpace(durationVals[i]))
		if err != nil || v <= 0 {
			return config{}, usageError("argument of --%s expected to be a positive duration such as 3s or 500ms, not %q", d.name, durationVals[i])
		}
		*d.dst = v
	}
	return cfg, nil
}

// checkBackend checks --backend and the switches that go with it.
func checkBackend(fs *flag.FlagSet, cfg config) error {
	if cfg.backend == "memory" {
		for _, name := range []string{"prefix", "etcd-cacert", "etcd-cert", "etcd-key", "etcd-user"} {
			if seenFlag(fs, name) {
				return usageError("switch --%s needs --backend etcd://...", name)
			}
		}
		return nil
	}
	if _, err := etcdEndpoints(cfg.backend, false); err != nil {
		return err
	}
	if !strings.HasPrefix(cfg.prefix, "/") || cfg.prefix == "/" {
		return usageError("argument of --prefix expected to be a key such as /rpyc-registry, not %q", cfg.prefix)
	}
	if (cfg.etcdCert == "") != (cfg.etcdKey == "") {
		return usageError("switches --etcd-cert and --etcd-key go together")
	}
	return nil
}

// seenFlag reports whether the switch name was given.
func seenFlag(fs *flag.FlagSet, name string) bool {
	seen := false
	fs.Visit(func(f *flag.Flag) { seen = seen || f.Name == name })
	return seen
}

// pyInt parses s as Python's int(s) does: surrounding whitespace, an optional sign, decimal
// digits (any script's) with single underscores between them. Values beyond int64 saturate.
func pyInt(s string) (int64, bool) {
	s = strings.TrimFunc(s, unicode.IsSpace)
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if s == "" || strings.HasPrefix(s, "_") || strings.HasSuffix(s, "_") || strings.Contains(s, "__") {
		return 0, false
	}
	var n uint64
	for _, r := range s {
		if r == '_' {
			continue
		}
		d, ok := digitValue(r)
		if !ok {
			return 0, false
		}
		if n <= (math.MaxInt64-9)/10 {
			n = n*10 + uint64(d)
		} else {
			n = math.MaxInt64
		}
	}
	if neg {
		return -int64(n), true
	}
	return int64(n), true
}

// digitValue returns the value of a Unicode decimal digit (category Nd). Decimal digits come in
// contiguous runs of ten, zero first.
func digitValue(r rune) (int, bool) {
	if r >= '0' && r <= '9' {
		return int(r - '0'), true
	}
	if !unicode.Is(unicode.Nd, r) {
		return 0, false
	}
	start := r
	for unicode.Is(unicode.Nd, start-1) {
		start--
	}
	return int(r-start) % 10, true
}

// usage writes the help text.
func usage(w io.Writer) {
	fmt.Fprintf(w, `Usage:
    rpyc-registry [SWITCHES]

The RPyC registry server (gorpyc): it answers service discovery requests over UDP (the
default, broadcasts included) or TCP, on port 18811, and accepts the switches of Python
rpyc's rpyc_registry. Short switches can be grouped and take attached values (-6p18811);
long switches take "--name VALUE" or "--name=VALUE". It stops gracefully on SIGINT and SIGTERM.

Switches:
`)
	for _, s := range switches {
		names := "    "
		if s.short != "" {
			names = "-" + s.short + ", "
		}
		names += "--" + s.long
		if s.takesValue {
			names += " " + s.meta
		}
		help := s.help
		if s.goOnly {
			help += " [gorpyc only]"
		}
		fmt.Fprintf(w, "    %s\n", names)
		for _, line := range wrap(help, 80) {
			fmt.Fprintf(w, "            %s\n", line)
		}
	}
}

// wrap splits text into lines of at most width bytes, at spaces.
func wrap(text string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(text) {
		if line != "" && len(line)+1+len(word) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	return append(lines, line)
}
