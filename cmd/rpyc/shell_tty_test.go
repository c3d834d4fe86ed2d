//go:build unix

package main

// TestShellTerminal drives `rpyc shell` in a real pseudo-terminal: tmux runs the command (this
// test binary acting as rpyc), send-keys types and capture-pane reads the screen, against a real
// Python classic server of each version. tox-interop/prepare_tools.sh installs tmux (make test
// runs it); without tmux the test is skipped, or fails under CI=true.

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gorpyc/rpyc/internal/interop"
)

// tmuxSession is one tmux server (on a private socket) running one command in a 120x40 pane.
type tmuxSession struct {
	t      *testing.T
	socket string
}

func startTmux(t *testing.T, env []string, args ...string) *tmuxSession {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("tmux is not installed (bash tox-interop/prepare_tools.sh installs it)")
		}
		t.Skip("tmux is not installed (bash tox-interop/prepare_tools.sh installs it)")
	}
	s := &tmuxSession{t: t, socket: filepath.Join(t.TempDir(), "tmux.sock")}
	self, err := filepath.Abs(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	// sh prints the command's exit status when it ends (the pane stays). It traps SIGINT, which
	// Ctrl-C sends to the whole foreground process group, so that it waits for the command
	// instead of dying.
	cmd := []string{"sh", "-c", `trap : INT; "$@"; echo "[exit status $?]"`, "sh", "env", "GORPYC_RUN_CLI=1"}
	cmd = append(cmd, env...)
	cmd = append(cmd, self)
	cmd = append(cmd, args...)
	quoted := make([]string, len(cmd))
	for i, c := range cmd {
		quoted[i] = "'" + strings.ReplaceAll(c, "'", `'\''`) + "'"
	}
	s.tmux("-f", "/dev/null", "new-session", "-d", "-s", "t", "-x", "120", "-y", "40", strings.Join(quoted, " "))
	s.tmux("set-option", "-t", "t", "remain-on-exit", "on")
	t.Cleanup(func() { _ = exec.Command("tmux", "-S", s.socket, "kill-server").Run() })
	return s
}

func (s *tmuxSession) tmux(args ...string) string {
	s.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-S", s.socket}, args...)...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("tmux %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// typeText types text literally; keys sends key names (Enter, Up, Tab, C-c, C-d).
func (s *tmuxSession) typeText(text string) { s.tmux("send-keys", "-t", "t", "-l", text) }
func (s *tmuxSession) keys(keys ...string) {
	s.tmux(append([]string{"send-keys", "-t", "t"}, keys...)...)
}

// line types text and presses Enter.
func (s *tmuxSession) line(text string) {
	s.typeText(text)
	s.keys("Enter")
}

func (s *tmuxSession) screen() string {
	return s.tmux("capture-pane", "-p", "-J", "-t", "t", "-S", "-200")
}

// waitScreen waits until the screen matches re, and returns the screen.
func (s *tmuxSession) waitScreen(re string, timeout time.Duration) string {
	s.t.Helper()
	rx := regexp.MustCompile(re)
	var scr string
	for end := time.Now().Add(timeout); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if scr = s.screen(); rx.MatchString(scr) {
			return scr
		}
	}
	s.t.Fatalf("the screen never matched %q:\n%s", re, scr)
	return ""
}

// lastLine is the last non-empty line of the screen.
func lastLine(scr string) string {
	lines := strings.Split(strings.TrimRight(scr, "\n "), "\n")
	return lines[len(lines)-1]
}

