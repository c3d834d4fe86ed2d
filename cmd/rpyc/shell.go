package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/gorpyc/rpyc/brine"
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
unless --no-redirect. exit(), quit(), Ctrl-D or end of input leave the shell.

On a terminal the shell has line editing (arrows, Home/End, Ctrl-A/E/K/U/W, Ctrl-R to search
the history), a history kept between sessions in ~/.rpyc_history (RPYC_HISTORY names another
file; empty: none), Tab completion of the server's names (globals and builtins, and attributes
after a dot: os.pa<Tab>), and a banner naming the server's Python and rpyc. Ctrl-C at the prompt
discards the line; during a remote call it abandons the call and returns to the prompt
(KeyboardInterrupt): the server cannot be interrupted, so it finishes the call, its late reply
is discarded, and the next input waits for the server to be free.

With piped input it runs every input and exits with status 1 if any of them raised (prompts, if
stdin is a terminal, go to stderr). With --json each input gives one JSON line: {"input": ...,
"result": ..., "type": ..., "stdout": ..., "stderr": ...} or {"input": ..., "error": {...}}.`,
	flags:   redirectFlag,
	minArgs: 1, maxArgs: 1,
	run: func(ctx context.Context, a *app, args []string) error {
		c, err := a.connectClassic(ctx, args[0])
		if err != nil {
			return err
		}
		defer c.Close()
		sh := &shell{a: a, c: c, addr: classic.Address(args[0], a.defaultPort()), interactive: a.terminal(a.stdin)}
		if sh.interactive && !a.json && a.terminal(a.stdout) && a.lineEditor != nil {
			sh.editor = a.lineEditor()
			defer sh.editor.Close()
		}
		if a.noRedirect || a.json {
			return sh.loop(ctx)
		}
		return c.RedirectStdio(ctx, a.stdout, a.stderr, sh.loop)
	},
}

type shell struct {
	a           *app
	c           *classic.Client
	addr        string
	interactive bool
	failed      bool
	// editor is the line editor on a terminal (nil: plain reading of stdin).
	editor lineReader
	// abandoned: a call was interrupted; the server may still be running it.
	abandoned bool
}

// lineReader is the shell's line editor (liner on a terminal).
type lineReader interface {
	// Prompt reads one line; io.EOF on Ctrl-D, errPromptAborted on Ctrl-C.
	Prompt(prompt string) (string, error)
	AppendHistory(line string)
	// SetCompleter installs Tab completion: the words that may replace line[start:pos].
	SetCompleter(func(line string, pos int) (head string, completions []string, tail string))
	Close() error
}

// errPromptAborted is what a lineReader returns for Ctrl-C at the prompt.
var errPromptAborted = errors.New("prompt aborted")

// errKeyboardInterrupt is the cause of a remote call abandoned with Ctrl-C.
var errKeyboardInterrupt = errors.New("KeyboardInterrupt")

// errShellFailed makes a piped shell exit with status 1 when an input raised.
type errShellFailed struct{}

func (errShellFailed) Error() string { return "an input raised an exception" }

func (sh *shell) loop(ctx context.Context) error {
	if sh.interactive && !sh.a.json {
		sh.banner(ctx)
	}
	if sh.editor != nil {
		return sh.editLoop(ctx)
	}
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
// reported and the shell goes on. On a terminal, Ctrl-C during the call abandons it.
func (sh *shell) run(ctx context.Context, src string) error {
	callCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if sh.interactive {
		interrupt := func() { cancel(errKeyboardInterrupt) }
		sh.a.interruptHandler.Store(&interrupt)
		defer sh.a.interruptHandler.Store(nil)
	}
	err := sh.send(callCtx, src)
	if err != nil && context.Cause(callCtx) == errKeyboardInterrupt {
		fmt.Fprintln(sh.a.stderr, "KeyboardInterrupt")
		if !sh.abandoned {
			fmt.Fprintln(sh.a.stderr, "(the call was abandoned: the server finishes it and its reply is discarded; the next input waits for the server)")
		}
		sh.abandoned = true
		sh.failed = true
		return nil
	}
	return err
}

func (sh *shell) send(ctx context.Context, src string) error {
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

// editLoop is the shell on a terminal: the line editor reads, Ctrl-C discards the input being
// typed, Ctrl-D leaves.
func (sh *shell) editLoop(ctx context.Context) error {
	sh.editor.SetCompleter(sh.completer(ctx))
	var lines []string
	for {
		prompt := ">>> "
		if len(lines) > 0 {
			prompt = "... "
		}
		line, err := sh.editor.Prompt(prompt)
		switch {
		case errors.Is(err, errPromptAborted):
			fmt.Fprintln(sh.a.stderr, "KeyboardInterrupt")
			lines = nil
			continue
		case errors.Is(err, io.EOF):
			fmt.Fprintln(sh.a.stdout)
			return nil
		case err != nil:
			return &localError{fmt.Errorf("reading input: %w", err)}
		}
		if strings.TrimSpace(line) != "" {
			sh.editor.AppendHistory(line)
		}
		if len(lines) == 0 && strings.TrimSpace(line) == "" {
			continue
		}
		lines = append(lines, line)
		if needsMore(lines) {
			continue
		}
		src := strings.Join(lines, "\n")
		lines = nil
		if isExit(src) {
			return nil
		}
		if err := sh.run(ctx, src); err != nil {
			return err
		}
	}
}

// banner greets an interactive user with what is on the other side, as Python's REPL does.
func (sh *shell) banner(ctx context.Context) {
	bctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	desc := ""
	v, err := sh.c.Eval(bctx, "(__import__('sys').version.split()[0], __import__('sys').platform, getattr(__import__('rpyc'), '__version__', '?'))")
	if t, ok := v.(brine.Tuple); err == nil && ok && len(t) == 3 {
		desc = fmt.Sprintf(": Python %v on %v, rpyc %v", t[0], t[1], brine.Repr(t[2]))
		if s, ok := t[2].(string); ok {
			desc = fmt.Sprintf(": Python %v on %v, rpyc %s", t[0], t[1], s)
		}
	}
	fmt.Fprintf(sh.a.stderr, "rpyc shell (gorpyc %s) connected to %s%s\n", buildVersion(), sh.addr, desc)
	fmt.Fprintln(sh.a.stderr, `Type Python; exit() or Ctrl-D leaves, Ctrl-C interrupts, Tab completes names.`)
}

// completionTimeout bounds the server's answer to a Tab.
const completionTimeout = 2 * time.Second

// completer completes the dotted name before the cursor with the server's names: the
// connection's globals, builtins and keywords for a bare name, dir(obj) after a dot (only for
// dotted names, so nothing is called but attribute lookups, as Python's rlcompleter does). Names
// starting with "_" are offered only when the prefix does.
func (sh *shell) completer(ctx context.Context) func(line string, pos int) (string, []string, string) {
	return func(line string, pos int) (string, []string, string) {
		r := []rune(line)
		pos = min(max(pos, 0), len(r))
		head, tail := string(r[:pos]), string(r[pos:])
		i := len(head)
		for i > 0 && isNameByte(head[i-1]) {
			i--
		}
		word := head[i:]
		expr, prefix := "", word
		if j := strings.LastIndexByte(word, '.'); j >= 0 {
			expr, prefix = word[:j], word[j+1:]
			if !isDottedName(expr) {
				return head, nil, tail
			}
		}
		names := sh.names(ctx, expr, prefix)
		for k, n := range names {
			if expr != "" {
				names[k] = expr + "." + n
			}
		}
		return head[:i], names, tail
	}
}

func (sh *shell) names(ctx context.Context, expr, prefix string) []string {
	ctx, cancel := context.WithTimeout(ctx, completionTimeout)
	defer cancel()
	keep := fmt.Sprintf("n.startswith(%[1]s) and (%[1]s.startswith('_') or not n.startswith('_'))", brine.Repr(prefix))
	var code string
	if expr == "" {
		code = "tuple(sorted(set(n for n in list(globals()) + dir(__import__('builtins')) + __import__('keyword').kwlist if " + keep + ")))"
	} else {
		code = "tuple(sorted(n for n in dir(" + expr + ") if " + keep + "))"
	}
	v, err := sh.c.Eval(ctx, code)
	if err != nil {
		return nil
	}
	t, _ := v.(brine.Tuple)
	out := make([]string, 0, len(t))
	for _, it := range t {
		if s, ok := it.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func isNameByte(c byte) bool {
	return c == '_' || c == '.' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}

// isDottedName reports whether s is a dotted Python name (a.b.c), which completion may evaluate.
func isDottedName(s string) bool {
	for _, part := range strings.Split(s, ".") {
		if part == "" || part[0] >= '0' && part[0] <= '9' {
			return false
		}
		for i := 0; i < len(part); i++ {
			if !isNameByte(part[i]) || part[i] == '.' {
				return false
			}
		}
	}
	return true
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
