//go:build unix

package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/gorpyc/rpyc/internal/interop"
)

// TestRegistryFlagsMatchPython parses the same command lines with Python's rpyc_registry
// (plumbum, through tox-interop/registry_cli_flags.py) and with parseArgs: both must accept or
// refuse each one, with the same meaning.
func TestRegistryFlagsMatchPython(t *testing.T) {
	cases := [][]string{
		{}, {"-p", "1"}, {"-p1"}, {"-p=5"}, {"--port=7"}, {"--port", "8"}, {"--port", "-1"}, {"-p", "70000"},
		{"-p", "0x10"}, {"-p", "010"}, {"-p", "٣"}, {"-p", "65535"}, {"-p", "0"},
		{"-mtcp"}, {"-m", "tcp", "-6"}, {"--mode=Tcp"}, {"-m", "foo"}, {"-m", "UDP", "--mode", "TCP"},
		{"-6"}, {"-6", "-6"}, {"-6q"}, {"-6q", "x"}, {"-6p5"}, {"-qx"}, {"-q"}, {"-q", ""}, {"--quiet="},
		{"--quiet=1"}, {"--ipv6=true"}, {"--ipv6"},
		{"-l", "false"}, {"-l", ""}, {"-l", "0"}, {"--listing=no"}, {"--listing="}, {"-l"}, {"-lyes"},
		{"-t", "5"}, {"-t", "-3"}, {"-t=-3"}, {"-t", "1.5"}, {"-t", " 7 "}, {"-t", "+7"},
		{"--timeout=1_000"}, {"-t1_0"}, {"-t", "1__0"}, {"-t", "_1"},
		{"--logfile", "/tmp/x"}, {"--logfile=/tmp/y"}, {"--logfile"},
		{"--por", "5"}, {"-P", "5"}, {"-x"}, {"extra"}, {"-p", "5", "--", "-q"}, {"--"},
		{"-p", "5", "-p", "6"}, {"-m", "tcp", "-p", "1", "-t", "2", "-l", "x", "-q", "y", "-6", "--logfile", "f"},
	}
	arg, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	interop.ForEachPeer(t, func(t *testing.T, p interop.Peer) {
		lines := strings.Split(strings.TrimSpace(p.Run(t, "registry_cli_flags.py", string(arg))), "\n")
		if len(lines) != len(cases) {
			t.Fatalf("got %d lines for %d command lines", len(lines), len(cases))
		}
		for i, line := range lines {
			var py struct {
				OK      bool
				Mode    string
				IPv6    bool
				Port    int
				Logfile *string
				Quiet   bool
				Timeout int64
				Listing bool
			}
			if err := json.Unmarshal([]byte(line), &py); err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			got, err := parseArgs(cases[i])
			if !py.OK {
				if err == nil {
					t.Errorf("%q: Python refuses it, Go accepts it (%+v)", cases[i], got)
				}
				continue
			}
			if err != nil {
				t.Errorf("%q: Python accepts it (%s), Go refuses it: %v", cases[i], line, err)
				continue
			}
			logfile := ""
			if py.Logfile != nil {
				logfile = *py.Logfile
			}
			if got.mode != py.Mode || got.ipv6 != py.IPv6 || got.port != py.Port || got.logfile != logfile ||
				got.quiet != py.Quiet || got.timeout != py.Timeout || got.listing != py.Listing {
				t.Errorf("%q: Python %s, Go %+v", cases[i], line, got)
			}
		}
	})
}

// TestRegistryPythonClientsAgainstCommand: Python's registry clients against the Go command,
// started with Python-style switches.
func TestRegistryPythonClientsAgainstCommand(t *testing.T) {
	interop.ForEachPeer(t, func(t *testing.T, p interop.Peer) {
		for _, mode := range []string{"udp", "tcp"} {
			t.Run(mode, func(t *testing.T) {
				addr, _, _ := runCommand(t, "--host", "127.0.0.1", "-p0", "-m", mode, "-l", "true", "-t", "60")
				out := p.Run(t, "registry_client.py", "--mode", mode, "--addr", addr,
					"register", "echo,Echo2", "18861", "rpyc-discover", "echo2", "rpyc-list", "127.0.0.1")
				want := `{"op": "register", "result": true}
{"op": "rpyc-discover", "result": [["127.0.0.1", 18861]]}
{"op": "rpyc-list", "result": ["ECHO", "ECHO2"]}`
				if strings.TrimSpace(out) != want {
					t.Fatalf("registry_client.py printed\n%s\nwant\n%s", out, want)
				}
			})
		}
	})
}
