//go:build unix

package server_test

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gorpyc/rpyc/internal/interop"
)

// TestInteropConnectSubproc: Python's rpyc.connect_subproc starts a Go service binary
// (examples/stdioserver, server.ServeStdio) as its child and uses it over the child's standard
// input and output, with both Python versions.
func TestInteropConnectSubproc(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "stdioserver")
	if out, err := exec.Command("go", "build", "-o", bin, "../examples/stdioserver").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, p := range interop.Peers(t) {
		t.Run(p.Name, func(t *testing.T) {
			out := p.Run(t, "subproc_client.py", bin)
			want := "42 True CALC\nexit 0"
			if got := strings.TrimSpace(out); got != want {
				t.Fatalf("Python connect_subproc printed %q, want %q", got, want)
			}
		})
	}
}
