#!/usr/bin/python3
"""Measures Python rpyc's brine on the values of brine/bench_test.go, in the same units as
`go test -bench` (ns/op, MB/s). Prints one line per benchmark:

    BenchmarkDumpSmall  <ns/op>  <MB/s>  <bytes>

Run: taskset -c 0 /usr/bin/python3 tox-interop/bench_brine.py  (PYTHONPATH=... for another rpyc)

The "mixed" corpus (big ints beyond int64, long str with non-ASCII text, long bytes, floats,
nested tuples) is brine/testdata/mixed.brine, read by both benchmarks. It was written by
`/usr/bin/python3 tox-interop/bench_brine.py --write-mixed brine/testdata/mixed.brine`, which
generates it from a fixed seed.
"""
import os
import random
import sys
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


MIXED_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "brine", "testdata",
                          "mixed.brine")

# Characters of the mixed corpus's strings: ASCII, Latin-1, Greek, CJK and emoji (1 to 4 bytes of
# UTF-8 each), weighted towards ASCII as real text is.
ALPHABET = ("abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789 .,;:-_/" * 4 +
            "éèàçüößñÅøæ" + "αβγδεζηθλμπσω" + "中文字符数据速度" + "\U0001f600\U0001f680\U0001f40d")


def mixed_corpus(seed=12, records=64):
    """Returns the mixed benchmark value, the same for a given seed on every Python 3."""
    rnd = random.Random(seed)

    def bigint():
        digits = rnd.randint(20, 400)
        v = rnd.randrange(10 ** (digits - 1), 10 ** digits)
        return -v if rnd.random() < 0.5 else v

    def text():
        return "".join(rnd.choice(ALPHABET) for _ in range(rnd.randint(50, 3000)))

    rows = []
    for i in range(records):
        rows.append((
            i,
            bigint(),
            text(),
            bytes(rnd.getrandbits(8) for _ in range(rnd.randint(100, 4000))),
            rnd.uniform(-1e6, 1e6),
            rnd.random(),
            (rnd.randint(-2 ** 63, 2 ** 63 - 1), (rnd.uniform(-1, 1), text()[:20]), None, True),
            rnd.randint(2 ** 64, 2 ** 130),
            (bigint(), -bigint(), rnd.randint(-1000, 100000)),
        ))
    return tuple(rows)


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
    if sys.argv[1:2] == ["--write-mixed"]:
        with open(sys.argv[2], "wb") as f:
            f.write(brine.dump(mixed_corpus()))
        return
    print("python rpyc %s brine" % rpyc.__version__)
    small = brine.dump(SMALL)
    large = brine.dump(LARGE)
    bench("BenchmarkDumpSmall", lambda: brine.dump(SMALL), len(small))
    bench("BenchmarkLoadSmall", lambda: brine.load(small), len(small))
    bench("BenchmarkDumpLarge", lambda: brine.dump(LARGE), len(large))
    bench("BenchmarkLoadLarge", lambda: brine.load(large), len(large))
    with open(MIXED_FILE, "rb") as f:
        mixed = f.read()
    mixed_value = brine.load(mixed)
    assert brine.dump(mixed_value) == mixed
    bench("BenchmarkDumpMixed", lambda: brine.dump(mixed_value), len(mixed))
    bench("BenchmarkLoadMixed", lambda: brine.load(mixed), len(mixed))


if __name__ == "__main__":
    main()
