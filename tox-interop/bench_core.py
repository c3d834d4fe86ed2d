#!/usr/bin/python3
"""The Python half of the "Core v2" speed figures, and the side-by-side table of all of them.

    bench_core.py --go-bench FILE --benchserver PATH [--calls N] [--reps R] [--cpu C]

tox-interop/bench_core.sh (make bench-core) runs it; see there. Everything runs pinned to the one
core C (taskset -c C), so that client and server share it and no cross-core wake-up is timed:

  * Python client -> Python server: tox-interop/test_service.py (ThreadedServer) and
    bench_client.py, under rpyc 5.3.0 and 6.0.1;
  * Python client -> Go server: the same client against internal/cmd/benchserver (a gorpyc server);

each R times (interleaved, one fresh client connection per run, N timed calls of root.add(1, 2)
after 200 warm-up calls). The client reads the server's CPU time (schedstat, ns, summed over the
server's threads) around its timed loop. FILE holds `go test -bench=^BenchmarkCore$` output (the
Go-to-Go figures, gorpyc and net/rpc), which is parsed and shown beside them.

Figures are medians over the runs, with the best (lowest time) in brackets. Nothing here fails on
a timing; a goal not met is printed as such."""
import argparse
import os
import re
import select
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PY = "/usr/bin/python3"
RPYC6 = os.path.join(HERE, ".peers", "rpyc6", "usr", "lib", "python3", "dist-packages")


def peers():
    """(label, env) of each Python rpyc peer, its version checked."""
    out = []
    for want, path in (("5.3.0", None), ("6.0.1", RPYC6)):
        env = dict(os.environ)
        env.pop("PYTHONPATH", None)
        if path:
            env["PYTHONPATH"] = path
        got = subprocess.run([PY, "-c", "import rpyc; print(rpyc.__version__)"], env=env,
                             capture_output=True, text=True, timeout=60).stdout.strip()
        if got != want:
            sys.exit("bench_core.py: expected rpyc %s, found %r (run `make peers`)" % (want, got))
        out.append(("rpyc " + want, env))
    return out


