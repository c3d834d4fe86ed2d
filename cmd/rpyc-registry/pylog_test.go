package main

import (
	"context"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorpyc/rpyc/internal/interop"
)

// pyClientScript registers, queries and unregisters through a UDP registry at 127.0.0.1:argv[1],
// with Python's own client.
const pyClientScript = `
import sys
from rpyc.utils.registry import UDPRegistryClient
c = UDPRegistryClient(ip="127.0.0.1", port=int(sys.argv[1]))
c.register(("DEMO", "X"), 18861)
c.discover("DEMO")
c.discover("NOPE")
c.unregister(18861)
`

// TestLogFormatPython runs the same Python client against Python's rpyc_registry and against
// rpyc-registry --log-format python, and compares what the two log, line by line (timestamps,
// port numbers and the bind address aside: Python's command binds 0.0.0.0, ours 127.0.0.1).
func TestLogFormatPython(t *testing.T) {
	normalize := func(log string, port int) []string {
		p := strconv.Itoa(port)
		stamp := regexp.MustCompile(`^[A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d `)
		var out []string
		for _, l := range strings.Split(strings.TrimSpace(log), "\n") {
			if !strings.Contains(l, "REGSRV/") {
				continue
			}
			l = stamp.ReplaceAllString(l, "")
			l = strings.ReplaceAll(l, ":"+p, ":PORT")
			l = strings.NewReplacer("0.0.0.0:PORT", "HOST:PORT", "127.0.0.1:PORT", "HOST:PORT").Replace(l)
			l = strings.ReplaceAll(l, "/"+p+"[", "/PORT[")
			out = append(out, l)
		}
		return out
	}
	freeUDP := func() int {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		return pc.LocalAddr().(*net.UDPAddr).Port
	}
	waitFor := func(t *testing.T, buf *interop.Buffer, s string) {
		for end := time.Now().Add(20 * time.Second); !strings.Contains(buf.String(), s); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(end) {
				t.Fatalf("no %q in:\n%s", s, buf.String())
			}
		}
	}
	for _, p := range interop.Peers(t) {
		t.Run(p.Name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			client := func(port int) {
				if out, err := p.Command(ctx, "-c", pyClientScript, strconv.Itoa(port)).CombinedOutput(); err != nil {
					t.Fatalf("client: %v\n%s", err, out)
				}
			}

			pyPort := freeUDP()
			var pyLog interop.Buffer
			cmd := p.Command(ctx, "-c", "import sys\nfrom rpyc.cli.rpyc_registry import main\n"+
				"sys.argv = ['rpyc_registry', '-m', 'UDP', '-p', sys.argv[1]]\nmain()", // Python's has no --host
				strconv.Itoa(pyPort))
			cmd.Stdout, cmd.Stderr = &pyLog, &pyLog
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cancel(); _ = cmd.Wait() })
			waitFor(t, &pyLog, "server started")
			client(pyPort)
			waitFor(t, &pyLog, "unregistering")

			goPort := freeUDP()
			_, goLog, stop := runCommand(t, "-m", "UDP", "--host", "127.0.0.1", "-p", strconv.Itoa(goPort),
				"--log-format", "python")
			client(goPort)
			waitFor(t, goLog, "unregistering")
			stop()

			want, got := normalize(pyLog.String(), pyPort), normalize(goLog.String(), goPort)
			if len(got) > len(want) {
				got = got[:len(want)] // what follows (the Go command's own "stopped") has no Python twin
			}
			if !slices.Equal(got, want) {
				t.Fatalf("rpyc-registry --log-format python logged\n  %s\nPython's rpyc_registry logged\n  %s",
					strings.Join(got, "\n  "), strings.Join(want, "\n  "))
			}
			t.Logf("identical:\n  %s", strings.Join(want, "\n  "))
		})
	}
}
