//go:build unix

package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gorpyc/rpyc/internal/interop"
	"github.com/gorpyc/rpyc/internal/sshtest"
)

// TestSSH: the commands reach Python servers of both versions through a real sshd with --ssh
// (the server named as the SSH host sees it), finding the dialect by themselves, also through a
// jump host (--ssh-jump) and with the flags after the command; an unknown SSH host key is refused
// (exit 3) with the fingerprint and what to do; --ssh with --tls is a usage error.
func TestSSH(t *testing.T) {
	sshd := sshtest.Start(t)
	flags := []string{"--ssh", sshd.Host(), "--ssh-key", sshd.KeyFile, "--ssh-known-hosts", sshd.KnownHosts}
	run := func(t *testing.T, args ...string) result { return cli(t, "", false, append(flags, args...)...) }
	interop.ForEachPeer(t, func(t *testing.T, p interop.Peer) {
		_, cport, _ := net.SplitHostPort(startScript(t, p, "classic_server.py"))
		_, sport, _ := net.SplitHostPort(startScript(t, p, "test_service.py"))
		dialect := "v5"
		if strings.HasPrefix(p.Version, "6.") {
			dialect = "v6"
		}
		run(t, "ping", "localhost:"+sport).check(t, 0, "pong from localhost:"+sport+" (dialect "+dialect+")", "")
		run(t, "call", "localhost:"+sport, "add", "20", "22").check(t, 0, "42\n", "")
		run(t, "eval", "localhost:"+cport, "6 * 7").check(t, 0, "42\n", "")
		run(t, "--ssh-jump", sshd.Host(), "eval", "127.0.0.1:"+cport, "'jumped'").check(t, 0, "'jumped'\n", "")
		cli(t, "", false, append([]string{"eval", "localhost:" + cport, "'after'"}, flags...)...).check(t, 0, "'after'\n", "")
	})
	empty := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(sshd.Addr)
	r := cli(t, "", false, "--ssh", sshd.Host(), "--ssh-key", sshd.KeyFile, "--ssh-known-hosts", empty, "ping", "localhost:1")
	r.check(t, 3, "", "rpyc: host key unknown: "+sshd.Addr+" presented ")
	r.check(t, 3, "", "ssh-keyscan -p "+port+" 127.0.0.1 >> ~/.ssh/known_hosts")
	run(t, "--tls", "ping", "localhost:1").check(t, 2, "", "--ssh and --tls cannot be combined")
	run(t, "call", "localhost:1", "add", "1", "2").check(t, 3, "", "/localhost:1: ssh: rejected: connect failed")
}
