#!/usr/bin/python3
"""Python's own client copying a list of small dicts from goclient_service.py, the figures
bench_copy_test.go puts beside gorpyc's (rpyc.As, Ref.Iter):

    goclient_bench.py ADDR PICKLE_ADDR [N]

ADDR serves with Python's DEFAULT_CONFIG, PICKLE_ADDR with allow_pickle (for obtain). The list is
flat_rows(N) (N = 100,000 by default): {"id": i, "name": "item<i>", "score": i / 2}. Prints one
JSON line per measure: {"name", "items", "seconds", "items_per_s"} (best of 3, one run for the
per-item loops, which use fewer items)."""
import json
import sys
import time

import rpyc
from rpyc.utils.classic import obtain


def connect(addr):
    host, port = addr.rsplit(":", 1)
    return rpyc.connect(host, int(port))


def measure(name, items, fn, repeat=3):
    best = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        best = dt if best is None else min(best, dt)
    print(json.dumps({"name": name, "items": items, "seconds": best, "items_per_s": items / best}), flush=True)


def main():
    addr, pickle_addr = sys.argv[1], sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 100000
    small = min(n, 5000)
    c, cp = connect(addr), connect(pickle_addr)
    rows, prows = c.root.flat_rows(n), cp.root.flat_rows(n)
    assert len(rows) == n

    def for_loop():  # iterating the proxy: one __next__ per item, dicts stay proxies
        k = 0
        for _ in rows:
            k += 1
            if k == small:
                break

    def for_copy():  # a copy by hand: what a Python client does without obtain
        out = []
        for d in rows:
            out.append({k: d[k] for k in d})
            if len(out) == small:
                break

    measure("python for loop (proxies)", small, for_loop, 1)
    measure("python for loop copying each dict", small, for_copy, 1)
    measure("python rpyc.buffiter (proxies)", n, lambda: sum(1 for _ in rpyc.buffiter(rows)))
    measure("python rpyc.classic.obtain (pickle)", n, lambda: len(obtain(prows)))


if __name__ == "__main__":
    main()
