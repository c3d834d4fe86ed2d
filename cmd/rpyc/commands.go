package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/gorpyc/rpyc/brine"
	"github.com/gorpyc/rpyc/classic"
	"github.com/gorpyc/rpyc/netref"
	"github.com/gorpyc/rpyc/protocol"
)

var evalCmd = &command{
	name:    "eval",
	args:    "HOST[:PORT] EXPR",
	summary: "evaluate a Python expression on a classic server and print its repr",
	details: `
EXPR runs with the server's eval() in the connection's namespace. The result's repr() is
printed (the server computes it for lists, dicts and other objects). With --json the value is
copied by pickle and printed as {"result": ..., "type": ...}; values JSON cannot hold are given
as their "repr". What the expression prints on the server's stdout and stderr is shown here
(in "stdout" and "stderr" with --json) unless --no-redirect.`,
	flags:   redirectFlag,
	minArgs: 2, maxArgs: 2,
	run: func(ctx context.Context, a *app, args []string) error {
		c, err := a.connectClassic(ctx, args[0])
		if err != nil {
			return err
		}
		defer c.Close()
		var v any
		out, err := a.redirected(ctx, c, func(ctx context.Context) error {
			var err error
			v, err = c.Eval(ctx, args[1])
			return err
		})
		if err != nil {
			return err
		}
		defer release(v)
		return a.printResult(ctx, v, out, true)
	},
}

var execCmd = &command{
	name:    "exec",
	args:    "HOST[:PORT] FILE|-",
	summary: "execute Python statements from a file (- for stdin) on a classic server",
	details: `
The code runs with the server's exec() in the connection's namespace. Its output on the
server's stdout and stderr is shown here unless --no-redirect (with --json: {"result": null,
"stdout": ..., "stderr": ...}).`,
	flags:   redirectFlag,
	minArgs: 2, maxArgs: 2,
	run: func(ctx context.Context, a *app, args []string) error {
		var code []byte
		var err error
		if args[1] == "-" {
			code, err = io.ReadAll(a.stdin)
		} else {
			code, err = os.ReadFile(args[1])
		}
		if err != nil {
			return &localError{err}
		}
		c, err := a.connectClassic(ctx, args[0])
		if err != nil {
			return err
		}
		defer c.Close()
		out, err := a.redirected(ctx, c, func(ctx context.Context) error {
			return c.Execute(ctx, string(code))
		})
		if err != nil {
			return err
		}
		if a.json {
			a.printJSON(jsonResult{Stdout: out.stdout(), Stderr: out.stderr()})
		}
		return nil
	},
}

var callCmd = &command{
	name:    "call",
	args:    "HOST:PORT METHOD [ARGS...]",
	summary: "call root.METHOD(ARGS...) on any RPyC service and print the result",
	details: `
METHOD may be dotted (a.b calls root.a.b). Each ARG is a Python literal: an int, float, complex,
str or bytes literal ('text', b'\x00', r'raw'), None, True, False, a tuple, a list (sent as a
tuple: brine carries no lists) or a set (sent as a frozenset). NAME=LITERAL passes a keyword
argument. Quote the arguments for your shell: rpyc call host:18861 greet "'bob'" punct="'?'".
The result's repr is printed (the server computes it for remote objects); with --json the value
is printed as JSON when it can be copied, else its repr.`,
	minArgs: 2, maxArgs: -1,
	run: func(ctx context.Context, a *app, args []string) error {
		if _, _, err := splitHostPortStrict(args[0]); err != nil {
			return usagef("call: %v (call needs HOST:PORT: services have no default port)", err)
		}
		pos, kw, err := parseCallArgs(args[2:])
		if err != nil {
			return usagef("call: %v", err)
		}
		conn, err := a.connectAny(ctx, args[0])
		if err != nil {
			return err
		}
		defer conn.Close()
		obj, err := conn.Root(ctx)
		if err != nil {
			if !isRemote(err) {
				tcfg, _ := a.tlsConfig(args[0])
				err = a.explainConnect(ctx, args[0], tcfg, err)
			}
			return &connError{err}
		}
		path := strings.Split(args[1], ".")
		for _, name := range path[:len(path)-1] {
			v, err := obj.GetAttr(ctx, name)
			if err != nil {
				return err
			}
			ref, ok := v.(*netref.Ref)
			if !ok {
				return fmt.Errorf("%s is a %s value, not an object with methods", name, typeName(v))
			}
			defer ref.Release()
			obj = ref
		}
		callArgs := pos
		if kw != nil {
			callArgs = append(callArgs, netref.Kwargs(kw))
		}
		v, err := obj.CallMethod(ctx, path[len(path)-1], callArgs...)
		if err != nil {
			return err
		}
		defer release(v)
		return a.printResult(ctx, v, nil, true)
	},
}

