#!/usr/bin/python3
"""Python's connection setup, the twin of gorpyc's BenchmarkConnectCycle (bench_connect_test.go):
cycles of

    c = rpyc.connect(host, port)      # a rpyc.utils.server.ThreadedServer of a trivial service
    c.root.get_service_name()
    c.close()

with the client and the server each Python rpyc (whichever the interpreter imports), in separate
processes: this script starts the server as its own child (`bench_connect.py server`, which binds
127.0.0.1:0, prints "LISTENING 127.0.0.1:<port>" and serves until stdin closes), then times the
client loop in this process.

    bench_connect.py [--n N] [--mintime S]     N cycles at least (1000), for S seconds at least (1)
    -> "<cycles> <wall s> <client CPU s> <server CPU s>"

after 20 warm-up cycles. CPU times are user + system from /proc/<pid>/stat (the server's includes
its exited connection threads). Run it under `taskset -c 0` for the pinned figure: the server
child inherits the affinity."""
import argparse
import os
import subprocess
import sys
import threading
import time

import rpyc
from rpyc.utils.server import ThreadedServer


class CycleService(rpyc.Service):
    """The trivial service (get_service_name is built in)."""

    def exposed_add(self, a, b):
        return a + b


def serve():
    server = ThreadedServer(CycleService, hostname="127.0.0.1", port=0)
    server._listen()  # listening before it says so (start() would do it on its thread)
    print("LISTENING 127.0.0.1:%d" % server.port, flush=True)
    threading.Thread(target=server.start, daemon=True).start()
    sys.stdin.read()  # until the parent closes it
    server.close()


def cpu_seconds(pid):
    """User + system CPU of process pid, exited threads included (fields 14-17 of stat)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = sum(int(x) for x in fields[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", nargs="?", default="run", choices=["run", "server"])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--mintime", type=float, default=1.0)
    args = ap.parse_args()
    if args.mode == "server":
        serve()
        return
    srv = subprocess.Popen([sys.executable, os.path.abspath(__file__), "server"],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        line = srv.stdout.readline().split()
        if len(line) != 2 or line[0] != "LISTENING":
            sys.exit("server printed %r" % line)
        host, port = line[1].rsplit(":", 1)
        port = int(port)

        def cycle():
            c = rpyc.connect(host, port)
            if c.root.get_service_name() != "CYCLE":
                sys.exit("get_service_name: %r" % c.root.get_service_name())
            c.close()

        for _ in range(20):
            cycle()
        me = os.getpid()
        cpu0, scpu0, t0 = cpu_seconds(me), cpu_seconds(srv.pid), time.perf_counter()
        n = 0
        while n < args.n or time.perf_counter() - t0 < args.mintime:
            cycle()
            n += 1
        wall = time.perf_counter() - t0
        cpu, scpu = cpu_seconds(me) - cpu0, cpu_seconds(srv.pid) - scpu0
        print("%d %.6f %.6f %.6f" % (n, wall, cpu, scpu), flush=True)
    finally:
        srv.stdin.close()
        try:
            srv.wait(10)
        except subprocess.TimeoutExpired:
            srv.kill()
            srv.wait()


if __name__ == "__main__":
    main()
