#!/usr/bin/python3
"""Python rpyc's own classic-mode figures, on the data gorpyc's classic benchmarks use
(classic/bench_test.go), against a running classic server:

    classic_bench.py HOST:PORT [--repeat N] [--skip-plain-iter] [--nodelay]

Prints one line per measure: name, then milliseconds per operation (best of N), then MB/s for
the file transfers. Measures: obtain of a 100,000-int list (rpyc.classic.obtain, one PICKLE
request); iterating the same list through its proxy with rpyc.buffiter (BUFFITER batches, what
gorpyc's Ref.Iter does) and with a plain for loop (one __next__ request per item); upload_file
and download_file of a 10 MB file of random bytes. --nodelay sets TCP_NODELAY on the client's
socket, which rpyc's SocketStream.connect can do but rpyc.classic.connect does not (gorpyc sets
it on every TCP connection)."""
import argparse
import os
import socket
import tempfile
import time

import rpyc
from rpyc.utils import classic


def best(n, fn):
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("address")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--skip-plain-iter", action="store_true")
    ap.add_argument("--nodelay", action="store_true")
    args = ap.parse_args()
    host, port = args.address.rsplit(":", 1)
    conn = classic.connect(host, int(port))
    if args.nodelay:
        conn._channel.stream.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    conn.execute("bench_list = list(range(100000))")
    proxy = conn.namespace["bench_list"]

    def obtain():
        assert len(classic.obtain(proxy)) == 100000

    def buffiter():
        assert sum(1 for _ in rpyc.buffiter(proxy)) == 100000

    def plain_iter():
        assert sum(1 for _ in proxy) == 100000

    print("rpyc %s%s" % (rpyc.__version__, " (TCP_NODELAY)" if args.nodelay else ""))
    print("obtain_list_100k %.1f ms" % (best(args.repeat, obtain) * 1e3))
    print("buffiter_list_100k %.1f ms" % (best(args.repeat, buffiter) * 1e3))
    if not args.skip_plain_iter:
        print("plain_iter_list_100k %.1f ms" % (best(1, plain_iter) * 1e3))

    size = 10 << 20
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "src.bin")
        with open(src, "wb") as f:
            f.write(os.urandom(size))
        up, down = os.path.join(d, "up.bin"), os.path.join(d, "down.bin")
        t = best(args.repeat, lambda: classic.upload_file(conn, src, up))
        print("upload_file_10MB %.1f ms %.1f MB/s" % (t * 1e3, size / t / 1e6))
        t = best(args.repeat, lambda: classic.download_file(conn, src, down))
        print("download_file_10MB %.1f ms %.1f MB/s" % (t * 1e3, size / t / 1e6))
    conn.close()


if __name__ == "__main__":
    main()
