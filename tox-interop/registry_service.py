#!/usr/bin/python3
"""A Python rpyc ThreadedServer on 127.0.0.1:0 for gorpyc's discovery interop tests. With
--registry-port it auto-registers with a registry at 127.0.0.1 (UDPRegistryClient, or
TCPRegistryClient with --mode tcp) exactly as Python servers do (auto_register=True). Prints
"LISTENING 127.0.0.1:<port>" once serving; when stdin reaches EOF it closes the server (which
sends UNREGISTER), prints "CLOSED" and exits.

    registry_service.py [--registry-port N] [--mode udp|tcp] [--class-name NAME] [--alias A ...]"""
import argparse
import os
import sys
import threading
import time

import rpyc
from rpyc.utils.registry import TCPRegistryClient, UDPRegistryClient
from rpyc.utils.server import ThreadedServer


def make_service(class_name, aliases):
    def exposed_add(self, a, b):
        return a + b
    return type(class_name, (rpyc.Service,), {"ALIASES": aliases, "exposed_add": exposed_add})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--registry-port", type=int)
    ap.add_argument("--mode", choices=["udp", "tcp"], default="udp")
    ap.add_argument("--class-name", default="RegistryDemoService")
    ap.add_argument("--alias", action="append", default=[])
    a = ap.parse_args()
    kwargs = {}
    if a.registry_port:
        cls = UDPRegistryClient if a.mode == "udp" else TCPRegistryClient
        kwargs = {"registrar": cls(ip="127.0.0.1", port=a.registry_port), "auto_register": True}
    server = ThreadedServer(make_service(a.class_name, a.alias), hostname="127.0.0.1", port=0,
                            protocol_config={"allow_public_attrs": False}, **kwargs)
    threading.Thread(target=server.start, daemon=True).start()
    while not server.active:
        time.sleep(0.01)
    print("LISTENING 127.0.0.1:%d" % server.port, flush=True)
    while os.read(0, 4096):
        pass
    server.close()
    print("CLOSED", flush=True)
    os._exit(0)


if __name__ == "__main__":
    main()
