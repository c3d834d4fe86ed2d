#!/usr/bin/python3
"""Measures Python rpyc's brine on the values of brine/bench_test.go, in the same units as
`go test -bench` (ns/op, MB/s). Prints one line per benchmark:

    BenchmarkDumpSmall  <ns/op>  <MB/s>  <bytes>

Run: /usr/bin/python3 tox-interop/bench_brine.py  (PYTHONPATH=... for another rpyc)
"""
import time

import rpyc
from rpyc.core import brine

SMALL = (1, 12345, (8, (2, (
    (3, ("svc.MyService", 608496832, 140207253238928)),
    (1, "get_status"),
    (1, (42, "fast", 1.5, True, None)),
    (1, ()),
))))

LARGE = tuple((i, -i * 1000003, "key-%06d" % i, b"v" * 64, i * 0.25, (None, True, False))
              for i in range(10000))


def bench(name, fn, nbytes, min_time=1.0):
    n = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        dt = time.perf_counter() - t0
        if dt >= min_time:
            break
        n = max(n * 2, int(n * min_time / max(dt, 1e-9) * 1.2))
    ns = dt / n * 1e9
    print("%-22s %14.1f ns/op %10.2f MB/s %9d bytes" % (name, ns, nbytes / (ns / 1e9) / 1e6, nbytes))


def main():
    print("python rpyc %s brine" % rpyc.__version__)
    small = brine.dump(SMALL)
    large = brine.dump(LARGE)
    bench("BenchmarkDumpSmall", lambda: brine.dump(SMALL), len(small))
    bench("BenchmarkLoadSmall", lambda: brine.load(small), len(small))
    bench("BenchmarkDumpLarge", lambda: brine.dump(LARGE), len(large))
    bench("BenchmarkLoadLarge", lambda: brine.load(large), len(large))


if __name__ == "__main__":
    main()
