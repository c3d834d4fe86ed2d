#!/usr/bin/python3
"""The "Speed of data" figures (issue 12): Go and Python side by side in one table.

    bench_data.py run --brine-test PATH --benchdata PATH [--reps R] [--cpu C] [...]   the table
    bench_data.py server [--raw]                        a Python rpyc ThreadedServer to measure
    bench_data.py echo HOST:PORT [--raw] [--size B] [--n N] [--mintime S] [--server-pid P]
    bench_data.py connect HOST:PORT [--n N] [--mintime S] [--server-pid P]
        -> "<ops> <wall s> <server CPU s> <client CPU s>"

tox-interop/bench_data.sh (make bench-data) builds the Go programs and runs `run`; see there. The
Python modes are the twins of internal/cmd/benchdata's: `server` serves BenchService (echo(b)
returns b) on a free loopback port, announces "LISTENING host:port" and exits when stdin closes;
`echo` times echoes of B random bytes on one connection after one warm-up echo, checking each;
`connect` times cycles of rpyc.connect + root + get_service_name + close after 20 warm-up cycles;
both run at least N operations and for at least S seconds, and report the CPU time (user +
system, /proc/PID/stat, exited threads included) of the server process P and of the client
around the timed loop. --raw turns compression
off in that process: Python compresses every frame over Channel.COMPRESSION_THRESHOLD (3000
bytes) at zlib level 1, and nothing else disables it, so the threshold is raised past any frame.

`run` measures, REPS times each, interleaved (Go, rpyc 5.3.0, rpyc 6.0.1), and prints medians:
  1-3. brine encode / decode: the brine package's compiled test binary (go test -c ./brine) runs
       its ^Benchmark(Dump|Load) benchmarks in brine/ (they read testdata/), and
       tox-interop/bench_brine.py measures Python on the same values. Every Dump<X>/Load<X> pair
       found on both sides is a row.
  4-5. echo of SIZE random bytes, default config and compression off on both sides (MB/s: 10^6
       bytes of payload, counted once per echo);
  6.   connection cycles per second;
       rows 4-6 are shown by wall-clock time and again by the CPU time of client and server
       together, which other load on the machine does not change;
       rows 1-6: every process, client and server, pinned to the one CPU C (taskset -c C).
  7.   idle connections: the Go idle client holds N connections (each made one call) on a Go
       server and on Python ThreadedServers, unpinned; after SETTLE seconds the server's RSS
       (/proc/PID/status VmRSS) and goroutine count (Go, asked over rpyc) or thread count (Python)
       are compared with before, per connection.
Nothing here fails on a timing; a wrong answer or a failed measurement exits 1 after the table."""
import argparse
import os
import random
import re
import select
import statistics
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import bench_core  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
PY = "/usr/bin/python3"
MIB = 1 << 20


# ---------------------------------------------------------------- Python twins of benchdata


def no_compression():
    from rpyc.core.channel import Channel
    Channel.COMPRESSION_THRESHOLD = sys.maxsize


def serve(raw):
    import resource
    import threading

    import rpyc
    from rpyc.utils.server import ThreadedServer

    if raw:
        no_compression()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # thousands of idle connections

    class BenchService(rpyc.Service):
        def exposed_echo(self, b):
            return b

    srv = ThreadedServer(BenchService, hostname="127.0.0.1", port=0, backlog=4096)
    print("LISTENING 127.0.0.1:%d" % srv.port, flush=True)

    def watch_stdin():
        sys.stdin.read()
        os._exit(0)
    threading.Thread(target=watch_stdin, daemon=True).start()
    srv.start()


def payload(n):
    return random.Random(12).randbytes(n)


