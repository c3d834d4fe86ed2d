//go:build unix

package main

// Live tests of every subcommand against real Python servers, per peer: a classic server
// (tox-interop/classic_server.py), an ordinary service (tox-interop/test_service.py) for `call`,
// and a TLS classic server. Commands run in-process through app.run; TestBinary also runs the
// real main to check the process exit statuses.

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorpyc/rpyc/classic"
	"github.com/gorpyc/rpyc/internal/interop"
)

func TestMain(m *testing.M) {
	if os.Getenv("GORPYC_RUN_CLI") == "1" {
		main() // the test binary acting as the rpyc command (TestBinary)
		return
	}
	os.Exit(m.Run())
}

type result struct {
	stdout, stderr string
	code           int
}

// cli runs one command line in-process; terminal says whether stdin and stderr are terminals.
func cli(t *testing.T, stdin string, terminal bool, args ...string) result {
	t.Helper()
	var out, errb interop.Buffer
	a := &app{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb, terminal: func(any) bool { return terminal }}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	code := a.run(ctx, args)
	return result{out.String(), errb.String(), code}
}

// cliPinned is cli with the server's dialect named. The commands that show the server's output
// redirect its sys.stdout/stderr process-wide; without --dialect, the dialect probe of a 6.x server
// is refused on a connection of its own, and the server's log of that refusal may land in the
// redirected window (the probe itself is tested by ping, call and transfer).
func cliPinned(t *testing.T, dialect, stdin string, terminal bool, args ...string) result {
	t.Helper()
	return cli(t, stdin, terminal, append([]string{"--dialect", dialect}, args...)...)
}

func (r result) check(t *testing.T, code int, stdout, stderr string) {
	t.Helper()
	if r.code != code || !strings.Contains(r.stdout, stdout) || !strings.Contains(r.stderr, stderr) {
		t.Errorf("exit %d, want %d\n--- stdout (want %q) ---\n%s--- stderr (want %q) ---\n%s", r.code, code, stdout, r.stdout, stderr, r.stderr)
	}
}

