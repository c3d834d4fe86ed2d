#!/usr/bin/python3
"""Python rpyc's own client, timed on the calls gorpyc's round-trip benchmark makes.

    bench_client.py HOST:PORT N   ->  prints "<ns per call> <calls per second>"
Calls root.add(1, 2) N times on one connection after a warm-up."""
import sys
import time

import rpyc


def main():
    host, port = sys.argv[1].rsplit(":", 1)
    n = int(sys.argv[2])
    conn = rpyc.connect(host, int(port))
    root = conn.root
    for _ in range(min(n, 200)):
        root.add(1, 2)
    t0 = time.perf_counter()
    for _ in range(n):
        if root.add(1, 2) != 3:
            raise SystemExit("wrong result")
    dt = time.perf_counter() - t0
    conn.close()
    print("%.1f %.1f" % (dt / n * 1e9, n / dt))


if __name__ == "__main__":
    main()
