//go:build unix

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/gorpyc/rpyc/internal/interop"
	"github.com/gorpyc/rpyc/registry"
	"github.com/gorpyc/rpyc/registry/etcdstore/etcdtest"
)

// replica is an rpyc-registry process (this test binary re-executed as main).
type replica struct {
	t    *testing.T
	cmd  *exec.Cmd
	done chan struct{}
	log  *interop.Buffer
	addr string // host:port it serves on
	spec string // udp:host:port or tcp:host:port, for registry_replicas.py
}

var servingLine = regexp.MustCompile(`msg="registry: serving" net=(udp|tcp)4? addr=(\S+)`)

// startReplica runs rpyc-registry with args and waits until it serves. It is killed (by PID)
// when the test ends.
func startReplica(t *testing.T, args ...string) *replica {
	t.Helper()
	return startReplicaEnv(t, nil, args...)
}

// startReplicaEnv is startReplica with more environment variables.
func startReplicaEnv(t *testing.T, env []string, args ...string) *replica {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	r := &replica{t: t, cmd: exec.Command(exe, args...), done: make(chan struct{}), log: &interop.Buffer{}}
	r.cmd.Env = append(append(os.Environ(), "GORPYC_REGISTRY_RUN_MAIN=1"), env...)
	stderr, err := r.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	found := make(chan []string, 1)
	go func() {
		defer close(r.done)
		lines := bufio.NewScanner(stderr)
		for lines.Scan() {
			fmt.Fprintln(r.log, lines.Text())
			if m := servingLine.FindStringSubmatch(lines.Text()); m != nil {
				found <- m
			}
		}
		_ = r.cmd.Wait()
	}()
	t.Cleanup(func() {
		r.kill()
		if t.Failed() {
			t.Logf("rpyc-registry %q log:\n%s", args, r.log.String())
		}
	})
	select {
	case m := <-found:
		r.addr, r.spec = m[2], m[1]+":"+m[2]
	case <-r.done:
		t.Fatalf("rpyc-registry %q exited:\n%s", args, r.log.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("rpyc-registry %q did not start:\n%s", args, r.log.String())
	}
	return r
}

// kill kills the process with SIGKILL (a lost machine) and waits for it.
func (r *replica) kill() {
	_ = syscall.Kill(r.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		r.t.Errorf("rpyc-registry (pid %d) did not exit after SIGKILL", r.cmd.Process.Pid)
	}
}

// pyResult is one line of registry_replicas.py.
type pyResult struct {
	Op     string
	Result any
	Via    string
	Tries  int
	MS     float64
}

func runReplicasScript(t *testing.T, p interop.Peer, args ...string) []pyResult {
	t.Helper()
	out := p.Run(t, "registry_replicas.py", args...)
	var res []pyResult
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var r pyResult
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("registry_replicas.py printed %q: %v", line, err)
		}
		res = append(res, r)
	}
	return res
}

