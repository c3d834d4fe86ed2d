package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gorpyc/rpyc/classic"
	"github.com/gorpyc/rpyc/protocol"
)

var shellCmd = &command{
	name:    "shell",
	args:    "HOST[:PORT]",
	summary: "interactive Python shell on a classic server (reads stdin)",
	details: `
Each input is sent to the server: an expression is evaluated and its repr printed (None is not
printed), anything else is executed. Lines ending in ':' open a block that ends with an empty
line; open brackets, triple-quoted strings and trailing backslashes continue onto the next line.
Definitions persist in the connection's namespace. The server's stdout and stderr are shown here
unless --no-redirect. exit(), quit() or end of input leave the shell.

With a terminal the shell prompts (>>> and ...) on stderr. With piped input it runs every input
and exits with status 1 if any of them raised. With --json each input gives one JSON line:
{"input": ..., "result": ..., "type": ..., "stdout": ..., "stderr": ...} or {"input": ...,
"error": {...}}.`,
	flags:   redirectFlag,
	minArgs: 1, maxArgs: 1,
	run: func(ctx context.Context, a *app, args []string) error {
		c, err := a.connectClassic(ctx, args[0])
		if err != nil {
			return err
		}
		defer c.Close()
		sh := &shell{a: a, c: c, interactive: a.terminal(a.stdin)}
		if a.noRedirect || a.json {
			return sh.loop(ctx)
		}
		return c.RedirectStdio(ctx, a.stdout, a.stderr, sh.loop)
	},
}

type shell struct {
	a           *app
	c           *classic.Client
	interactive bool
	failed      bool
}

// errShellFailed makes a piped shell exit with status 1 when an input raised.
type errShellFailed struct{}

func (errShellFailed) Error() string { return "an input raised an exception" }

func (sh *shell) loop(ctx context.Context) error {
	sc := bufio.NewScanner(sh.a.stdin)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var lines []string
	prompt := func() {
		if sh.interactive {
			if len(lines) == 0 {
				fmt.Fprint(sh.a.stderr, ">>> ")
			} else {
				fmt.Fprint(sh.a.stderr, "... ")
			}
		}
	}
	prompt()
	for sc.Scan() {
		line := sc.Text()
		if len(lines) == 0 && strings.TrimSpace(line) == "" {
			prompt()
			continue
		}
		lines = append(lines, line)
		if needsMore(lines) {
			prompt()
			continue
		}
		src := strings.Join(lines, "\n")
		lines = nil
		if isExit(src) {
			return sh.status()
		}
		if err := sh.run(ctx, src); err != nil {
			return err
		}
		prompt()
	}
	if err := sc.Err(); err != nil {
		return &localError{fmt.Errorf("reading input: %w", err)}
	}
	if len(lines) > 0 && !isExit(strings.Join(lines, "\n")) {
		if err := sh.run(ctx, strings.Join(lines, "\n")); err != nil {
			return err
		}
	}
	if sh.interactive {
		fmt.Fprintln(sh.a.stderr)
	}
	return sh.status()
}

func (sh *shell) status() error {
	if sh.failed && !sh.interactive {
		return &localErrorSilent{errShellFailed{}}
	}
	return nil
}

// localErrorSilent ends the run with status 1 without printing anything more: each failing
// input has already been reported.
type localErrorSilent struct{ err error }

func (e *localErrorSilent) Error() string { return e.err.Error() }

func isExit(src string) bool {
	switch strings.TrimSpace(src) {
	case "exit", "exit()", "quit", "quit()":
		return true
	}
	return false
}

// run sends one complete input. A connection failure ends the shell; a remote exception is
// reported and the shell goes on.
func (sh *shell) run(ctx context.Context, src string) error {
	var cp *capture
	var v any
	do := func(ctx context.Context) error {
		var err error
		v, err = sh.evalOrExec(ctx, src)
		return err
	}
	var err error
	if sh.a.json && !sh.a.noRedirect {
		cp, err = sh.a.redirected(ctx, sh.c, do)
	} else {
		err = do(ctx)
	}
	defer release(v)
	if err != nil {
		var re *protocol.RemoteError
		if !errors.As(err, &re) {
			return err
		}
		sh.failed = true
		if sh.a.json {
			sh.a.printJSON(map[string]any{"input": src, "error": errorJSON(err), "stdout": cp.stdout(), "stderr": cp.stderr()})
		} else {
			fmt.Fprint(sh.a.stderr, errorText(err))
		}
		return nil
	}
	if sh.a.json {
		r := sh.a.resultJSON(ctx, v, cp)
		sh.a.printJSON(struct {
			Input string `json:"input"`
			jsonResult
		}{src, r})
		return nil
	}
	return sh.a.printResult(ctx, v, nil, false)
}

// evalOrExec compiles src as an expression on the server; if that is a syntax error it is run
// as statements instead. Compiling first means an expression is never executed twice.
func (sh *shell) evalOrExec(ctx context.Context, src string) (any, error) {
	builtins, err := sh.c.Builtins(ctx)
	if err != nil {
		return nil, err
	}
	code, err := builtins.CallMethod(ctx, "compile", src, "<rpyc shell>", "eval")
	if err != nil {
		if isSyntaxError(err) {
			return nil, sh.c.Execute(ctx, src)
		}
		return nil, err
	}
	defer release(code)
	ns, err := sh.c.Namespace(ctx)
	if err != nil {
		return nil, err
	}
	return builtins.CallMethod(ctx, "eval", code, ns)
}

func isSyntaxError(err error) bool {
	var re *protocol.RemoteError
	if !errors.As(err, &re) || re.Module != "builtins" {
		return false
	}
	switch re.Name {
	case "SyntaxError", "IndentationError", "TabError":
		return true
	}
	return false
}

// needsMore reports whether the input so far is incomplete: open brackets or triple-quoted
// strings, a trailing backslash, or a block (a line ending in ':' or a decorator) not yet closed
// by an empty line.
func needsMore(lines []string) bool {
	src := strings.Join(lines, "\n")
	depth, inTriple := 0, ""
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch {
		case inTriple != "":
			if c == '\\' {
				i++
			} else if strings.HasPrefix(src[i:], inTriple) {
				i += 2
				inTriple = ""
			}
		case c == '#':
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case c == '\'' || c == '"':
			q := string(c)
			if strings.HasPrefix(src[i:], q+q+q) {
				inTriple = q + q + q
				i += 2
				continue
			}
			for i++; i < len(src) && src[i] != c && src[i] != '\n'; i++ {
				if src[i] == '\\' {
					i++
				}
			}
		case strings.IndexByte("([{", c) >= 0:
			depth++
		case strings.IndexByte(")]}", c) >= 0:
			depth--
		}
	}
	if depth > 0 || inTriple != "" {
		return true
	}
	last := lines[len(lines)-1]
	if strings.HasSuffix(last, "\\") {
		return true
	}
	opensBlock := false
	for _, l := range lines {
		t := strings.TrimSpace(stripComment(l))
		if strings.HasSuffix(t, ":") || strings.HasPrefix(t, "@") {
			opensBlock = true
			break
		}
	}
	return opensBlock && strings.TrimSpace(last) != ""
}

// stripComment removes a trailing # comment that is not inside a string.
func stripComment(line string) string {
	var q byte
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case q != 0:
			if c == '\\' {
				i++
			} else if c == q {
				q = 0
			}
		case c == '\'' || c == '"':
			q = c
		case c == '#':
			return line[:i]
		}
	}
	return line
}