func splitHostPortStrict(addr string) (string, string, error) {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 || strings.HasSuffix(addr, "]") {
		return "", "", fmt.Errorf("address %q has no port", addr)
	}
	return addr[:i], addr[i+1:], nil
}

var uploadCmd = &command{
	name:    "upload",
	args:    "HOST[:PORT] LOCAL REMOTE",
	summary: "copy a local file or directory tree to a classic server",
	details: `
A directory is copied recursively (REMOTE and its parents are created); files are written in
chunks through the server's open(). A single file needs REMOTE's directory to exist, as with
Python's rpyc.classic.upload, cp and scp: a missing one is reported in one line, and --parents
creates it (like mkdir -p). Permission bits are copied unless --ignore-permissions. A progress
bar is shown on stderr when it is a terminal (not with --json or --no-progress); a summary is
printed at the end. Ctrl-C stops the copy and removes the partly written remote file (exit
status 130).`,
	flags: func(fs *flag.FlagSet, a *app) {
		transferFlags(fs, a)
		fs.BoolVar(&a.parents, "parents", false, "create REMOTE's missing parent directories (for a single file)")
	},
	minArgs: 3, maxArgs: 3,
	run: func(ctx context.Context, a *app, args []string) error {
		fi, err := os.Stat(args[1])
		if err != nil {
			return &localError{err}
		}
		local, remote := args[1], args[2]
		return a.transfer(ctx, args[0], "upload", func(ctx context.Context, c *classic.Client, o *classic.TransferOptions, t *transferState) error {
			if !fi.IsDir() && a.parents {
				if err := makeRemoteParents(ctx, c, remote); err != nil {
					return err
				}
			}
			t.partial = func(p classic.Progress) string { return mapPath(p.Path, local, remote, "/") }
			t.remove = func(path string) error { return removeRemote(c, path) }
			err := c.Upload(ctx, local, remote, o)
			if err != nil && !fi.IsDir() && errors.Is(err, protocol.FileNotFoundError) {
				if dir, missing := missingRemoteParent(ctx, c, remote); missing {
					return &oneLineError{fmt.Sprintf("upload: cannot create %s: the remote directory %s does not exist (--parents creates it)", remote, dir), err}
				}
			}
			return err
		})
	},
}

var downloadCmd = &command{
	name:    "download",
	args:    "HOST[:PORT] REMOTE LOCAL",
	summary: "copy a file or directory tree from a classic server",
	details: `
The server lists REMOTE in one call, then files are read in chunks. Local directories are created
as needed; permission bits are copied unless --ignore-permissions. Progress and summary as for
upload. Ctrl-C stops the copy and removes the partly written local file (files already complete
stay); the exit status is then 130.`,
	flags:   transferFlags,
	minArgs: 3, maxArgs: 3,
	run: func(ctx context.Context, a *app, args []string) error {
		remote, local := args[1], args[2]
		return a.transfer(ctx, args[0], "download", func(ctx context.Context, c *classic.Client, o *classic.TransferOptions, t *transferState) error {
			t.partial = func(p classic.Progress) string {
				return filepath.FromSlash(mapPath(p.Path, remote, filepath.ToSlash(local), "/"))
			}
			t.remove = os.Remove
			return c.Download(ctx, remote, local, o)
		})
	},
}

