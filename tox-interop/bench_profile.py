#!/usr/bin/python3
"""Where the time of a trivial call goes: the profiles behind the "Core v2" speed figures.

    bench_profile.py --core-test PATH --benchserver PATH --out DIR [--cpu C]

tox-interop/bench_profile.sh builds the binaries and runs this. Everything is pinned to core C.

  A. Go client -> Go server (BenchmarkCore in core_bench_test.go: gorpyc-v5, netrpc):
       go test -cpuprofile -> pprof top; syscalls per call counted with perf stat (tracepoints,
       if perf is installed) and with strace -f -c.
  B. Python rpyc 5.3.0 client -> gorpyc server (internal/cmd/benchserver -cpuprofile) and ->
       Python server (test_service.py): server pprof top (Go), server syscalls per call (perf stat
       -p and strace -f -c -p), server kernel/user split and top symbols (perf record -p).

Per-call counts are differences between a run of N1 and a run of N2 calls divided by N2 - N1, so
connection set-up and warm-up cancel out. strace slows every syscall by tens of µs, which changes
how messages batch (EAGAIN reads, epoll waits); perf stat's counts are the undisturbed ones.
Everything is written to DIR; a summary is printed."""
import argparse
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PY = "/usr/bin/python3"
SYSCALLS = ["write", "read", "epoll_pwait", "futex", "nanosleep", "sched_yield", "recvfrom", "sendto",
            "poll", "select", "pselect6", "ppoll", "clock_gettime", "getpid"]
HAVE_PERF = shutil.which("perf") is not None
HAVE_STRACE = shutil.which("strace") is not None


def sh(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, timeout=900, **kw)


def perf_events():
    ev = ["raw_syscalls:sys_enter"] + ["syscalls:sys_enter_" + s for s in SYSCALLS]
    ev += ["context-switches", "task-clock"]
    return ev


def perf_args(out):
    args = ["perf", "stat", "-x,", "-o", out]
    for e in perf_events():
        args += ["-e", e]
    # reads that found nothing (EAGAIN, -11): the netpoller's "try, then wait" pattern
    args += ["-e", "syscalls:sys_exit_read", "--filter", "ret == -11"]
    args += ["-e", "syscalls:sys_exit_recvfrom", "--filter", "ret == -11"]
    return args


def parse_perf(path):
    out = {}
    seen = {}
    with open(path) as f:
        for line in f:
            p = line.strip().split(",")
            if len(p) < 3 or line.startswith("#"):
                continue
            try:
                v = float(p[0])
            except ValueError:
                continue
            name = p[2]
            if name in ("syscalls:sys_exit_read", "syscalls:sys_exit_recvfrom"):
                name = name.replace("sys_exit_", "EAGAIN ")
            name = name.replace("syscalls:sys_enter_", "").replace("raw_syscalls:sys_enter", "ALL syscalls")
            if name == "task-clock":
                name = "task-clock (ms)"
            seen[name] = seen.get(name, 0) + 1
            out[name] = v
    return out


def parse_strace(path):
    out = {}
    with open(path) as f:
        for line in f:
            p = line.split()
            if len(p) >= 5 and re.match(r"^[\d.]+$", p[0]) and p[-1] != "total":
                calls = int(p[3])
                errors = int(p[4]) if len(p) == 6 else 0
                out[p[-1]] = out.get(p[-1], 0) + calls
                if errors and p[-1] in ("read", "recvfrom"):
                    out["EAGAIN/err " + p[-1]] = errors
            elif len(p) >= 4 and p[-1] == "total":
                out["ALL syscalls"] = int(p[3])
    return out


def per_call(a, b, n1, n2):
    keys = sorted(set(a) | set(b), key=lambda k: (k != "ALL syscalls", k))
    return {k: (b.get(k, 0) - a.get(k, 0)) / (n2 - n1) for k in keys}


def fmt_counts(d, keep=0.005):
    return "  ".join("%s %.2f" % (k, v) for k, v in d.items() if abs(v) >= keep)


def pprof_top(binary, prof, out, n=30, cum=False):
    args = ["go", "tool", "pprof", "-top", "-nodecount=%d" % n]
    if cum:
        args.append("-cum")
    r = sh(args + [binary, prof])
    with open(out, "w") as f:
        f.write(r.stdout)
    return r.stdout