def proc_cpu(pid):
    """User + system CPU seconds of process pid, exited threads included (/proc/PID/stat)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(server_pid, min_ops, min_time, op):
    """Runs op at least min_ops times and for at least min_time seconds; prints
    "<ops> <wall s> <server CPU s> <client CPU s>" as benchdata does."""
    s0, c0 = proc_cpu(server_pid), proc_cpu(os.getpid())
    t0 = time.perf_counter()
    ops = 0
    while ops < min_ops or time.perf_counter() - t0 < min_time:
        op()
        ops += 1
    wall = time.perf_counter() - t0
    print("%d %.6f %.6f %.6f" % (ops, wall, proc_cpu(server_pid) - s0, proc_cpu(os.getpid()) - c0))


def echo(o):
    import rpyc
    if o.raw:
        no_compression()
    host, port = o.addr.rsplit(":", 1)
    conn = rpyc.connect(host, int(port))
    root = conn.root
    data = payload(o.size)

    def one():
        if root.echo(data) != data:
            raise SystemExit("bench_data.py: echo returned different bytes")
    one()
    timed(o.server_pid, o.n, o.mintime, one)
    conn.close()


def connect(o):
    import rpyc
    host, port = o.addr.rsplit(":", 1)

    def cycle():
        c = rpyc.connect(host, int(port))
        if not c.root.get_service_name():
            raise SystemExit("bench_data.py: empty service name")
        c.close()
    for _ in range(20):
        cycle()
    timed(o.server_pid, o.n, o.mintime, cycle)


# ---------------------------------------------------------------- the harness


def peer_envs(with6):
    """[(version, env)] of the Python peers, versions checked (bench_core.py's)."""
    return [(label.split()[-1], env) for label, env in bench_core.peers()][:2 if with6 else 1]


def pinned(cpu, argv):
    return ["taskset", "-c", str(cpu), *argv]


class Server(bench_core.Server):
    """bench_core.py's server process (started under taskset -c CPU, announcing "LISTENING
    host:port", stopped by PID), checked to be pinned, with its memory and thread counts."""

    def __init__(self, argv, env, cpu):
        super().__init__(argv, env, cpu)
        if self.affinity() != str(cpu):
            self.stop()
            raise RuntimeError("%s not pinned to CPU %s (%s)" % (argv, cpu, self.affinity()))

    def status(self, key):
        with open("/proc/%d/status" % self.pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return line.split(":", 1)[1].strip()
        raise KeyError(key)

    def rss_kib(self):
        return int(self.status("VmRSS").split()[0])

    def threads(self):
        return int(self.status("Threads"))


def run_client(argv, env, cpu, timeout=600):
    out = subprocess.run(pinned(cpu, argv), env=env, capture_output=True, text=True, timeout=timeout)
    fields = out.stdout.split()
    if out.returncode != 0 or len(fields) != 4:
        raise RuntimeError("%s failed: %s %s" % (" ".join(argv), out.stdout, out.stderr[-2000:]))
    return [float(x) for x in fields]


BENCH_RE = re.compile(r"^Benchmark(Dump|Load)(\w+?)(?:-\d+)?\s+(?:\d+\s+)?([\d.]+) ns/op")


def parse_brine(text, into):
    """Adds {(op, name): [ns, ...]} from go test -bench or bench_brine.py output."""
    for line in text.splitlines():
        m = BENCH_RE.match(line.strip())
        if m:
            into.setdefault((m.group(1), m.group(2)), []).append(float(m.group(3)))


def med(xs):
    return statistics.median(xs) if xs else None


def fmt_ns(ns):
    if ns is None:
        return "-"
    for unit, div in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= div:
            return "%.3g %s" % (ns / div, unit)
    return "%.0f ns" % ns


def fmt_x(r):
    return "-" if r is None else ("%.2gx" % r if r < 10 else "%.0fx" % r)


class Table:
    def __init__(self, cols):
        self.cols = cols
        self.rows = []

    def add(self, *cells):
        self.rows.append([str(c) for c in cells])

    def print(self):
        w = [max(len(r[i]) for r in self.rows + [self.cols]) for i in range(len(self.cols))]
        line = lambda cells: "| " + " | ".join(c.ljust(w[i]) for i, c in enumerate(cells)) + " |"
        print(line(self.cols))
        print("|" + "|".join("-" * (x + 2) for x in w) + "|")
        for r in self.rows:
            print(line(r))


BRINE_LABEL = {"Small": "brine small request tuple", "Large": "brine ~1 MB nested tuple",
               "Mixed": "brine mixed random values (big ints, long str/bytes)"}
BRINE_AIM = {"Small": 30, "Large": 30}


def brine_rows(table, go, pys, failures):
    """Rows 1-3: one per Dump<X>/Load<X> pair measured on both sides."""
    names = sorted({n for (_, n) in go} & {n for (_, n) in pys[0][1]},
                   key=lambda n: (n not in BRINE_LABEL, list(BRINE_LABEL).index(n) if n in BRINE_LABEL else 0, n))
    if not names:
        failures.append("no brine benchmark pair found on both sides")
    for n in names:
        cell = lambda d: " / ".join(fmt_ns(med(d.get((op, n), []))) for op in ("Dump", "Load"))
        ratios = []
        for op in ("Dump", "Load"):
            g, p = med(go.get((op, n), [])), med(pys[0][1].get((op, n), []))
            ratios.append(p / g if g and p else None)
        aim = BRINE_AIM.get(n, 8)
        met = all(r is not None and r >= aim for r in ratios)
        label = BRINE_LABEL.get(n, "brine " + re.sub(r"(?<!^)([A-Z])", r" \1", n).lower() + " values")
        table.add(label + ", encode / decode (time per value)", cell(go),
                  *[cell(d) for _, d in pys], " / ".join(fmt_x(r) for r in ratios),
                  "≥ %dx both" % aim if aim == 30 else "≥ %dx" % aim, "met" if met else "no")


def main_run(o):
    failures = []
    pys = peer_envs(o.py6)
    me = os.path.abspath(__file__)
    bd = os.path.abspath(o.benchdata)
    commit, dirty = o.commit, ""
    if not commit:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE, capture_output=True,
                                text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=HERE,
                               capture_output=True, text=True).stdout.strip()
    cpu = o.cpu

    # rows 1-3: brine
    go_brine = {}
    py_brine = [(label, {}) for label, _ in pys]
    # rows 4-6: servers kept for all reps; one fresh client process per measurement
    results = {}
    servers = {}
    try:
        for raw in (False, True):
            flag = ["--raw"] if raw else []
            servers[("go", raw)] = Server([bd, "server"] + (["-raw"] if raw else []), None, cpu)
            for label, env in pys:
                servers[(label, raw)] = Server([PY, me, "server"] + flag, env, cpu)
        servers["floor"] = Server([bd, "tcpserver"], None, cpu)
        for rep in range(o.reps):
            out = subprocess.run(pinned(cpu, [os.path.abspath(o.brine_test), "-test.run=^$",
                                              "-test.bench=^Benchmark(Dump|Load)", "-test.benchmem",
                                              "-test.benchtime=" + o.brinetime]),
                                 cwd=os.path.join(HERE, "..", "brine"), capture_output=True, text=True, timeout=600)
            parse_brine(out.stdout, go_brine)
            if out.returncode != 0:
                failures.append("go brine benchmarks: " + " ".join(
                    line.strip() for line in out.stdout.splitlines() if not line.startswith("Benchmark"))[-1000:])
            for (label, env), (_, into) in zip(pys, py_brine):
                out = subprocess.run(pinned(cpu, [PY, os.path.join(HERE, "bench_brine.py")]), env=env,
                                     capture_output=True, text=True, timeout=600)
                parse_brine(out.stdout, into)
            for key, n_go, n_py, raw in (("echo", o.echoes, o.echoes, False), ("echo-raw", o.echoes, o.echoes, True),
                                         ("connect", o.cycles_go, o.cycles_py, False)):
                mode = "connect" if key == "connect" else "echo"
                go_args = ["-n", str(n_go), "-mintime", "%gs" % o.mintime]
                py_args = ["--n", str(n_py), "--mintime", str(o.mintime)]
                if mode == "echo":
                    go_args += ["-size", str(o.size)] + (["-raw"] if raw else [])
                    py_args += ["--size", str(o.size)] + (["--raw"] if raw else [])
                try:
                    s = servers[("go", raw)]
                    results.setdefault((key, "go"), []).append(run_client(
                        [bd, mode, "-addr", s.addr, "-server-pid", str(s.pid)] + go_args, None, cpu))
                    for label, env in pys:
                        s = servers[(label, raw)]
                        results.setdefault((key, label), []).append(run_client(
                            [PY, me, mode, s.addr, "--server-pid", str(s.pid)] + py_args, env, cpu))
                except (RuntimeError, subprocess.TimeoutExpired) as e:
                    failures.append(str(e))
            # the floor: the same socket work without RPyC (benchdata tcpserver/tcpconnect/tcpecho)
            s = servers["floor"]
            for key, argv in (("echo", ["tcpecho", "-size", str(o.size), "-n", str(o.echoes)]),
                              ("connect", ["tcpconnect", "-n", str(o.cycles_go)])):
                try:
                    results.setdefault((key, "floor"), []).append(run_client(
                        [bd, argv[0], "-addr", s.addr, "-server-pid", str(s.pid), "-mintime", "%gs" % o.mintime]
                        + argv[1:], None, cpu))
                except (RuntimeError, subprocess.TimeoutExpired) as e:
                    failures.append(str(e))
            print("  run %d/%d done" % (rep + 1, o.reps), file=sys.stderr, flush=True)
    finally:
        for s in servers.values():
            s.stop()

    idle = measure_idle(o, bd, pys, failures) if o.idle > 0 else {}

    # the table
    print()
    with open("/proc/loadavg") as f:
        load_after = " ".join(f.read().split()[:3])
    print("Speed of data (issue 12) at commit %s%s, %s; load average before: %s, after: %s; CPUs online: %d" % (
        commit, " (+ uncommitted changes)" if dirty else "", time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        o.load, load_after, os.cpu_count()))
    print("Medians of %d runs. Rows 1-6: every process, client and server, pinned to CPU %d "
          "(taskset -c %d: one core shared, Go GOMAXPROCS=1); Go and Python clients and servers are "
          "separate processes. Row 7: unpinned." % (o.reps, cpu, cpu))
    cols = ["path", "gorpyc"] + ["Python " + label for label, _ in pys] + ["ratio (vs 5.3.0)", "aim", "met?"]
    t = Table(cols)
    brine_rows(t, go_brine, py_brine, failures)
    cpu_table = Table(["path (by CPU time: client + server)", "gorpyc"] + ["Python " + label for label, _ in pys]
                      + ["ratio (vs 5.3.0)"])
    unit = o.size / 1e6
    for key, label, aim, fmt in (
            ("echo", "echo %s random bytes, default config" % size_label(o.size), 1000, fmt_mbs),
            ("echo-raw", "echo %s, compression off" % size_label(o.size), 1500, fmt_mbs),
            ("connect", "connect + root + `get_service_name` + close", None, fmt_rate)):
        per = unit if key != "connect" else 1
        # a run is (ops, wall s, server CPU s, client CPU s)
        wall = [med([r[0] * per / r[1] for r in results.get((key, k), [])]) for k in ["go"] + [lab for lab, _ in pys]]
        cpu_rate = [med([r[0] * per / (r[2] + r[3]) for r in results.get((key, k), []) if r[2] + r[3] > 0])
                    for k in ["go"] + [lab for lab, _ in pys]]
        r = wall[0] / wall[1] if wall[0] and wall[1] else None
        if aim:
            goal, met = "≥ %g GB/s" % (aim / 1000), wall[0] is not None and wall[0] >= aim
        else:
            goal, met = "≥ 10x", r is not None and r >= 10
        t.add(label, *[fmt(x) for x in wall], fmt_x(r), goal, "met" if met else "no")
        cpu_table.add(label, *[fmt(x) for x in cpu_rate],
                      fmt_x(cpu_rate[0] / cpu_rate[1] if cpu_rate[0] and cpu_rate[1] else None))
        if key in ("echo-raw", "connect") and results.get((key if key == "connect" else "echo", "floor")):
            fl = results[(key if key == "connect" else "echo", "floor")]
            fw = med([r[0] * per / r[1] for r in fl])
            fc = med([r[0] * per / (r[2] + r[3]) for r in fl if r[2] + r[3] > 0])
            what = "echo, plain TCP" if key != "connect" else "connect + 2 exchanges + close, plain TCP"
            floor_label = "  floor: the same socket work without RPyC (%s, Go)" % what
            t.add(floor_label, fmt(fw), *["" for _ in pys],
                  fmt_x(fw / wall[1] if fw and wall[1] else None), "", "")
            cpu_table.add(floor_label, fmt(fc), *["" for _ in pys],
                          fmt_x(fc / cpu_rate[1] if fc and cpu_rate[1] else None))
    if idle:
        g = idle.get("go")
        p = [idle.get(lab) for lab, _ in pys]
        r = p[0][0] / g[0] if g and p[0] and g[0] > 0 else None
        met = g is not None and g[0] <= 8 and g[1] <= 1
        t.add("idle connection on a server (%d connections)" % o.idle,
              fmt_idle(g, "goroutines"), *[fmt_idle(x, "threads") for x in p], fmt_x(r),
              "≤ 8 KiB, ≤ 1 goroutine", "met" if met else "no")
    t.print()
    print()
    print("Rows 4-6 again, as work per second of CPU used by client and server together (user + system, "
          "/proc/PID/stat): on the shared core this equals the rate above when nothing else runs, and "
          "other load on the machine does not change it.")
    cpu_table.print()
    print("Floor rows: benchdata tcpserver/tcpecho/tcpconnect, length-prefixed messages on plain TCP between "
          "two Go processes pinned the same way: what the kernel and loopback allow without RPyC; the ratio "
          "is that floor against Python rpyc 5.3.0.")
    print("Echo MB/s: 10^6 bytes of payload per second, counted once per echo (it travels both ways); "
          "idle: RSS and goroutine/thread growth per connection after %g s idle%s." % (
              o.settle, "; RSS left after all closed: " + ", ".join(
                  "%s %+.1f MiB" % (k, v[2] / 1024) for k, v in idle.items() if v) if idle else ""))
    if failures:
        print("\nFAILED measurements:", file=sys.stderr)
        for f in failures:
            print("  " + f, file=sys.stderr)
        sys.exit(1)


def size_label(n):
    return "%d MiB" % (n // MIB) if n % MIB == 0 else "%d bytes" % n


def fmt_mbs(x):
    return "-" if x is None else "%.0f MB/s" % x


def fmt_rate(x):
    return "-" if x is None else ("%.2gk/s" % (x / 1000) if x >= 1000 else "%.0f/s" % x)


def fmt_idle(v, what):
    return "-" if v is None else "%.1f KiB, %.2f %s" % (v[0], v[1], what)


def measure_idle(o, bd, pys, failures):
    """{server: (KiB per connection, goroutines or threads per connection, RSS KiB left after close)}."""
    import rpyc  # the harness runs under rpyc 5.3.0; the Go server speaks both envelopes
    out = {}
    servers, clients, stats = {}, {}, None
    try:
        every = "0-%d" % (os.cpu_count() - 1)  # unpinned
        servers["go"] = Server([bd, "server"], None, every)
        for label, env in pys:
            servers[label] = Server([PY, os.path.abspath(__file__), "server"], env, every)
        host, port = servers["go"].addr.rsplit(":", 1)
        stats = rpyc.connect(host, int(port))
        goroutines = stats.root.goroutines
        time.sleep(1)
        base = {k: (s.rss_kib(), goroutines() if k == "go" else s.threads()) for k, s in servers.items()}
        for k, s in servers.items():
            clients[k] = subprocess.Popen([bd, "idle", "-addr", s.addr, "-n", str(o.idle)], stdin=subprocess.PIPE,
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for k, c in clients.items():
            ready, _, _ = select.select([c.stdout], [], [], 300)
            line = c.stdout.readline() if ready else ""
            if not line.startswith("OPEN"):
                raise RuntimeError("idle client on %s: %r %s" % (k, line, c.stderr.read() if c.poll() is not None else ""))
        time.sleep(o.settle)
        after = {k: (s.rss_kib(), goroutines() if k == "go" else s.threads()) for k, s in servers.items()}
        for k, c in clients.items():
            c.stdin.close()
            c.wait(60)
        time.sleep(2)
        for k, s in servers.items():
            out[k] = ((after[k][0] - base[k][0]) / o.idle, (after[k][1] - base[k][1]) / o.idle,
                      s.rss_kib() - base[k][0])
    except (RuntimeError, OSError, EOFError, subprocess.TimeoutExpired) as e:
        failures.append("idle: %s" % e)
    finally:
        for c in clients.values():
            if c.poll() is None:
                c.kill()
                c.wait()
        if stats is not None:
            stats.close()
        for s in servers.values():
            s.stop()
    return out


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="mode", required=True)
    p = sub.add_parser("server")
    p.add_argument("--raw", action="store_true")
    for mode, n in (("echo", 2), ("connect", 1000)):
        p = sub.add_parser(mode)
        p.add_argument("addr")
        p.add_argument("--n", type=int, default=n, help="operations to time, at least")
        p.add_argument("--mintime", type=float, default=1.0, help="seconds to time, at least")
        p.add_argument("--server-pid", type=int, default=0, help="process whose CPU time to report")
        if mode == "echo":
            p.add_argument("--raw", action="store_true")
            p.add_argument("--size", type=int, default=16 * MIB)
    p = sub.add_parser("run")
    p.add_argument("--brine-test", required=True)
    p.add_argument("--brinetime", default="0.5s")
    p.add_argument("--benchdata", required=True)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--cpu", type=int, default=0)
    p.add_argument("--size", type=int, default=16 * MIB)
    p.add_argument("--echoes", type=int, default=2)
    p.add_argument("--mintime", type=float, default=1.0)
    p.add_argument("--cycles-go", type=int, default=3000)
    p.add_argument("--cycles-py", type=int, default=1000)
    p.add_argument("--idle", type=int, default=2000)
    p.add_argument("--settle", type=float, default=12)
    p.add_argument("--py6", type=int, default=1)
    p.add_argument("--load", default="?")
    p.add_argument("--commit", default="", help="what is measured (default: git rev-parse --short HEAD)")
    o = ap.parse_args()
    if o.mode == "server":
        serve(o.raw)
    elif o.mode == "echo":
        echo(o)
    elif o.mode == "connect":
        connect(o)
    else:
        main_run(o)


if __name__ == "__main__":
    main()
