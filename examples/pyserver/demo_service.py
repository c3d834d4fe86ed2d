#!/usr/bin/python3
"""A small Python rpyc service for gorpyc's demos. Binds 127.0.0.1 on a free port (or --port),
prints "LISTENING 127.0.0.1:<port>" and serves until killed (or --oneshot: one connection)."""
import argparse
import sys
import threading
import time

import rpyc
from rpyc.utils.registry import TCPRegistryClient
from rpyc.utils.server import OneShotServer, ThreadedServer


class DemoService(rpyc.Service):
    def exposed_add(self, a, b):
        return a + b

    def exposed_greet(self, name, greeting="Hello"):
        return "%s, %s! (from Python rpyc %s)" % (greeting, name, rpyc.__version__)

    def exposed_version(self):
        return rpyc.__version__

    def exposed_inventory(self):
        """A dict: it travels as a netref, not by value."""
        return {"apples": 3, "pears": 5, "plums": 0}

    def exposed_for_each(self, items, callback):
        """Calls a client-supplied callback for every item, returns how many calls were made."""
        for item in items:
            callback(item)
        return len(items)

    def exposed_divide(self, a, b):
        return a / b


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--oneshot", action="store_true")
    ap.add_argument("--registry", help="auto-register with the TCP registry at HOST:PORT")
    args = ap.parse_args()
    cls = OneShotServer if args.oneshot else ThreadedServer
    kwargs = {}
    if args.registry:
        host, port = args.registry.rsplit(":", 1)
        kwargs = {"registrar": TCPRegistryClient(ip=host, port=int(port)), "auto_register": True}
    srv = cls(DemoService, hostname="127.0.0.1", port=args.port,
              protocol_config={"allow_public_attrs": False}, **kwargs)
    t = threading.Thread(target=srv.start, daemon=True)
    t.start()
    while not srv.active:  # start() calls listen(); announce only once connections are accepted
        time.sleep(0.005)
    print("LISTENING 127.0.0.1:%d" % srv.port, flush=True)
    t.join()


if __name__ == "__main__":
    sys.exit(main())