def pprof_summary(text, calls):
    m = re.search(r"Total samples = ([\d.]+)(m?s)", text)
    total = float(m.group(1)) * (1e-3 if m.group(2) == "ms" else 1) if m else 0
    lines = [l for l in text.splitlines() if re.match(r"^\s+[\d.]+m?s\s", l)]
    return total / calls * 1e9 if calls else 0, lines


class Proc:
    """A pinned server announcing LISTENING."""

    def __init__(self, argv, cpu, env=None):
        self.p = subprocess.Popen(["taskset", "-c", str(cpu)] + argv, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
        ready, _, _ = select.select([self.p.stdout], [], [], 30)
        line = self.p.stdout.readline() if ready else ""
        m = re.match(r"LISTENING (\S+)", line)
        if not m:
            self.stop()
            raise SystemExit("server %s did not start: %r" % (argv, line))
        self.addr, self.pid = m.group(1), self.p.pid

    def stop(self):
        try:
            self.p.stdin.close()
        except OSError:
            pass
        try:
            self.p.wait(10)
        except subprocess.TimeoutExpired:
            self.p.terminate()
            try:
                self.p.wait(5)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()


def client(addr, n, cpu, pid=None):
    argv = ["taskset", "-c", str(cpu), PY, os.path.join(HERE, "bench_client.py"), addr, str(n), "add"]
    if pid:
        argv += ["--server-pid", str(pid)]
    r = sh(argv)
    if r.returncode:
        raise SystemExit("bench_client.py failed: %s" % r.stderr[-2000:])
    return r.stdout.split()


def attached(tool_argv, fn):
    """Run fn() while tool_argv (perf stat -p / strace -p) is attached; stop the tool with SIGINT."""
    t = subprocess.Popen(tool_argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)  # let it attach to every thread
    try:
        return fn()
    finally:
        time.sleep(0.2)
        t.send_signal(signal.SIGINT)
        try:
            t.wait(60)
        except subprocess.TimeoutExpired:
            t.kill()
            t.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--core-test", required=True)
    ap.add_argument("--benchserver", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--cpu", type=int, default=0)
    o = ap.parse_args()
    os.makedirs(o.out, exist_ok=True)
    cpu = str(o.cpu)
    pin = ["taskset", "-c", cpu]
    report = []

    def say(s=""):
        print(s, flush=True)
        report.append(s)

    say("load average at start: %s" % open("/proc/loadavg").read().split()[:3])
    # ---- A. Go client -> Go server
    for name in ("gorpyc-v5", "netrpc"):
        bench = ["-test.run=^$", "-test.bench=^BenchmarkCore$/^%s$" % name]
        say("\n==== A. Go client -> Go server, %s (one process, taskset -c %s, GOMAXPROCS=1) ====" % (name, cpu))
        n = 100000
        prof = os.path.join(o.out, "gg-%s.prof" % name)
        r = sh(pin + [o.core_test] + bench + ["-test.benchtime=%dx" % n, "-test.cpuprofile=" + prof])
        say("".join(l + "\n" for l in r.stdout.splitlines() if l.startswith("Benchmark")).rstrip())
        top = pprof_top(o.core_test, prof, os.path.join(o.out, "gg-%s.top.txt" % name))
        pprof_top(o.core_test, prof, os.path.join(o.out, "gg-%s.cum.txt" % name), n=60, cum=True)
        ns, lines = pprof_summary(top, n)
        say("pprof: %.1f µs of samples per call; top by flat (full: %s):" % (ns / 1e3, prof))
        for l in lines[:15]:
            say("   " + l.strip())
        if HAVE_PERF:
            res = []
            for calls in (10000, 30000):
                f = os.path.join(o.out, "gg-%s-perfstat-%d.txt" % (name, calls))
                sh(pin + perf_args(f) + [o.core_test] + bench + ["-test.benchtime=%dx" % calls])
                res.append(parse_perf(f))
            say("perf stat, per call (whole process = client+server): " + fmt_counts(per_call(*res, 10000, 30000)))
        if HAVE_STRACE:
            res = []
            for calls in (5000, 15000):
                f = os.path.join(o.out, "gg-%s-strace-%d.txt" % (name, calls))
                sh(pin + ["strace", "-f", "-c", "-o", f, o.core_test] + bench + ["-test.benchtime=%dx" % calls])
                res.append(parse_strace(f))
            say("strace -f -c, per call (client+server): " + fmt_counts(per_call(*res, 5000, 15000)))

    # ---- B. Python client -> server
    env5 = dict(os.environ)
    env5.pop("PYTHONPATH", None)
    for kind in ("go", "python"):
        say("\n==== B. Python rpyc 5.3.0 client -> %s server (both taskset -c %s) ====" % (kind, cpu))
        # a clean session first (the Go server profiles itself), then one for the outside tools
        prof = os.path.join(o.out, "pyclient-goserver.prof")
        argv = [PY, os.path.join(HERE, "test_service.py")]
        srv = Proc([o.benchserver, "-cpuprofile", prof] if kind == "go" else argv, cpu, env5)
        try:
            f = client(srv.addr, 30000, cpu, srv.pid)
        finally:
            srv.stop()
        say("bench_client.py 30000 calls: %.1f µs/call wall, server CPU %.1f µs/call, client CPU %.1f µs/call"
            % (float(f[0]) / 1e3, float(f[2]) / 1e3, float(f[3]) / 1e3))
        if kind == "go" and os.path.exists(prof) and os.path.getsize(prof) > 0:
            top = pprof_top(o.benchserver, prof, os.path.join(o.out, "pyclient-goserver.top.txt"))
            pprof_top(o.benchserver, prof, os.path.join(o.out, "pyclient-goserver.cum.txt"), n=60, cum=True)
            ns, lines = pprof_summary(top, 30200)
            say("pprof of the Go server: %.1f µs of samples per call; top by flat (full: %s):" % (ns / 1e3, prof))
            for l in lines[:15]:
                say("   " + l.strip())
        srv = Proc([o.benchserver] if kind == "go" else argv, cpu, env5)
        try:
            if HAVE_PERF:
                res = []
                for calls in (5000, 20000):
                    pf = os.path.join(o.out, "pyclient-%sserver-perfstat-%d.txt" % (kind, calls))
                    attached(perf_args(pf) + ["-p", str(srv.pid)], lambda: client(srv.addr, calls, cpu))
                    res.append(parse_perf(pf))
                say("perf stat -p server, per call: " + fmt_counts(per_call(*res, 5000, 20000)))
                pr = os.path.join(o.out, "pyclient-%sserver.perf" % kind)
                attached(["perf", "record", "-e", "cpu-clock", "-F", "10000", "-o", pr, "-p", str(srv.pid)],
                         lambda: client(srv.addr, 20000, cpu))
                dso = sh(["perf", "report", "-i", pr, "--no-children", "--sort=dso", "-g", "none"]).stdout
                sym = sh(["perf", "report", "-i", pr, "--no-children", "--sort=sym", "-g", "none"]).stdout
                with open(pr + ".txt", "w") as fh:
                    fh.write(dso + "\n" + sym)
                say("perf record -p server, share by object: " + "; ".join(
                    " ".join(l.split()[:2]) for l in dso.splitlines() if "%" in l and not l.startswith("#"))[:300])
                say("  top symbols (full: %s.txt):" % pr)
                for l in [l for l in sym.splitlines() if "%" in l and not l.startswith("#")][:15]:
                    say("   " + l.strip())
            if HAVE_STRACE:
                res = []
                for calls in (2000, 6000):
                    sf = os.path.join(o.out, "pyclient-%sserver-strace-%d.txt" % (kind, calls))
                    attached(["strace", "-f", "-c", "-o", sf, "-p", str(srv.pid)],
                             lambda: client(srv.addr, calls, cpu))
                    res.append(parse_strace(sf))
                say("strace -f -c -p server, per call: " + fmt_counts(per_call(*res, 2000, 6000)))
        finally:
            srv.stop()
    with open(os.path.join(o.out, "summary.txt"), "w") as f:
        f.write("\n".join(report) + "\n")


if __name__ == "__main__":
    main()
