#!/usr/bin/python3
"""Python rpyc's own client, timed on the calls gorpyc's round-trip benchmark makes.

    bench_client.py HOST:PORT N [echo]  ->  prints "<ns per call> <calls per second>"
Calls root.add(1, 2) N times on one connection after a warm-up; with "echo", calls
root.echo(payload) with a 1000-item tuple of ints and strs (about 9 kB of brine) instead."""
import sys
import time

import rpyc


def main():
    host, port = sys.argv[1].rsplit(":", 1)
    n = int(sys.argv[2])
    echo = len(sys.argv) > 3 and sys.argv[3] == "echo"
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
    t0 = time.perf_counter()
    for _ in range(n):
        if not call():
            raise SystemExit("wrong result")
    dt = time.perf_counter() - t0
    conn.close()
    print("%.1f %.1f" % (dt / n * 1e9, n / dt))


if __name__ == "__main__":
    main()
