#!/usr/bin/python3
"""A classic rpyc server for gorpyc's classic tests: a ThreadedServer running rpyc's core
SlaveService, as `rpyc_classic -m threaded` does, bound to 127.0.0.1 on a free port.

Prints "LISTENING 127.0.0.1:<port>" once the listener is up and serves until stdin closes.

Options: --tls CERT KEY serves TLS (SSLAuthenticator, as rpyc_classic --ssl-certfile/--ssl-keyfile);
--service classic runs ClassicService (SlaveService + MasterService: it calls back into the client
on connect, like rpyc_classic's stdio mode) instead of the core SlaveService."""
import argparse
import sys
import threading
import time

from rpyc.core.service import ClassicService, SlaveService
from rpyc.utils.server import ThreadedServer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    ap.add_argument("--service", choices=["slave", "classic"], default="slave")
    args = ap.parse_args()
    kwargs = {}
    if args.tls:
        from rpyc.utils.authenticators import SSLAuthenticator
        kwargs["authenticator"] = SSLAuthenticator(args.tls[1], args.tls[0])
    service = ClassicService if args.service == "classic" else SlaveService
    srv = ThreadedServer(service, hostname="127.0.0.1", port=0, reuse_addr=True, **kwargs)
    threading.Thread(target=srv.start, daemon=True).start()
    deadline = time.time() + 30
    while not srv.active:  # start() listens first, then sets active
        if time.time() > deadline:
            sys.exit("server did not start")
        time.sleep(0.01)
    print("LISTENING 127.0.0.1:%d" % srv.port, flush=True)
    sys.stdin.read()
    srv.close()


if __name__ == "__main__":
    main()
