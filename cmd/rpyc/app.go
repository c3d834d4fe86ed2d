package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sort"
	"strings"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/gorpyc/rpyc"
	"github.com/gorpyc/rpyc/classic"
	"github.com/gorpyc/rpyc/compat"
	"github.com/gorpyc/rpyc/protocol"
)

// Exit statuses.
const (
	exitOK     = 0 // success
	exitRemote = 1 // the remote code raised, or a local file operation failed
	exitUsage  = 2 // bad command line
	exitConn   = 3 // could not connect, or the connection failed
	// exitInterrupted is the shell convention for a command stopped by SIGINT (128 + 2).
	exitInterrupted = 130
)

// command is one subcommand. To add one (a `services` listing, say), define a *command in its
// own file and append it to commands in an init function there; help, flag parsing, argument
// counts and error reporting come from the table.
type command struct {
	name    string
	args    string // argument synopsis, e.g. "HOST[:PORT] EXPR"
	summary string // one line, for `rpyc help`
	details string // paragraphs for `rpyc help NAME`
	// flags adds the command's own flags (the common ones are added for every command).
	flags func(fs *flag.FlagSet, a *app)
	// minArgs and maxArgs bound the positional arguments (maxArgs < 0: no limit).
	minArgs, maxArgs int
	run              func(ctx context.Context, a *app, args []string) error
}

// commands is the subcommand table, in the order `rpyc help` lists them.
var commands = []*command{evalCmd, execCmd, callCmd, uploadCmd, downloadCmd, pingCmd, shellCmd}

func findCommand(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

// app holds the streams and the parsed flags of one run.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	// terminal reports whether a stream is a terminal (progress bars, shell prompts).
	terminal func(f any) bool
	// interrupts delivers SIGINT (and SIGTERM); nil in tests. The first one cancels the
	// command's context unless a command installed its own handler (see onInterrupt); a second
	// one while the command is still unwinding calls hardExit.
	interrupts <-chan os.Signal
	hardExit   func(code int)
	// interruptHandler, when set, receives interrupts instead of the command's context (the
	// shell uses it to abandon the running remote call and stay alive).
	interruptHandler atomic.Pointer[func()]
	// lineEditor is the shell's line editor on a real terminal (liner); tests replace it.
	lineEditor func() lineReader

	// Common flags.
	json          bool
	timeout       time.Duration
	dialect       string
	useTLS        bool
	tlsCA         string
	tlsCert       string
	tlsKey        string
	tlsServerName string
	ssh           sshFlags // ssh.go
	// timeoutSet records an explicit --timeout (services keeps Python's 2 s otherwise).
	timeoutSet bool

	// Command flags.
	noRedirect  bool
	noProgress  bool
	chunkSize   int
	ignorePerms bool
	// services
	registryAddr string
	registryTCP  bool
	filterHost   string
	// upload
	parents bool
	// tap
	tap tapFlags
}

// usageError is a bad command line (exit 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// localError is a local failure that is not the connection's (exit 1): a file that cannot be
// read or written.
type localError struct{ err error }

func (e *localError) Error() string { return e.err.Error() }
func (e *localError) Unwrap() error { return e.err }

// connError marks a failure to connect (exit 3).
type connError struct{ err error }

func (e *connError) Error() string { return e.err.Error() }
func (e *connError) Unwrap() error { return e.err }

func exitCode(err error) int {
	var ue *usageError
	var re *protocol.RemoteError
	var le *localError
	var silent *localErrorSilent
	var ce *connError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		return exitUsage
	case errors.Is(err, errInterrupted):
		return exitInterrupted
	case errors.As(err, &ce):
		return exitConn
	case errors.As(err, &re), errors.As(err, &le), errors.As(err, &silent):
		return exitRemote
	}
	return exitConn
}