func startScript(t *testing.T, p interop.Peer, script string, args ...string) string {
	t.Helper()
	addr, err := p.Start(t, script, args...).WaitListening(30 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

func decodeJSON(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("not JSON: %q: %v", s, err)
	}
	return m
}

func TestCLI(t *testing.T) {
	interop.ForEachPeer(t, func(t *testing.T, p interop.Peer) {
		addr := startScript(t, p, "classic_server.py")
		svc := startScript(t, p, "test_service.py")
		dialect := "v5"
		if strings.HasPrefix(p.Version, "6.") {
			dialect = "v6"
		}
		t.Run("eval", func(t *testing.T) { testEval(t, addr, dialect) })
		t.Run("exec", func(t *testing.T) { testExec(t, addr, dialect) })
		t.Run("call", func(t *testing.T) { testCall(t, svc) })
		t.Run("transfer", func(t *testing.T) { testTransfer(t, addr) })
		t.Run("ping", func(t *testing.T) {
			cli(t, "", false, "ping", addr).check(t, 0, "pong from "+addr+" (dialect "+dialect+")", "")
			cli(t, "", false, "ping", svc).check(t, 0, "pong", "")
			r := cli(t, "", false, "--json", "ping", addr)
			if m := decodeJSON(t, r.stdout); r.code != 0 || m["dialect"] != dialect || m["rtt_ms"] == nil {
				t.Errorf("ping --json = %d %q", r.code, r.stdout)
			}
			cli(t, "", false, "--timeout", "5s", "ping", "127.0.0.1:1").check(t, 3, "", "connection refused")
		})
		t.Run("shell", func(t *testing.T) { testShell(t, addr, dialect) })
		t.Run("repr", func(t *testing.T) { testRepr(t, addr, dialect) })
		t.Run("connection errors", func(t *testing.T) {
			cli(t, "", false, "eval", "127.0.0.1:1", "1").check(t, 3, "", "connection refused")
			other := map[string]string{"v5": "v6", "v6": "v5"}[dialect]
			cli(t, "", false, "--timeout", "5s", "--dialect", other, "eval", addr, "1").check(t, 3, "", "rpyc:")
			cli(t, "", false, "eval", svc, "1").check(t, 3, "", "not a classic")
			r := cli(t, "", false, "--json", "eval", "127.0.0.1:1", "1")
			if m := decodeJSON(t, r.stdout); r.code != 3 || m["error"].(map[string]any)["type"] != "ConnectionError" {
				t.Errorf("--json connection error = %d %q", r.code, r.stdout)
			}
		})
		t.Run("tls", func(t *testing.T) {
			cert, key, _ := interop.SelfSignedCert(t, t.TempDir())
			tlsAddr := startScript(t, p, "classic_server.py", "--tls", cert, key)
			cli(t, "", false, "--tls", "eval", tlsAddr, "6 * 7").check(t, 0, "42\n", "")
			cli(t, "", false, "eval", "--tls-ca", cert, tlsAddr, "'verified'").check(t, 0, "'verified'\n", "")
			cli(t, "", false, "--tls-ca", filepath.Join(t.TempDir(), "none.pem"), "eval", tlsAddr, "1").check(t, 2, "", "--tls-ca")
		})
	})
}

func testEval(t *testing.T, addr, dialect string) {
	cliPinned(t, dialect, "", false, "eval", addr, "1 + 1").check(t, 0, "2\n", "")
	cliPinned(t, dialect, "", false, "eval", addr, "[1, 'a', None, {'k': (2,)}]").check(t, 0, "[1, 'a', None, {'k': (2,)}]\n", "")
	cliPinned(t, dialect, "", false, "eval", addr, "None").check(t, 0, "None\n", "")
	cliPinned(t, dialect, "", false, "eval", addr, "print('printed') or 5").check(t, 0, "printed\n5\n", "")
	if r := cliPinned(t, dialect, "", false, "eval", "--no-redirect", addr, "print('elsewhere') or 6"); r.stdout != "6\n" || r.code != 0 {
		t.Errorf("--no-redirect: %d %q", r.code, r.stdout)
	}
	r := cliPinned(t, dialect, "", false, "eval", addr, "1 / 0")
	r.check(t, 1, "", "Remote traceback:")
	r.check(t, 1, "", "ZeroDivisionError: division by zero")

	r = cliPinned(t, dialect, "", false, "eval", "--json", addr, "{'a': [1, 2.5, None, True], 'b': b'x', 'c': {1, 2}, 'n': 2**70, 'd': __import__('datetime').date(2020, 1, 2)}")
	if r.code != 0 {
		t.Fatalf("eval --json: %d %s", r.code, r.stderr)
	}
	want := `{"result":{"a":[1,2.5,null,true],"b":"eA==","c":[1,2],"n":1180591620717411303424,"d":"2020-01-02"},"type":"dict","stdout":"","stderr":""}` + "\n"
	if r.stdout != want {
		t.Errorf("eval --json\n got %s\nwant %s", r.stdout, want)
	}
	r = cliPinned(t, dialect, "", false, "--json", "eval", addr, "__import__('os')")
	if m := decodeJSON(t, r.stdout); m["result"] != nil || m["type"] != "os" || !strings.Contains(m["repr"].(string), "module 'os'") {
		t.Errorf("eval --json module: %q", r.stdout)
	}
	r = cliPinned(t, dialect, "", false, "--json", "eval", addr, "print('x') or (1, 'two')")
	if r.stdout != `{"result":[1,"two"],"type":"tuple","stdout":"x\n","stderr":""}`+"\n" {
		t.Errorf("eval --json tuple: %q", r.stdout)
	}
	r = cliPinned(t, dialect, "", false, "--json", "eval", addr, "{}['missing']")
	m := decodeJSON(t, r.stdout)
	e, _ := m["error"].(map[string]any)
	if r.code != 1 || e["type"] != "KeyError" || e["remote"] != true || !strings.Contains(e["traceback"].(string), "KeyError") {
		t.Errorf("eval --json error: %d %q", r.code, r.stdout)
	}
}

func testExec(t *testing.T, addr, dialect string) {
	file := filepath.Join(t.TempDir(), "script.py")
	if err := os.WriteFile(file, []byte("import sys\ncli_value = 7\nprint('out', cli_value)\nprint('err', file=sys.stderr)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cliPinned(t, dialect, "", false, "exec", addr, file).check(t, 0, "out 7\n", "err\n")
	cliPinned(t, dialect, "print('from stdin')\n", false, "exec", addr, "-").check(t, 0, "from stdin\n", "")
	r := cliPinned(t, dialect, "print('json')\n", false, "exec", "--json", addr, "-")
	if r.code != 0 || r.stdout != `{"result":null,"stdout":"json\n","stderr":""}`+"\n" {
		t.Errorf("exec --json: %d %q", r.code, r.stdout)
	}
	cliPinned(t, dialect, "raise ValueError('bad value')\n", false, "exec", addr, "-").check(t, 1, "", "ValueError: bad value")
	cliPinned(t, dialect, "", false, "exec", addr, filepath.Join(t.TempDir(), "missing.py")).check(t, 1, "", "no such file")
}

func testCall(t *testing.T, svc string) {
	cli(t, "", false, "call", svc, "add", "1", "2").check(t, 0, "3\n", "")
	cli(t, "", false, "call", svc, "greet", "'bob'", "greeting='Hi'", `punct="?"`).check(t, 0, "'Hi, bob?'\n", "")
	cli(t, "", false, "call", svc, "echo", `(1, [2, 3], b'\x00x', None, 1.5, 2j, -7, 0x10, 'it\'s', r'\n')`).
		check(t, 0, `(1, (2, 3), b'\x00x', None, 1.5, 2j, -7, 16, "it's", '\\n')`+"\n", "")
	cli(t, "", false, "call", svc, "echo", "{1, 2}").check(t, 0, "frozenset({1, 2})\n", "")
	cli(t, "", false, "call", svc, "kinds", "-1+2j").check(t, 0, "'complex'\n", "")
	cli(t, "", false, "call", svc, "add", "2**70", "1").check(t, 2, "", "argument 1")
	cli(t, "", false, "call", svc, "add", "bob", "1").check(t, 2, "", "bob is not a Python literal")
	cli(t, "", false, "call", svc, "echo", "{'a': 1}").check(t, 2, "", "dict")
	cli(t, "", false, "call", "127.0.0.1", "add").check(t, 2, "", "HOST:PORT")
	cli(t, "", false, "call", svc, "get_list").check(t, 0, "[0, 1, 2, 3, 4]\n", "")
	cli(t, "", false, "call", svc, "raise", "'zero'").check(t, 1, "", "ZeroDivisionError")
	cli(t, "", false, "call", svc, "no_such_method").check(t, 1, "", "AttributeError")
	// A default service refuses pickling: --json falls back to the repr.
	r := cli(t, "", false, "--json", "call", svc, "get_list", "3")
	if r.code != 0 || r.stdout != `{"result":null,"type":"list","repr":"[0, 1, 2]"}`+"\n" {
		t.Errorf("call --json get_list: %d %q", r.code, r.stdout)
	}
	r = cli(t, "", false, "--json", "call", svc, "varargs", "1", "k='v'")
	if r.code != 0 || r.stdout != `{"result":[[1],[["k","v"]]],"type":"tuple"}`+"\n" {
		t.Errorf("call --json varargs: %d %q", r.code, r.stdout)
	}
}

func testTransfer(t *testing.T, addr string) {
	src := filepath.Join(t.TempDir(), "src")
	if err := os.MkdirAll(filepath.Join(src, "sub", "deeper"), 0o755); err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 200_000) // 3.2 MB
	files := map[string][]byte{"big.bin": big, "sub/deeper/small.txt": []byte("small"), "empty": nil}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(src, name), data, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	remote := filepath.Join(t.TempDir(), "remote")
	r := cli(t, "", true, "upload", addr, src, remote) // a terminal: progress bar on stderr
	r.check(t, 0, "3 file(s), 3.2 MB in", "100% [")
	back := filepath.Join(t.TempDir(), "back")
	r = cli(t, "", false, "download", "--json", "--chunk-size", "10000", addr, remote, back)
	if m := decodeJSON(t, r.stdout); r.code != 0 || m["files"] != 3.0 || m["bytes"] != float64(len(big)+5) || r.stderr != "" {
		t.Errorf("download --json: %d %q %q", r.code, r.stdout, r.stderr)
	}
	for name, data := range files {
		got, err := os.ReadFile(filepath.Join(back, name))
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("%s: %d bytes, %v", name, len(got), err)
		}
		if fi, err := os.Stat(filepath.Join(back, name)); err != nil || fi.Mode().Perm() != 0o640 {
			t.Errorf("%s: mode %v, %v", name, fi.Mode(), err)
		}
	}
	one := filepath.Join(t.TempDir(), "one.txt")
	cli(t, "", false, "download", "--ignore-permissions", addr, filepath.Join(remote, "sub", "deeper", "small.txt"), one).
		check(t, 0, "1 file(s), 5 B", "")
	cli(t, "", false, "upload", addr, filepath.Join(src, "missing"), remote).check(t, 1, "", "no such file")
	cli(t, "", false, "download", addr, filepath.Join(remote, "missing"), back).check(t, 1, "", "FileNotFoundError")
	cli(t, "", false, "download", "--chunk-size", "0", addr, remote, back).check(t, 2, "", "chunk-size")
}

func testShell(t *testing.T, addr, dialect string) {
	input := `x = 5
x * 2
def f(a):
    # a comment
    return a + 1

f(x)
print("printed")
[1,
 2]
s = """two
lines"""
s
None
1 / 0
'after the error'
`
	r := cliPinned(t, dialect, input, false, "shell", addr)
	want := "10\n6\nprinted\n[1, 2]\n'two\\nlines'\n'after the error'\n"
	if r.stdout != want || r.code != 1 || !strings.Contains(r.stderr, "ZeroDivisionError") {
		t.Errorf("shell: exit %d\nstdout %q\nwant   %q\nstderr %q", r.code, r.stdout, want, r.stderr)
	}
	// Without errors the piped shell exits 0; exit() stops it; prompts on a terminal.
	r = cliPinned(t, dialect, "1 + 1\nexit()\n2 + 2\n", true, "shell", addr)
	if r.stdout != "2\n" || r.code != 0 || !strings.Contains(r.stderr, ">>> ") {
		t.Errorf("shell with exit(): %d %q %q", r.code, r.stdout, r.stderr)
	}
	r = cliPinned(t, dialect, "for i in range(2):\n    print(i)\n", false, "shell", addr) // block closed by EOF
	if r.stdout != "0\n1\n" || r.code != 0 {
		t.Errorf("shell block at EOF: %d %q %q", r.code, r.stdout, r.stderr)
	}
	r = cliPinned(t, dialect, "y = 3\nprint('p') or y\n{}['k']\n", false, "--json", "shell", addr)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if r.code != 1 || len(lines) != 3 {
		t.Fatalf("shell --json: %d %q", r.code, r.stdout)
	}
	if lines[0] != `{"input":"y = 3","result":null,"type":"NoneType","stdout":"","stderr":""}` ||
		lines[1] != `{"input":"print('p') or y","result":3,"type":"int","stdout":"p\n","stderr":""}` ||
		decodeJSON(t, lines[2])["error"].(map[string]any)["type"] != "KeyError" {
		t.Errorf("shell --json lines:\n%s", r.stdout)
	}
}

// testRepr checks the local repr of values received by value against the server's repr().
func testRepr(t *testing.T, addr, dialect string) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := classic.Connect(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	exprs := []string{
		"0", "-17", "2**100", "1.0", "0.1", "-0.0", "1e16", "1e15", "123456789.125", "1.5e-05", "1e-4",
		"1e300", "float('inf')", "float('-inf')", "float('nan')", "2j", "1+2j", "1.5-0.5j", "complex(-0.0, 1)",
		"complex(1e16, -1e-5)", "''", "'a'", "\"it's\"", "'say \"hi\"'", "'both \\' and \"'", "'tab\\tnl\\ncr\\r'",
		"'\\x00\\x7f\\x9f'", "'é ☃ 𝄞'", "'\\u200b\\xa0'", "'back\\\\slash'", "b''", "b'\\x00\\xff ~'", "b\"'\"",
		"()", "(1,)", "(1, 'a', (None, True, False))", "frozenset()", "frozenset({7})", "slice(1, None, -1)", "...",
		"NotImplemented",
	}
	for _, e := range exprs {
		v, err := c.Eval(ctx, e)
		if err != nil {
			t.Fatalf("%s: %v", e, err)
		}
		want, err := c.Eval(ctx, "repr("+e+")")
		if err != nil {
			t.Fatalf("repr(%s): %v", e, err)
		}
		if got := pyRepr(v); got != want {
			t.Errorf("repr of %s: got %q, Python %q", e, got, want)
		}
	}
}

// TestBinary runs the real main (this test binary with GORPYC_RUN_CLI=1) to check exit statuses.
func TestBinary(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"--help"}, 0, "Commands:"},
		{[]string{"help", "upload"}, 0, "--chunk-size"},
		{[]string{"eval"}, 2, ""},
		{[]string{"frobnicate"}, 2, ""},
		{[]string{"--timeout", "3s", "ping", "127.0.0.1:1"}, 3, ""},
	} {
		cmd := exec.Command(os.Args[0], c.args...)
		cmd.Env = append(os.Environ(), "GORPYC_RUN_CLI=1")
		var out bytes.Buffer
		cmd.Stdout = &out
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != c.code || !strings.Contains(out.String(), c.out) {
			t.Errorf("rpyc %v: exit %d, want %d; stdout %q", c.args, code, c.code, out.String())
		}
	}
}

