//go:build unix

package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorpyc/rpyc/registry"
)

// TestRegistrySignals runs the real command (this test binary re-executed as main) and stops
// it with SIGTERM and SIGINT.
func TestRegistrySignals(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, exe, "--host", "127.0.0.1", "-p", "0", "-m", "tcp")
			cmd.Env = append(os.Environ(), "GORPYC_REGISTRY_RUN_MAIN=1")
			stderr, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			lines := bufio.NewScanner(stderr)
			var addr string
			var transcript []string
			re := regexp.MustCompile(`msg="registry: serving" net=tcp addr=(\S+)`)
			for addr == "" && lines.Scan() {
				transcript = append(transcript, lines.Text())
				if m := re.FindStringSubmatch(lines.Text()); m != nil {
					addr = m[1]
				}
			}
			if addr == "" {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
				t.Fatalf("no serving line:\n%s", strings.Join(transcript, "\n"))
			}
			c := &registry.TCPClient{Addr: addr}
			if err := c.Register(ctx, []string{"x"}, 1); err != nil {
				t.Fatal(err)
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			for lines.Scan() {
				transcript = append(transcript, lines.Text())
			}
			if err := cmd.Wait(); err != nil {
				t.Fatalf("exit: %v\n%s", err, strings.Join(transcript, "\n"))
			}
			log := strings.Join(transcript, "\n")
			if !strings.Contains(log, "shutting down") || !strings.Contains(log, "rpyc-registry: stopped") {
				t.Errorf("log:\n%s", log)
			}
		})
	}
}