func (a *app) commonFlags(fs *flag.FlagSet) {
	fs.BoolVar(&a.json, "json", a.json, "print results and errors as JSON on stdout")
	fs.DurationVar(&a.timeout, "timeout", a.timeout, "connect timeout, and the bound of each request (a `duration` such as 10s)")
	fs.StringVar(&a.dialect, "dialect", a.dialect, "the server's rpyc `dialect`: auto, v5 (rpyc 4.1-5.3) or v6 (rpyc 6.x)")
	fs.BoolVar(&a.useTLS, "tls", a.useTLS, "connect with TLS (default port 18821); like Python's ssl_connect, the server is not verified unless --tls-ca is given")
	fs.StringVar(&a.tlsCA, "tls-ca", a.tlsCA, "verify the server against this PEM CA `file` (implies --tls)")
	fs.StringVar(&a.tlsCert, "tls-cert", a.tlsCert, "client certificate PEM `file` (implies --tls; needs --tls-key)")
	fs.StringVar(&a.tlsKey, "tls-key", a.tlsKey, "client key PEM `file`")
	fs.StringVar(&a.tlsServerName, "tls-server-name", a.tlsServerName, "the `name` to verify the server certificate against (default: the host)")
	a.ssh.register(fs)
}

func (a *app) newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	a.commonFlags(fs)
	return fs
}

// errInterrupted is the cause of a command's context canceled by Ctrl-C.
var errInterrupted = errors.New("interrupted")

// run runs one command line and returns the exit status.
func (a *app) run(ctx context.Context, argv []string) int {
	a.timeout = 30 * time.Second
	a.dialect = "auto"
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if a.interrupts != nil {
		done := make(chan struct{})
		defer close(done)
		go a.watchInterrupts(done, cancel)
	}
	err := a.dispatch(ctx, argv)
	if err != nil && context.Cause(ctx) == errInterrupted && !errors.Is(err, errInterrupted) {
		err = &interruptedError{}
	}
	var silent *localErrorSilent
	if err != nil && !errors.Is(err, flag.ErrHelp) && !errors.As(err, &silent) {
		a.report(err)
	}
	return exitCode(err)
}

// watchInterrupts hands each interrupt to the command's handler, or cancels the command's
// context; a second interrupt with no handler exits at once.
func (a *app) watchInterrupts(done <-chan struct{}, cancel context.CancelCauseFunc) {
	canceled := false
	for {
		select {
		case <-done:
			return
		case <-a.interrupts:
			if h := a.interruptHandler.Load(); h != nil {
				(*h)()
				continue
			}
			if canceled && a.hardExit != nil {
				a.hardExit(exitInterrupted)
			}
			canceled = true
			cancel(errInterrupted)
		}
	}
}

// interruptedError is a command stopped by Ctrl-C (exit 130): the message says so once,
// instead of the context error that surfaced.
type interruptedError struct{ err error }

func (e *interruptedError) Error() string {
	if e.err == nil {
		return "interrupted"
	}
	return e.err.Error()
}
func (e *interruptedError) Unwrap() error { return errInterrupted }

// parseInterleaved parses fs's flags wherever they appear among the positional arguments, as
// Python's argparse (and so rpyc's own scripts) accept them: `rpyc eval HOST EXPR --json`. "--"
// ends the flags; an argument that looks like a negative number ("-1", "-1+2j", "-.5") is
// positional, since no flag starts with a digit; a flag that takes a value takes the next
// argument, whatever it looks like.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		arg := args[i]
		switch {
		case arg == "--":
			pos = append(pos, args[i+1:]...)
			i = len(args)
		case len(arg) < 2 || arg[0] != '-' || isNegativeNumber(arg):
			pos = append(pos, arg)
		default:
			flags = append(flags, arg)
			name := strings.TrimLeft(arg, "-")
			if strings.Contains(name, "=") {
				continue
			}
			f := fs.Lookup(name)
			if f == nil {
				continue // Parse reports it
			}
			if bf, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && bf.IsBoolFlag() {
				continue
			}
			if i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
		}
	}
	if err := fs.Parse(flags); err != nil {
		return nil, err
	}
	return append(pos, fs.Args()...), nil
}