func TestHelp(t *testing.T) {
	r := cli(t, "", false, "--help")
	for _, c := range commands {
		if !strings.Contains(r.stdout, "  "+c.name+" "+c.args) {
			t.Errorf("rpyc --help lacks %s", c.name)
		}
		h := cli(t, "", false, "help", c.name)
		h2 := cli(t, "", false, c.name, "--help")
		if h.code != 0 || h2.code != 0 || h.stdout != h2.stdout || !strings.Contains(h.stdout, "Usage: rpyc "+c.name) ||
			!strings.Contains(h.stdout, "--timeout") || !strings.Contains(h.stdout, "--json") {
			t.Errorf("help %s: %d %q", c.name, h.code, h.stdout)
		}
	}
	cli(t, "", false).check(t, 2, "", "no command given")
	cli(t, "", false, "help", "nope").check(t, 2, "", "unknown command")
	cli(t, "", false, "nope").check(t, 2, "", "unknown command")
	cli(t, "", false, "eval", "host").check(t, 2, "", "usage: rpyc eval HOST[:PORT] EXPR")
	cli(t, "", false, "eval", "--bogus", "host", "1").check(t, 2, "", "flag provided but not defined")
	cli(t, "", false, "--dialect", "v7", "eval", "host", "1").check(t, 2, "", "dialect")
	cli(t, "", false, "--timeout", "0s", "eval", "host", "1").check(t, 2, "", "timeout")
}