// mapPath maps a path under the transfer's source root to the same place under its destination
// root, with sep as the separator of the result.
func mapPath(path, srcRoot, dstRoot, sep string) string {
	rel := strings.TrimPrefix(filepath.ToSlash(path), filepath.ToSlash(srcRoot))
	rel = strings.TrimLeft(rel, "/\\")
	if rel == "" {
		return dstRoot
	}
	return strings.TrimRight(dstRoot, sep) + sep + strings.ReplaceAll(rel, "/", sep)
}

// makeRemoteParents creates the directory that will hold remote, with its parents
// (os.makedirs(dirname, exist_ok=True) on the server).
func makeRemoteParents(ctx context.Context, c *classic.Client, remote string) error {
	osmod, err := c.Module(ctx, "os")
	if err != nil {
		return err
	}
	pathmod, err := osmod.GetAttr(ctx, "path")
	if err != nil {
		return err
	}
	defer release(pathmod)
	p, ok := pathmod.(*netref.Ref)
	if !ok {
		return fmt.Errorf("os.path is a %T", pathmod)
	}
	dir, err := netref.As[string](p.CallMethod(ctx, "dirname", remote))
	if err != nil || dir == "" {
		return err
	}
	_, err = osmod.CallMethod(ctx, "makedirs", dir, netref.Kwargs{"exist_ok": true})
	return err
}

// missingRemoteParent reports the directory of remote when the server does not have it.
func missingRemoteParent(ctx context.Context, c *classic.Client, remote string) (string, bool) {
	v, err := c.Eval(ctx, fmt.Sprintf("(lambda d: (d, not __import__('os').path.isdir(d or '.')))(__import__('os').path.dirname(%s))", brine.Repr(remote)))
	if err != nil {
		return "", false
	}
	t, ok := v.(brine.Tuple)
	if !ok || len(t) != 2 {
		return "", false
	}
	dir, _ := t[0].(string)
	missing, _ := t[1].(bool)
	return dir, missing
}

// removeRemote deletes a partly written remote file after an interrupted upload, on a context of
// its own (the command's is canceled).
func removeRemote(c *classic.Client, path string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	osmod, err := c.Module(ctx, "os")
	if err != nil {
		return err
	}
	_, err = osmod.CallMethod(ctx, "remove", path)
	return err
}

func isRemote(err error) bool {
	var re *protocol.RemoteError
	return errors.As(err, &re)
}

// oneLineError is reported as its message alone (no remote traceback); it keeps the error it
// explains for the exit status and --json.
type oneLineError struct {
	msg string
	err error
}

func (e *oneLineError) Error() string { return e.msg }
func (e *oneLineError) Unwrap() error { return e.err }