func isNegativeNumber(s string) bool {
	if len(s) < 2 || s[0] != '-' {
		return false
	}
	c := s[1]
	return c >= '0' && c <= '9' || c == '.' && len(s) > 2 && s[2] >= '0' && s[2] <= '9'
}

func (a *app) dispatch(ctx context.Context, argv []string) error {
	top := a.newFlagSet("rpyc")
	help := top.Bool("help", false, "show help")
	top.BoolVar(help, "h", false, "show help")
	version := top.Bool("version", false, "print the version and exit")
	if err := top.Parse(argv); err != nil {
		return usagef("%v (see rpyc --help)", err)
	}
	a.noteExplicit(top)
	rest := top.Args()
	if *version {
		fmt.Fprintln(a.stdout, versionLine("rpyc"))
		return flag.ErrHelp
	}
	if *help {
		a.mainHelp(a.stdout)
		return flag.ErrHelp
	}
	if len(rest) == 0 {
		a.mainHelp(a.stderr)
		return usagef("no command given")
	}
	if rest[0] == "help" {
		if len(rest) == 1 {
			a.mainHelp(a.stdout)
			return flag.ErrHelp
		}
		cmd := findCommand(rest[1])
		if cmd == nil {
			return usagef("unknown command %q (see rpyc help)", rest[1])
		}
		a.commandHelp(a.stdout, cmd)
		return flag.ErrHelp
	}
	if rest[0] == "version" {
		fmt.Fprintln(a.stdout, versionLine("rpyc"))
		return flag.ErrHelp
	}
	cmd := findCommand(rest[0])
	if cmd == nil {
		return usagef("unknown command %q (see rpyc help)", rest[0])
	}
	fs := a.newFlagSet("rpyc " + cmd.name)
	if cmd.flags != nil {
		cmd.flags(fs, a)
	}
	chelp := fs.Bool("help", false, "show help")
	fs.BoolVar(chelp, "h", false, "show help")
	args, err := parseInterleaved(fs, rest[1:])
	if err != nil {
		return usagef("%s: %v (see rpyc help %s)", cmd.name, err, cmd.name)
	}
	a.noteExplicit(fs)
	if *chelp {
		a.commandHelp(a.stdout, cmd)
		return flag.ErrHelp
	}
	if len(args) < cmd.minArgs || (cmd.maxArgs >= 0 && len(args) > cmd.maxArgs) {
		return usagef("usage: rpyc %s %s (see rpyc help %s)", cmd.name, cmd.args, cmd.name)
	}
	if _, err := compat.ParseDialect(a.dialect); err != nil {
		return usagef("--dialect: %v", err)
	}
	if a.timeout <= 0 {
		return usagef("--timeout must be positive")
	}
	return cmd.run(ctx, a, args)
}

// noteExplicit records the flags given on the command line whose defaults a command treats
// specially.
func (a *app) noteExplicit(fs *flag.FlagSet) {
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "timeout" {
			a.timeoutSet = true
		}
	})
}

func (a *app) mainHelp(w io.Writer) {
	fmt.Fprint(w, `rpyc: a command-line client for RPyC servers (gorpyc)

Usage:
  rpyc [flags] COMMAND [flags] ARGS... [flags]
  rpyc help COMMAND
  rpyc --version

Commands:
`)
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	for _, c := range commands {
		fmt.Fprintf(tw, "  %s %s\t%s\n", c.name, c.args, c.summary)
	}
	tw.Flush()
	fmt.Fprint(w, `
HOST is a host name or address; without :PORT the classic server's port is used (18812,
or 18821 with --tls). Flags may come before or after the command and its arguments; "--"
ends them.

Exit status: 0 success; 1 the remote code raised an exception (its remote traceback is
printed) or a local file could not be read or written; 2 usage error; 3 connection error;
130 interrupted (Ctrl-C).

Common flags (accepted by every command):
`)
	a.printFlags(w, a.newFlagSet("rpyc"))
}

