#!/usr/bin/python3
"""The Python anchor of the "echo 16 MiB random bytes" rows (issue 12): root.echo(data) of N bytes,
Python client -> Python server, with rpyc's default channel or with compression off.

    bench_echo.py serve [--raw]                  an echo server; prints "LISTENING 127.0.0.1:<port>",
                                                 exits when stdin closes
    bench_echo.py client ADDR [--size N] [--reps R] [--raw] [--text]
                                                 prints "<MB/s> <seconds per echo>" (best of R)

--raw turns compression off in that process (Channel.COMPRESSION_THRESHOLD); give it to both the
server and the client for the "compression off" row. --text echoes repetitive text instead of
random bytes. MB/s counts the payload once per echo, as BenchmarkEcho16MiB does. Pin both
processes to one core (taskset -c 0) to compare with the Go figures."""
import argparse
import os
import sys
import threading
import time

import rpyc
from rpyc.core.channel import Channel
from rpyc.utils.server import ThreadedServer


class EchoService(rpyc.Service):
    def exposed_echo(self, x):
        return x


def payload(n, text):
    if text:
        line = b"the quick brown fox jumps over the lazy dog 0123456789\n"
        return (line * (n // len(line) + 1))[:n]
    return os.urandom(n)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["serve", "client"])
    ap.add_argument("addr", nargs="?")
    ap.add_argument("--size", type=int, default=16 << 20)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--raw", action="store_true")
    ap.add_argument("--text", action="store_true")
    a = ap.parse_args()
    if a.raw:
        Channel.COMPRESSION_THRESHOLD = 1 << 62
    if a.mode == "serve":
        srv = ThreadedServer(EchoService, hostname="127.0.0.1", port=0,
                             protocol_config={"sync_request_timeout": 600})
        print("LISTENING 127.0.0.1:%d" % srv.port, flush=True)
        threading.Thread(target=srv.start, daemon=True).start()
        sys.stdin.read()
        return
    host, port = a.addr.rsplit(":", 1)
    conn = rpyc.connect(host, int(port), config={"sync_request_timeout": 600})
    data = payload(a.size, a.text)
    best = None
    for _ in range(a.reps + 1):  # the first is a warm-up
        t = time.perf_counter()
        got = conn.root.echo(data)
        dt = time.perf_counter() - t
        if got != data:
            sys.exit("bench_echo.py: the echo differs")
        best = dt if best is None else min(best, dt)
    print("%.1f %.4f" % (a.size / best / 1e6, best))


if __name__ == "__main__":
    main()