var pingCmd = &command{
	name:    "ping",
	args:    "HOST[:PORT]",
	summary: "check that an RPyC server (classic or any service) answers",
	details: `
Connects (finding the server's dialect), sends a PING and checks the echo. Prints the dialect and
the round-trip time; exit status 3 when the server cannot be reached.`,
	minArgs: 1, maxArgs: 1,
	run: func(ctx context.Context, a *app, args []string) error {
		addr := classic.Address(args[0], a.defaultPort())
		start := time.Now()
		conn, err := a.connectAny(ctx, addr)
		if err != nil {
			return err
		}
		defer conn.Close()
		connected := time.Since(start)
		start = time.Now()
		if err := conn.Ping(ctx, nil); err != nil {
			return &connError{err}
		}
		rtt := time.Since(start)
		if a.json {
			a.printJSON(map[string]any{"address": addr, "dialect": conn.Dialect().String(),
				"connect_ms": ms(connected), "rtt_ms": ms(rtt)})
			return nil
		}
		fmt.Fprintf(a.stdout, "pong from %s (dialect %s): rtt %.3f ms, connect %.3f ms\n", addr, conn.Dialect(), ms(rtt), ms(connected))
		return nil
	},
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func redirectFlag(fs *flag.FlagSet, a *app) {
	fs.BoolVar(&a.noRedirect, "no-redirect", false, "leave the server's stdout and stderr alone instead of showing them here")
}

func transferFlags(fs *flag.FlagSet, a *app) {
	fs.BoolVar(&a.noProgress, "no-progress", false, "no progress bar, even on a terminal")
	fs.IntVar(&a.chunkSize, "chunk-size", classic.ChunkSize, "bytes per read or write request")
	fs.BoolVar(&a.ignorePerms, "ignore-permissions", false, "do not copy permission bits (Python's behaviour)")
}

// transferState follows a transfer for Ctrl-C: the file being written, to remove it.
type transferState struct {
	// partial maps a progress report to the destination path of the file being copied.
	partial func(classic.Progress) string
	// remove deletes a partly written destination file.
	remove func(path string) error
}

func (a *app) transfer(ctx context.Context, host, verb string, do func(context.Context, *classic.Client, *classic.TransferOptions, *transferState) error) error {
	if a.chunkSize <= 0 {
		return usagef("--chunk-size must be positive")
	}
	c, err := a.connectClassic(ctx, host)
	if err != nil {
		return err
	}
	defer c.Close()
	opts := &classic.TransferOptions{ChunkSize: a.chunkSize, IgnorePermissions: a.ignorePerms}
	var last classic.Progress
	var bar *progressBar
	if !a.json && !a.noProgress && a.terminal(a.stderr) {
		bar = &progressBar{w: a.stderr, start: time.Now()}
	}
	st := &transferState{}
	inProgress := "" // the destination file started and not yet complete
	opts.Progress = func(p classic.Progress) {
		if p.Files > last.Files {
			inProgress = ""
		} else if st.partial != nil && p.Path != "" {
			inProgress = st.partial(p)
		}
		last = p
		if bar != nil {
			bar.update(p)
		}
	}
	start := time.Now()
	err = do(ctx, c, opts, st)
	if bar != nil {
		bar.finish()
	}
	if err != nil {
		if context.Cause(ctx) == errInterrupted {
			msg := fmt.Sprintf("%s interrupted after %d of %d file(s), %s", verb, last.Files, last.TotalFiles, humanBytes(last.Bytes))
			if inProgress != "" && st.remove != nil {
				if rerr := st.remove(inProgress); rerr == nil || errors.Is(rerr, fs.ErrNotExist) || errors.Is(rerr, protocol.FileNotFoundError) {
					msg += "; removed the partial file " + inProgress
				} else {
					msg += fmt.Sprintf("; could not remove the partial file %s: %v", inProgress, cleanMessage(rerr.Error()))
				}
			}
			return &interruptedError{errors.New(msg)}
		}
		if isLocalFS(err) {
			return &localError{err}
		}
		var one *oneLineError
		if isRemote(err) && !errors.As(err, &one) {
			return &oneLineError{verb + ": " + remoteSummary(err), err}
		}
		return err
	}
	elapsed := time.Since(start)
	files := last.Files
	rate := float64(last.Bytes) / elapsed.Seconds() / 1e6
	if a.json {
		a.printJSON(map[string]any{"files": files, "bytes": last.Bytes, "seconds": elapsed.Seconds(), "mb_per_s": rate})
		return nil
	}
	fmt.Fprintf(a.stdout, "%d file(s), %s in %.2f s (%.1f MB/s)\n", files, humanBytes(last.Bytes), elapsed.Seconds(), rate)
	return nil
}

// remoteSummary is a remote exception in one line: "PermissionError: [Errno 13] ...".
func remoteSummary(err error) string {
	var re *protocol.RemoteError
	if errors.As(err, &re) {
		return remoteLine(re)
	}
	return cleanMessage(err.Error())
}

// isLocalFS reports whether err is a local file system error rather than a remote one.
func isLocalFS(err error) bool {
	var pe *os.PathError
	var le *os.LinkError
	var re *protocol.RemoteError
	return (errors.As(err, &pe) || errors.As(err, &le)) && !errors.As(err, &re)
}

// capture collects what the server printed while --json output was requested.
type capture struct {
	mu       sync.Mutex
	out, err bytes.Buffer
	used     bool
}

func (c *capture) stdout() *string {
	if c == nil || !c.used {
		return nil
	}
	s := c.out.String()
	return &s
}

func (c *capture) stderr() *string {
	if c == nil || !c.used {
		return nil
	}
	s := c.err.String()
	return &s
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// redirected runs fn with the server's stdout/stderr sent to ours (or, with --json, captured),
// unless --no-redirect.
func (a *app) redirected(ctx context.Context, c *classic.Client, fn func(context.Context) error) (*capture, error) {
	if a.noRedirect {
		return nil, fn(ctx)
	}
	cp := &capture{used: a.json}
	var out, errw io.Writer = a.stdout, a.stderr
	if a.json {
		out, errw = lockedWriter{&cp.mu, &cp.out}, lockedWriter{&cp.mu, &cp.err}
	}
	return cp, c.RedirectStdio(ctx, out, errw, fn)
}

// jsonResult is what --json prints for a result.
type jsonResult struct {
	Result any     `json:"result"`
	Type   string  `json:"type,omitempty"`
	Repr   string  `json:"repr,omitempty"`
	Stdout *string `json:"stdout,omitempty"`
	Stderr *string `json:"stderr,omitempty"`
}

// printResult prints a result: its repr, or with --json its JSON form (a remote object is copied
// by pickle first; if that fails its repr is given instead). showNone prints None too.
func (a *app) printResult(ctx context.Context, v any, cp *capture, showNone bool) error {
	if a.json {
		a.printJSON(a.resultJSON(ctx, v, cp))
		return nil
	}
	if v == nil && !showNone {
		return nil
	}
	s, err := reprOf(ctx, v)
	if err != nil {
		return err
	}
	fmt.Fprintln(a.stdout, s)
	return nil
}

func (a *app) resultJSON(ctx context.Context, v any, cp *capture) jsonResult {
	r := jsonResult{Type: typeName(v), Stdout: cp.stdout(), Stderr: cp.stderr()}
	got, err := classic.Obtain(ctx, v)
	if err == nil {
		if j, jerr := jsonValue(got); jerr == nil {
			r.Result = j
			return r
		}
	}
	r.Repr, _ = reprOf(ctx, v)
	return r
}

// reprOf returns repr(v): computed by the server for references, locally for values.
func reprOf(ctx context.Context, v any) (string, error) {
	switch x := v.(type) {
	case *netref.Ref:
		return x.Repr(ctx)
	case brine.Tuple:
		parts := make([]string, len(x))
		for i, it := range x {
			s, err := reprOf(ctx, it)
			if err != nil {
				return "", err
			}
			parts[i] = s
		}
		if len(parts) == 1 {
			return "(" + parts[0] + ",)", nil
		}
		return "(" + strings.Join(parts, ", ") + ")", nil
	}
	return pyRepr(v), nil
}

// typeName names the Python type of a result.
func typeName(v any) string {
	if r, ok := v.(*netref.Ref); ok {
		return strings.TrimPrefix(r.TypeName(), "builtins.")
	}
	if n := brine.TypeName(v); n != "" {
		return n
	}
	return fmt.Sprintf("%T", v)
}

// release gives back the references a result holds.
func release(v any) {
	switch x := v.(type) {
	case *netref.Ref:
		x.Release()
	case brine.Tuple:
		for _, it := range x {
			release(it)
		}
	}
}