func (a *app) commandHelp(w io.Writer, cmd *command) {
	fmt.Fprintf(w, "Usage: rpyc %s [flags] %s\n\n%s\n", cmd.name, cmd.args, cmd.summary)
	if cmd.details != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(cmd.details))
	}
	if cmd.flags != nil {
		fs := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
		cmd.flags(fs, &app{})
		fmt.Fprintf(w, "\nFlags:\n")
		a.printFlags(w, fs)
	}
	fmt.Fprintf(w, "\nCommon flags:\n")
	a.printFlags(w, a.newFlagSet(cmd.name))
}

func (a *app) printFlags(w io.Writer, fs *flag.FlagSet) {
	var lines []string
	fs.VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		head := "  --" + f.Name
		if name != "" {
			head += " " + name
		}
		def := ""
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" {
			def = fmt.Sprintf(" (default %s)", f.DefValue)
		}
		lines = append(lines, fmt.Sprintf("%s\n      %s%s\n", head, usage, def))
	})
	sort.Strings(lines)
	for _, l := range lines {
		fmt.Fprint(w, l)
	}
}

// report prints an error: as JSON on stdout with --json, otherwise on stderr, with the remote
// traceback for remote exceptions.
func (a *app) report(err error) {
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(a.stderr, "rpyc: %s\n", ue.msg)
		return
	}
	if a.json {
		a.printJSON(map[string]any{"error": errorJSON(err)})
		return
	}
	fmt.Fprint(a.stderr, errorText(err))
}

// errorText renders an error for a terminal: a remote exception as its remote traceback.
func errorText(err error) string {
	var one *oneLineError
	if errors.As(err, &one) {
		return "rpyc: " + one.msg + "\n"
	}
	var re *protocol.RemoteError
	var ce *connError
	if !errors.As(err, &ce) && errors.As(err, &re) {
		tb := strings.TrimRight(re.Traceback, "\n")
		if tb == "" || tb == "<traceback denied>" {
			return fmt.Sprintf("%s\n", remoteLine(re))
		}
		if !strings.HasSuffix(tb, remoteLine(re)) && !strings.Contains(tb, re.Name) {
			tb += "\n" + remoteLine(re)
		}
		return "Remote traceback:\n" + tb + "\n"
	}
	return fmt.Sprintf("rpyc: %s\n", cleanMessage(err.Error()))
}

// packagePrefixes are the bare package names the library's errors start with; wrapped errors
// repeat them ("rpyc: classic: rpyc: connect ..."), so cleanMessage drops them.
var packagePrefixes = map[string]bool{
	"rpyc": true, "classic": true, "registry": true, "protocol": true, "channel": true,
	"brine": true, "compat": true, "netref": true, "pyobj": true, "server": true, "sshtunnel": true,
}

// cleanMessage removes the package-name segments of an error chain's text: "rpyc: classic:
// rpyc: connect 1.2.3.4:5: dial tcp ..." becomes "connect 1.2.3.4:5: dial tcp ...".
func cleanMessage(msg string) string {
	parts := strings.Split(msg, ": ")
	out := parts[:0]
	for i, p := range parts {
		if packagePrefixes[p] && i < len(parts)-1 {
			continue
		}
		out = append(out, p)
	}
	return strings.Join(out, ": ")
}

func remoteLine(re *protocol.RemoteError) string {
	cls := re.Name
	if re.Module != "" && re.Module != "builtins" {
		cls = re.Module + "." + re.Name
	}
	if msg := re.Message(); msg != "" {
		return cls + ": " + msg
	}
	return cls
}

// jsonError is what --json prints for an error, under "error".
type jsonError struct {
	Type      string `json:"type"`             // the exception class, or LocalError / ConnectionError
	Module    string `json:"module,omitempty"` // the exception class's module (remote only)
	Message   string `json:"message"`
	Remote    bool   `json:"remote"`              // raised by the server
	Traceback string `json:"traceback,omitempty"` // the remote traceback
}