// TestRegistryEtcdReplicas is issue 14's failover scenario: two rpyc-registry replicas (each a
// UDP and a TCP process) on a three-member etcd cluster; Python's own UDPRegistryClient and
// TCPRegistryClient of both peer versions register through replica A and discover through
// replica B; then replica A and an etcd member (the leader) are killed with SIGKILL, and every
// registration is still discovered (through B, after the client's own retry), and new ones
// are accepted; then both are restarted and A answers with everything again. A third replica
// with a 2 s pruning timeout shows leases expiring as Python's registry prunes.
func TestRegistryEtcdReplicas(t *testing.T) {
	peers := interop.Peers(t)
	cluster := etcdtest.Start(t, 3)
	hosts := make([]string, 0, 3)
	for _, u := range cluster.Endpoints() {
		hosts = append(hosts, strings.TrimPrefix(u, "http://"))
	}
	backend := "etcd://" + strings.Join(hosts, ",")
	startWith := func(mode, port, timeout, prefix string) *replica {
		return startReplica(t, "--host", "127.0.0.1", "-p", port, "-m", mode, "-t", timeout,
			"--backend", backend, "--prefix", prefix, "--log-level", "debug")
	}
	start := func(mode, port string) *replica { return startWith(mode, port, "120", "/test/replicas") }
	aUDP, aTCP := start("udp", "0"), start("tcp", "0")
	bUDP, bTCP := start("udp", "0"), start("tcp", "0")
	expiring := startWith("udp", "0", "2", "/test/expiring")

	type reg struct {
		peer, name string
		port       int
	}
	var regs []reg
	for i, p := range peers {
		// Register through A (UDP and TCP); B finds them within one watch round trip.
		udpName, tcpName := fmt.Sprintf("udp-%d", i), fmt.Sprintf("tcp-%d", i)
		udpPort, tcpPort := 20000+2*i, 20001+2*i
		res := runReplicasScript(t, p,
			"register", aUDP.spec, udpName+",alias-"+udpName, fmt.Sprint(udpPort),
			"register", aTCP.spec, tcpName, fmt.Sprint(tcpPort),
			"await", bTCP.spec, udpName, fmt.Sprint(udpPort), "5",
			"await", bUDP.spec, tcpName, fmt.Sprint(tcpPort), "5",
			"await", bUDP.spec, "ALIAS-"+udpName, fmt.Sprint(udpPort), "5")
		for _, r := range res {
			if r.Result != true {
				t.Fatalf("%s: %+v", p.Name, r)
			}
		}
		t.Logf("%s: visible through B %.1f ms, %.1f ms after the acknowledged REGISTER", p.Name, res[2].MS, res[3].MS)
		regs = append(regs, reg{p.Name, udpName, udpPort}, reg{p.Name, tcpName, tcpPort})
	}
	res := runReplicasScript(t, peers[0], "register", expiring.spec, "short", "20999",
		"discover", expiring.spec, "short", "gone", expiring.spec, "short", "10")
	if res[0].Result != true || res[1].Result == nil || res[2].Result != true || res[2].MS < 1000 {
		t.Fatalf("lease expiry through Python's client: %+v", res)
	}
	t.Logf("a registration not refreshed with -t 2 was gone after %.0f ms", res[2].MS)

	// Lose a machine: replica A, and the etcd leader.
	leader := cluster.Leader()
	aUDP.kill()
	aTCP.kill()
	cluster.Member(leader).Kill()
	t.Logf("killed replica A and etcd member %d (the leader)", leader)
	for i, p := range peers {
		var args []string
		var want []string
		for _, r := range regs {
			for _, specs := range []string{aUDP.spec + "," + bUDP.spec, aTCP.spec + "," + bTCP.spec} {
				args = append(args, "discover", specs, r.name)
				want = append(want, fmt.Sprintf("%s via %s: [[127.0.0.1 %d]]", r.name, strings.Split(specs, ",")[1], r.port))
			}
		}
		for j, got := range runReplicasScript(t, p, append([]string{"--timeout", "0.5"}, args...)...) {
			if g := fmt.Sprintf("%s via %s: %v", args[3*j+2], got.Via, got.Result); g != want[j] || got.Tries%2 != 0 {
				t.Fatalf("%s: after losing A: %s after %d tries, want %s after an even number (A, then B)", p.Name, g, got.Tries, want[j])
			}
		}
		// Writes still go through (two etcd members of three are a quorum).
		res := runReplicasScript(t, p, "register", aTCP.spec+","+bTCP.spec, fmt.Sprintf("during-%d", i), "21000",
			"await", bUDP.spec, fmt.Sprintf("during-%d", i), "21000", "5")
		if res[0].Result != true || res[0].Via != bTCP.spec || res[1].Result != true {
			t.Fatalf("%s: register while A and an etcd member are down: %+v", p.Name, res)
		}
		regs = append(regs, reg{p.Name, fmt.Sprintf("during-%d", i), 21000})
	}

	// Bring them back: the member catches up, the new A answers with every registration.
	cluster.Restart(leader)
	aUDP = start("udp", strings.Split(aUDP.addr, ":")[1])
	aTCP = start("tcp", strings.Split(aTCP.addr, ":")[1])
	for _, p := range peers {
		var args []string
		for _, r := range regs {
			args = append(args, "discover", aUDP.spec, r.name, "discover", aTCP.spec, r.name)
		}
		for j, got := range runReplicasScript(t, p, args...) {
			if got.Result == nil {
				t.Fatalf("%s: %s not found through the restarted A (%s)", p.Name, args[3*j+2], args[3*j+1])
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := cluster.MemberClient(leader).Get(ctx, "/test/replicas/", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	if want := 3*len(peers) + len(peers); len(resp.Kvs) != want {
		t.Fatalf("the restarted etcd member holds %d registrations, want %d", len(resp.Kvs), want)
	}
}

// TestRegistryBackendFlags: --backend and the etcd switches, and what they refuse.
func TestRegistryBackendFlags(t *testing.T) {
	cfg, err := parseArgs([]string{"--backend", "etcd://h1:2379, h2:2379", "--prefix", "/r", "--etcd-user", "reg"})
	if err != nil || cfg.backend != "etcd://h1:2379, h2:2379" || cfg.prefix != "/r" || cfg.etcdUser != "reg" {
		t.Fatalf("parseArgs = %+v, %v", cfg, err)
	}
	if eps, err := etcdEndpoints(cfg.backend, true); err != nil || strings.Join(eps, " ") != "https://h1:2379 https://h2:2379" {
		t.Fatalf("etcdEndpoints = %q, %v", eps, err)
	}
	if cfg, _ := parseArgs(nil); cfg.backend != "memory" {
		t.Fatalf("default backend %q, want memory", cfg.backend)
	}
	for _, args := range [][]string{
		{"--backend", "redis://x"}, {"--backend", "etcd://"}, {"--backend", "etcd://a:1,,b:2"},
		{"--prefix", "/x"}, {"--etcd-user", "u"}, {"--backend", "etcd://a:1", "--prefix", "rel"},
		{"--backend", "etcd://a:1", "--etcd-cert", "c.pem"},
	} {
		if _, err := parseArgs(args); err == nil {
			t.Errorf("parseArgs(%q) accepted", args)
		}
	}
	if _, err := etcdTLS(config{etcdCACert: "/nonexistent/ca.pem"}); err == nil {
		t.Error("etcdTLS with a missing CA file succeeded")
	}
}

// TestRegistryEtcdTLSAuth runs a replica against an etcd member that requires TLS client
// certificates and authentication (a user whose role covers only the registry's prefix): the
// --etcd-cacert/--etcd-cert/--etcd-key and --etcd-user switches, with the password taken from
// RPYC_REGISTRY_ETCD_PASSWORD. A wrong password stops the command at start.
func TestRegistryEtcdTLSAuth(t *testing.T) {
	cluster := etcdtest.StartWith(t, 1, etcdtest.Options{TLS: true})
	cl := cluster.Client()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const prefix = "/secure"
	steps := []func() error{
		func() error { _, err := cl.UserAdd(ctx, "root", "rootpw"); return err },
		func() error { _, err := cl.UserGrantRole(ctx, "root", "root"); return err },
		func() error { _, err := cl.RoleAdd(ctx, "registry"); return err },
		func() error {
			_, err := cl.RoleGrantPermission(ctx, "registry", prefix+"/", clientv3.GetPrefixRangeEnd(prefix+"/"), clientv3.PermissionType(clientv3.PermReadWrite))
			return err
		},
		func() error { _, err := cl.UserAdd(ctx, "reg", "regpw"); return err },
		func() error { _, err := cl.UserGrantRole(ctx, "reg", "registry"); return err },
		func() error { _, err := cl.AuthEnable(ctx); return err },
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("etcd auth setup step %d: %v", i, err)
		}
	}
	args := []string{"--host", "127.0.0.1", "-p", "0", "-m", "tcp",
		"--backend", "etcd://" + strings.TrimPrefix(cluster.Endpoints()[0], "https://"), "--prefix", prefix,
		"--etcd-cacert", cluster.TLS.CA, "--etcd-cert", cluster.TLS.ClientCert, "--etcd-key", cluster.TLS.ClientKey,
		"--etcd-user", "reg"}
	r := startReplicaEnv(t, []string{etcdPasswordEnv + "=regpw"}, args...)
	c := &registry.TCPClient{Addr: r.addr, Timeout: 5 * time.Second}
	if err := c.Register(ctx, []string{"secure"}, 18812); err != nil {
		t.Fatal(err)
	}
	if eps, err := c.Discover(ctx, "SECURE"); err != nil || len(eps) != 1 {
		t.Fatalf("Discover = %v, %v", eps, err)
	}

	// A wrong password: the command exits 1 at start, saying why.
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Env = append(os.Environ(), "GORPYC_REGISTRY_RUN_MAIN=1", etcdPasswordEnv+"=wrong")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(string(out), "authentication failed") {
		t.Fatalf("with a wrong password: %v\n%s", err, out)
	}
}
