#!/usr/bin/python3
"""Drives Python rpyc's registry clients (UDPRegistryClient / TCPRegistryClient) and discovery
helpers for gorpyc's registry interop tests, and prints one JSON object per operation on stdout:
{"op": ..., "result": ...} or {"op": ..., "error": "<ExceptionClass>: <message>"}.

    registry_client.py --mode udp|tcp --addr 127.0.0.1:PORT [--timeout S] OP...

Operations (each a few arguments):
    register NAME[,NAME...] PORT   registrar.register(names, port, interface="127.0.0.1") -> bool
    unregister PORT                registrar.unregister(port) -> None
    discover NAME                  registrar.discover(name) -> [[ip, port], ...]
    list HOST|-                    registrar.list(filter_host) (None for "-") -> names or None
    rpyc-discover NAME             rpyc.discover(name, registrar=...) -> [[ip, port], ...]
    rpyc-list HOST|-               rpyc.list_services(registrar=..., filter_host=...) -> names
    connect NAME                   rpyc.connect_by_service(name, registrar=...), then
                                   root.get_service_name() and root.add(2, 3) -> [name, sum]
    sleep SECONDS"""
import argparse
import json
import sys
import time

import rpyc
from rpyc.utils.registry import TCPRegistryClient, UDPRegistryClient

ARITY = {"register": 2, "unregister": 1, "discover": 1, "list": 1, "rpyc-discover": 1,
         "rpyc-list": 1, "connect": 1, "sleep": 1}


def plain(v):
    if isinstance(v, (tuple, list)):
        return [plain(x) for x in v]
    return v


def run(reg, op, args):
    if op == "register":
        return reg.register(tuple(args[0].split(",")), int(args[1]), interface="127.0.0.1")
    if op == "unregister":
        return reg.unregister(int(args[0]))
    if op == "discover":
        return reg.discover(args[0])
    if op == "list":
        return reg.list(None if args[0] == "-" else args[0])
    if op == "rpyc-discover":
        return rpyc.discover(args[0], registrar=reg)
    if op == "rpyc-list":
        return rpyc.list_services(registrar=reg, filter_host=None if args[0] == "-" else args[0])
    if op == "connect":
        conn = rpyc.connect_by_service(args[0], registrar=reg)
        try:
            return [conn.root.get_service_name(), conn.root.add(2, 3)]
        finally:
            conn.close()
    if op == "sleep":
        time.sleep(float(args[0]))
        return None
    raise SystemExit("unknown operation %r" % op)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=["udp", "tcp"], required=True)
    ap.add_argument("--addr", required=True)
    ap.add_argument("--timeout", type=float, default=2)
    ap.add_argument("ops", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    host, port = a.addr.rsplit(":", 1)
    if a.mode == "udp":
        reg = UDPRegistryClient(ip=host, port=int(port), timeout=a.timeout)
    else:
        reg = TCPRegistryClient(ip=host, port=int(port), timeout=a.timeout)
    ops = a.ops
    while ops:
        op = ops[0]
        n = ARITY.get(op)
        if n is None or len(ops) < 1 + n:
            raise SystemExit("bad operation list at %r" % ops)
        args, ops = ops[1:1 + n], ops[1 + n:]
        try:
            out = {"op": op, "result": plain(run(reg, op, args))}
        except Exception as e:  # reported to the Go test
            out = {"op": op, "error": "%s: %s" % (type(e).__name__, e)}
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