class Server:
    """A server process pinned to cpu, which announces "LISTENING host:port"."""

    def __init__(self, argv, env, cpu):
        self.proc = subprocess.Popen(["taskset", "-c", str(cpu)] + argv, env=env, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.pid = self.proc.pid  # taskset execs the command: same pid
        ready, _, _ = select.select([self.proc.stdout], [], [], 30)
        line = self.proc.stdout.readline() if ready else ""
        m = re.match(r"LISTENING (\S+)", line)
        if not m:
            self.stop()
            raise SystemExit("bench_core.py: %s did not start (%r)" % (argv, line))
        self.addr = m.group(1)

    def affinity(self):
        with open("/proc/%d/status" % self.pid) as f:
            for line in f:
                if line.startswith("Cpus_allowed_list:"):
                    return line.split(":", 1)[1].strip()
        return "?"

    def stop(self):
        try:
            self.proc.stdin.close()  # test_service.py exits when stdin closes
        except OSError:
            pass
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


def run_client(server, env, cpu, calls):
    """One bench_client.py run: (ns/call, calls/s, server CPU ns/call, client CPU ns/call)."""
    out = subprocess.run(["taskset", "-c", str(cpu), PY, os.path.join(HERE, "bench_client.py"), server.addr,
                          str(calls), "add", "--server-pid", str(server.pid)],
                         env=env, capture_output=True, text=True, timeout=600)
    f = out.stdout.split()
    if out.returncode != 0 or len(f) != 4:
        raise SystemExit("bench_client.py failed: %s %s" % (out.stdout, out.stderr[-2000:]))
    return tuple(float(x) for x in f)


def parse_go(path):
    """BenchmarkCore/<name> lines -> {name: [ {unit: value} per run ]}."""
    runs = {}
    with open(path) as fh:
        for line in fh:
            m = re.match(r"BenchmarkCore/(\S+?)(?:-\d+)?\s+(\d+)\s+(.*)", line)
            if not m:
                continue
            vals = m.group(3).split()
            metrics = {vals[i + 1]: float(vals[i]) for i in range(0, len(vals) - 1, 2)}
            runs.setdefault(m.group(1), []).append(metrics)
    return runs


def med(xs):
    return statistics.median(xs)


def fmt_ns(xs):
    return "%8.1f µs (%6.1f)" % (med(xs) / 1e3, min(xs) / 1e3)


def fmt_rate(xs):
    return "%8.0f (%6.0f)" % (med(xs), max(xs))


def verdict(ratio, goal):
    return "%.2fx  goal >= %gx: %s" % (ratio, goal, "met" if ratio >= goal else "NOT met")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--go-bench", required=True)
    ap.add_argument("--benchserver", required=True)
    ap.add_argument("--calls", type=int, default=20000)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--cpu", type=int, default=0)
    opts = ap.parse_args()

    go = parse_go(opts.go_bench)
    ps = peers()
    servers = {}
    results = {}
    try:
        for label, env in ps:
            servers[(label, "python")] = Server([PY, os.path.join(HERE, "test_service.py")], env, opts.cpu)
            servers[(label, "go")] = Server([opts.benchserver], env, opts.cpu)
        for key, srv in servers.items():
            if srv.affinity() != str(opts.cpu):
                raise SystemExit("bench_core.py: %s server not pinned (%s)" % (key, srv.affinity()))
        for rep in range(opts.reps):
            for (label, kind), srv in servers.items():
                env = dict(ps)[label]
                results.setdefault((label, kind), []).append(run_client(srv, env, opts.cpu, opts.calls))
            print("  python run %d/%d done" % (rep + 1, opts.reps), file=sys.stderr, flush=True)
    finally:
        for srv in servers.values():
            srv.stop()

    def col(key, i):
        return [r[i] for r in results[key]]

    w = sys.stdout.write
    w("\n== Core v2 speed: trivial call root.add(1, 2) -> 3, loopback TCP, everything pinned to CPU %d ==\n"
      % opts.cpu)
    w("   median over runs (best in brackets); Go: %d runs of go test -bench, Python: %d runs x %d calls\n"
      % (len(next(iter(go.values()), [])), opts.reps, opts.calls))
    gmp = sorted({int(r.get("gomaxprocs", 0)) for rs in go.values() for r in rs})
    cpus = sorted({int(r.get("cpus", 0)) for rs in go.values() for r in rs})
    w("   Go test process: GOMAXPROCS=%s (Go derives it from the affinity mask), CPUs allowed=%s\n\n"
      % (",".join(map(str, gmp)), ",".join(map(str, cpus))))

    w("%-46s %22s %18s %22s %10s\n" % ("1. Go client -> Go server (one process)", "wall per call",
                                         "calls/s", "CPU per call (both)", "allocs"))
    names = [("gorpyc-v5", "gorpyc (v5 envelope)"), ("gorpyc-v6", "gorpyc (v6 envelope)"),
             ("netrpc", "net/rpc (gob)")]
    for name, title in names:
        rs = go.get(name)
        if not rs:
            w("   %-43s (no figures)\n" % title)
            continue
        w("   %-43s %22s %18s %22s %10.0f\n" % (title, fmt_ns([r["ns/op"] for r in rs]),
                                                 fmt_rate([r["calls/s"] for r in rs]),
                                                 fmt_ns([r["cpu-ns/call"] for r in rs]),
                                                 med([r.get("allocs/op", 0) for r in rs])))

    w("\n%-46s %22s %18s %22s %22s\n" % ("2./3. Python client (rpyc) -> server", "wall per call",
                                          "calls/s", "server CPU per call", "client CPU per call"))
    for label, _ in ps:
        for kind, title in (("python", "Python server"), ("go", "gorpyc server")):
            key = (label, kind)
            w("   %-43s %22s %18s %22s %22s\n" % ("%s client -> %s" % (label, title), fmt_ns(col(key, 0)),
                                                 fmt_rate(col(key, 1)), fmt_ns(col(key, 2)),
                                                 fmt_ns(col(key, 3))))

    w("\nRatios (medians; best-vs-best in brackets)\n")
    gg = go.get("gorpyc-v5"), go.get("gorpyc-v6")
    nr = go.get("netrpc")
    if nr:
        for rs, dial in zip(gg, ("v5", "v6")):
            if rs:
                a = [r["ns/op"] for r in rs]
                b = [r["ns/op"] for r in nr]
                w("   1. gorpyc %s vs net/rpc, speed (net/rpc time / gorpyc time):  %s  [%.2fx]\n"
                  % (dial, verdict(med(b) / med(a), 1), min(b) / min(a)))
                ca = [r["cpu-ns/call"] for r in rs]
                cb = [r["cpu-ns/call"] for r in nr]
                w("      same by CPU (net/rpc CPU / gorpyc CPU per call):              %.2fx  [%.2fx]\n"
                  % (med(cb) / med(ca), min(cb) / min(ca)))
    for (label, _), rs, dial in zip(ps, gg, ("v5", "v6")):
        if rs:
            a = [r["ns/op"] for r in rs]
            b = col((label, "python"), 0)
            w("   2. Go-to-Go (gorpyc %s) vs Python-to-Python (%s), speed:     %s  [%.2fx]\n"
              % (dial, label, verdict(med(b) / med(a), 3), min(b) / min(a)))
            ca = [r["cpu-ns/call"] for r in rs]
            cb = [s + c for s, c in zip(col((label, "python"), 2), col((label, "python"), 3))]
            w("      same by CPU (Python client+server CPU / Go process CPU):      %.2fx  [%.2fx]\n"
              % (med(cb) / med(ca), min(cb) / min(ca)))
    for label, _ in ps:
        a = col((label, "go"), 2)
        b = col((label, "python"), 2)
        w("   3. server CPU per call, Python server / gorpyc server (%s client): %s  [%.2fx]\n"
          % (label, verdict(med(b) / med(a), 3), min(b) / min(a)))
    w("\n")


if __name__ == "__main__":
    main()
