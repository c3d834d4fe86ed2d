#!/usr/bin/python3
"""A small Python rpyc service (add, pid, version, sleep) served over the transport the options
name, for gorpyc's transport tests (pipes_test.go, keepalive_test.go, redial_test.go,
transports_test.go):

  (no option)        one connection over this process's standard input and output, as Python's
                     connect_stdpipes does: PipeStream.from_std() in a Channel, a Connection
                     serving the service, serve_all() until the parent closes the pipes; then
                     it exits. What a Go parent's rpyc.ConnectSubproc starts.
  --port N           a ThreadedServer on 127.0.0.1:N (0: a free port), "LISTENING 127.0.0.1:<port>"
  --unix PATH        a ThreadedServer on a Unix socket, "LISTENING unix://PATH"
  --tls CERT KEY     with --port: TLS (SSLAuthenticator, as rpyc_classic --ssl-certfile/--ssl-keyfile)

The servers serve until stdin closes. stderr shows what rpyc logs: a 6.x server refusing a v5
message logs a ValueError traceback."""
import argparse
import os
import sys
import threading
import time

import rpyc
from rpyc.core.stream import PipeStream
from rpyc.utils.server import ThreadedServer


class TransportService(rpyc.Service):
    def exposed_add(self, a, b):
        return a + b

    def exposed_pid(self):
        return os.getpid()

    def exposed_version(self):
        return rpyc.__version__

    def exposed_sleep(self, seconds):
        time.sleep(seconds)
        return seconds


def serve_stdio():
    stream = PipeStream.from_std()
    sys.stdout = sys.stderr  # the real stdout carries the connection: nothing else may go there
    conn = rpyc.Connection(TransportService(), rpyc.Channel(stream), {})
    try:
        conn.serve_all()
    finally:
        conn.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int)
    ap.add_argument("--unix")
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    args = ap.parse_args()
    if args.port is None and args.unix is None:
        serve_stdio()
        return
    kwargs = {}
    if args.tls:
        from rpyc.utils.authenticators import SSLAuthenticator
        kwargs["authenticator"] = SSLAuthenticator(args.tls[1], args.tls[0])
    if args.unix:
        srv = ThreadedServer(TransportService, socket_path=args.unix, **kwargs)
        where = "unix://" + args.unix
    else:
        srv = ThreadedServer(TransportService, hostname="127.0.0.1", port=args.port, reuse_addr=True, **kwargs)
    threading.Thread(target=srv.start, daemon=True).start()
    deadline = time.time() + 30
    while not srv.active:  # start() listens first, then sets active
        if time.time() > deadline:
            sys.exit("server did not start")
        time.sleep(0.01)
    if not args.unix:
        where = "127.0.0.1:%d" % srv.port
    print("LISTENING " + where, flush=True)
    sys.stdin.read()
    srv.close()


if __name__ == "__main__":
    main()