func TestShellTerminal(t *testing.T) {
	interop.ForEachPeer(t, func(t *testing.T, p interop.Peer) {
		addr := startScript(t, p, "classic_server.py")
		dialect := "v5"
		if strings.HasPrefix(p.Version, "6.") {
			dialect = "v6"
		}
		hist := filepath.Join(t.TempDir(), "history")
		env := []string{"RPYC_HISTORY=" + hist, "TERM=xterm"}
		s := startTmux(t, env, "shell", addr, "--dialect", dialect)
		const wait = 20 * time.Second
		s.waitScreen(`rpyc shell \(gorpyc .*\) connected to `+regexp.QuoteMeta(addr)+`: Python 3\.\S+ on linux, rpyc `+regexp.QuoteMeta(p.Version), wait)
		s.waitScreen(`(?m)^>>> $`, wait)

		// Expressions, statements, a multi-line block.
		s.line("x = 21")
		s.line("x * 2")
		s.waitScreen(`(?m)^42$`, wait)
		s.line("def f(a):")
		s.waitScreen(`(?m)^\.\.\. $`, wait)
		s.line("    return a + 1")
		s.line("")
		s.line("f(x)")
		s.waitScreen(`(?m)^22$`, wait)

		// History: Up recalls the last line; Ctrl-R searches.
		s.keys("Up")
		s.waitScreen(`(?m)^>>> f\(x\)$`, wait)
		s.keys("Enter")
		s.waitScreen(`(?m)^22\n(.*\n)*22$`, wait)
		s.keys("C-r")
		s.typeText("x *")
		s.waitScreen(`x \* 2`, wait)
		s.keys("Enter")
		s.waitScreen(`(?m)^42\n(.*\n)*42$`, wait)

		// Line editing: Home, then insert at the start of the line.
		s.typeText("+ 100")
		s.keys("Home")
		s.typeText("x ")
		s.keys("Enter")
		s.waitScreen(`(?m)^121$`, wait)

		// Completion of the server's names: a global, then an attribute after a dot.
		s.line("zz_unique_name = 5")
		s.typeText("zz_uni")
		s.keys("Tab")
		s.waitScreen(`(?m)^>>> zz_unique_name$`, wait)
		s.line(" + 1")
		s.waitScreen(`(?m)^6$`, wait)
		s.line("import os")
		s.typeText("os.getcw")
		s.keys("Tab")
		s.waitScreen(`(?m)^>>> os\.getcwd$`, wait)
		s.line("() == __import__('os').getcwd()")
		s.waitScreen(`(?m)^True$`, wait)

		// Ctrl-C at the prompt discards the line.
		s.typeText("this is discarded")
		s.keys("C-c")
		s.waitScreen(`(?m)^KeyboardInterrupt\n>>> $`, wait)

		// Ctrl-C during a remote call: back at the prompt at once, the late reply is discarded,
		// the next input is answered once the server is free.
		s.line("import time")
		s.line("time.sleep(3) or 'late reply'")
		time.Sleep(500 * time.Millisecond)
		start := time.Now()
		s.keys("C-c")
		s.waitScreen(`(?m)^KeyboardInterrupt\n\(the call was abandoned.*\n>>> $`, wait)
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("Ctrl-C took %v to return to the prompt", d)
		}
		s.line("'after the interrupt'")
		scr := s.waitScreen(`(?m)^'after the interrupt'\n>>> $`, wait)
		if regexp.MustCompile(`(?m)^'late reply'$`).MatchString(scr) {
			t.Errorf("the abandoned call's reply was printed:\n%s", scr)
		}

		// A remote exception keeps the shell going.
		s.line("1 / 0")
		s.waitScreen(`(?m)ZeroDivisionError: division by zero\n>>> $`, wait)

		// Ctrl-D leaves, with status 0; the history is saved.
		s.keys("C-d")
		s.waitScreen(`(?m)^\[exit status 0\]$`, wait)
		saved, err := os.ReadFile(hist)
		if err != nil || !strings.Contains(string(saved), "x = 21\n") || !strings.Contains(string(saved), "zz_unique_name = 5\n") {
			t.Fatalf("history file: %v\n%s", err, saved)
		}

		// A new shell starts with that history.
		s2 := startTmux(t, env, "--dialect", dialect, "shell", addr)
		s2.waitScreen(`(?m)^>>> $`, wait)
		s2.keys("Up")
		scr = s2.waitScreen(`(?m)^>>> \S.*$`, wait)
		if got := lastLine(scr); got != ">>> 1 / 0" {
			t.Errorf("the new shell's history starts with %q", got)
		}
		s2.keys("C-u")
		s2.line("exit()")
		s2.waitScreen(`(?m)^\[exit status 0\]$`, wait)
	})
}