func errorJSON(err error) jsonError {
	var re *protocol.RemoteError
	var ce *connError
	if !errors.As(err, &ce) && errors.As(err, &re) {
		return jsonError{Type: re.Name, Module: re.Module, Message: re.Message(), Remote: true, Traceback: re.Traceback}
	}
	kind := "ConnectionError"
	if exitCode(err) == exitRemote {
		kind = "LocalError"
	}
	return jsonError{Type: kind, Message: cleanMessage(err.Error())}
}

func (a *app) printJSON(v any) {
	enc := json.NewEncoder(a.stdout)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		fmt.Fprintf(a.stderr, "rpyc: cannot print JSON: %v\n", err)
	}
}

// tlsConfig builds the TLS configuration from the flags, or nil without TLS.
func (a *app) tlsConfig(host string) (*tls.Config, error) {
	if !a.useTLS && a.tlsCA == "" && a.tlsCert == "" {
		return nil, nil
	}
	cfg := &tls.Config{ServerName: a.tlsServerName}
	if a.tlsCA != "" {
		pem, err := os.ReadFile(a.tlsCA)
		if err != nil {
			return nil, usagef("--tls-ca: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, usagef("--tls-ca: no PEM certificate in %s", a.tlsCA)
		}
		cfg.RootCAs = pool
		if cfg.ServerName == "" {
			h, _, err := net.SplitHostPort(host)
			if err != nil {
				h = host
			}
			cfg.ServerName = h
		}
	} else {
		cfg.InsecureSkipVerify = true // Python's ssl_connect default: encrypted, unverified
	}
	if a.tlsCert != "" || a.tlsKey != "" {
		cert, err := tls.LoadX509KeyPair(a.tlsCert, a.tlsKey)
		if err != nil {
			return nil, usagef("--tls-cert/--tls-key: %v", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// connectClassic connects to a classic server, bounded by --timeout.
func (a *app) connectClassic(ctx context.Context, host string) (*classic.Client, error) {
	if a.ssh.host != "" {
		return a.connectClassicSSH(ctx, host)
	}
	tcfg, err := a.tlsConfig(host)
	if err != nil {
		return nil, err
	}
	d, _ := compat.ParseDialect(a.dialect)
	opts := []classic.Option{classic.WithRequestTimeout(a.timeout), classic.WithDialect(d), classic.WithLogger(quiet)}
	if tcfg != nil {
		opts = append(opts, classic.WithTLS(tcfg))
	}
	cctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	c, err := classic.Connect(cctx, host, opts...)
	if err != nil {
		if errors.Is(err, classic.ErrNotClassic) {
			return nil, &connError{err}
		}
		return nil, &connError{a.explainConnect(ctx, classic.Address(host, a.defaultPort()), tcfg, err)}
	}
	return c, nil
}

// connectAny connects to any RPyC server at address, bounded by --timeout.
func (a *app) connectAny(ctx context.Context, address string) (*rpyc.Conn, error) {
	if a.ssh.host != "" {
		return a.connectAnySSH(ctx, address)
	}
	tcfg, err := a.tlsConfig(address)
	if err != nil {
		return nil, err
	}
	d, _ := compat.ParseDialect(a.dialect)
	opts := []rpyc.Option{rpyc.WithRequestTimeout(a.timeout), rpyc.WithLogger(quiet)}
	if d != compat.Auto {
		opts = append(opts, rpyc.WithDialect(d))
	}
	if tcfg != nil {
		opts = append(opts, rpyc.WithTLS(tcfg))
	}
	cctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	conn, err := rpyc.Connect(cctx, address, opts...)
	if err != nil {
		return nil, &connError{a.explainConnect(ctx, address, tcfg, err)}
	}
	return conn, nil
}

// quiet is the connections' logger: the command reports errors itself, so the protocol's
// warnings (a peer closing after a dialect mismatch, say) would only repeat them.
var quiet = slog.New(slog.DiscardHandler)

func (a *app) defaultPort() int {
	if a.useTLS || a.tlsCA != "" || a.tlsCert != "" {
		return classic.DefaultTLSPort
	}
	return classic.DefaultPort
}
