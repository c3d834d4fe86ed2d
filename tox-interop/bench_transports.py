#!/usr/bin/python3
"""Python's side of gorpyc's connect-time comparison (BenchmarkTransportConnect in
bench_transports_test.go, which runs this script beside its Go measurements): argv MODE TARGET
N [CAFILE]. Runs N cycles of Python's own client against the Python server at TARGET (started
by the Go benchmark) and prints "median_ms=X mean_ms=Y".

One cycle: connect, conn.root, root.add(1, 2), close. MODE is
  tcp HOST:PORT       rpyc.connect
  unix PATH           rpyc.utils.factory.unix_connect
  tls HOST:PORT       rpyc.ssl_connect(ca_certs=CAFILE) (verifies the certificate)
  subproc SCRIPT      rpyc.connect_subproc([python, SCRIPT]) (a child serving over its stdio);
                      the cycle includes waiting for the child's exit, as Go's Close does"""
import statistics
import sys
import time

import rpyc
import rpyc.utils.factory


def main():
    mode, target, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    ca = sys.argv[4] if len(sys.argv) > 4 else None

    def connect():
        if mode == "tcp":
            host, port = target.rsplit(":", 1)
            return rpyc.connect(host, int(port))
        if mode == "unix":
            return rpyc.utils.factory.unix_connect(target)
        if mode == "tls":
            host, port = target.rsplit(":", 1)
            return rpyc.ssl_connect(host, int(port), ca_certs=ca)
        if mode == "subproc":
            return rpyc.connect_subproc([sys.executable, target])
        sys.exit("unknown mode " + mode)

    times = []
    for _ in range(n + 1):
        start = time.perf_counter()
        c = connect()
        assert c.root.add(1, 2) == 3
        c.close()
        if mode == "subproc":
            c.proc.wait()
        times.append(time.perf_counter() - start)
    times = times[1:]  # the first cycle warms up
    print("median_ms=%.3f mean_ms=%.3f" % (statistics.median(times) * 1e3, statistics.mean(times) * 1e3))


if __name__ == "__main__":
    main()
