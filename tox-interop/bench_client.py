#!/usr/bin/python3
"""Python rpyc's own client, timed on the calls gorpyc's round-trip benchmark makes.

    bench_client.py HOST:PORT N [add|echo] [--server-pid PID]
        ->  prints "<ns per call> <calls per second>"
Calls root.add(1, 2) N times on one connection after a warm-up; with "echo", calls
root.echo(payload) with a 1000-item tuple of ints and strs (about 9 kB of brine) instead.

With --server-pid PID it also reads the CPU time of the server process PID and of this client
process from /proc/<pid>/task/*/schedstat (nanoseconds on CPU, summed over the live threads)
around the timed loop, and prints four fields:
    "<ns per call> <calls per second> <server CPU ns per call> <client CPU ns per call>"
(tox-interop/bench_core.py uses this form)."""
import os
import sys
import time

import rpyc


def cpu_ns(pid):
    """CPU time in ns of every live thread of process pid (first field of schedstat)."""
    total = 0
    base = "/proc/%s/task" % pid
    for tid in os.listdir(base):
        try:
            with open("%s/%s/schedstat" % (base, tid)) as f:
                total += int(f.read().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            pass  # the thread exited meanwhile
    return total


def main():
    args = sys.argv[1:]
    server_pid = None
    if "--server-pid" in args:
        i = args.index("--server-pid")
        server_pid = int(args[i + 1])
        del args[i:i + 2]
    host, port = args[0].rsplit(":", 1)
    n = int(args[1])
    echo = len(args) > 2 and args[2] == "echo"
    payload = tuple((i, "item-%d" % i) for i in range(500))
    conn = rpyc.connect(host, int(port))
    root = conn.root
    if echo:
        def call():
            return root.echo(payload) == payload
    else:
        def call():
            return root.add(1, 2) == 3
    for _ in range(min(n, 200)):
        call()
    if server_pid is not None:
        s0, c0 = cpu_ns(server_pid), cpu_ns("self")
    t0 = time.perf_counter()
    for _ in range(n):
        if not call():
            raise SystemExit("wrong result")
    dt = time.perf_counter() - t0
    if server_pid is not None:
        s1, c1 = cpu_ns(server_pid), cpu_ns("self")
    conn.close()
    if server_pid is None:
        print("%.1f %.1f" % (dt / n * 1e9, n / dt))
    else:
        print("%.1f %.1f %.1f %.1f" % (dt / n * 1e9, n / dt, (s1 - s0) / n, (c1 - c0) / n))


if __name__ == "__main__":
    main()
