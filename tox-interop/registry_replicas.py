#!/usr/bin/python3
"""Drives Python rpyc's own registry clients (UDPRegistryClient, TCPRegistryClient) against
several gorpyc registry replicas sharing an etcd backend, for cmd/rpyc-registry's
TestRegistryEtcdReplicas, and prints one JSON object per operation on stdout.

    registry_replicas.py [--timeout S] OP...

A registry is SPEC = udp:HOST:PORT or tcp:HOST:PORT; SPECS is a comma-separated list of them,
tried in order, the whole list up to three times, as a client configured with several
registries would (the retry is the client's: Python's clients take one registry each).

Operations:
    register SPECS NAME[,NAME...] PORT  register through the first registry that acknowledges
                                        -> {"result": true, "via": SPEC, "tries": N}
    await SPEC NAME PORT SECONDS        poll discover(NAME) until (127.0.0.1, PORT) is listed
                                        -> {"result": bool, "ms": elapsed}
    gone SPEC NAME SECONDS              poll discover(NAME) until it is empty -> idem
    discover SPECS NAME                 discover through the first registry listing NAME
                                        -> {"result": [[ip, port], ...], "via": SPEC, "tries": N}"""
import argparse
import json
import time

from rpyc.utils.registry import TCPRegistryClient, UDPRegistryClient


def client(spec, timeout):
    mode, host, port = spec.split(":")
    cls = UDPRegistryClient if mode == "udp" else TCPRegistryClient
    return cls(ip=host, port=int(port), timeout=timeout)


def discover(reg, name):
    try:
        return [list(x) for x in reg.discover(name)]
    except OSError:  # TCP: connection refused by a dead registry
        return []


def first(specs, timeout, fn, rounds=3):
    """Tries each registry in order, the whole list up to rounds times (a client's retry)."""
    tries = 0
    for _ in range(rounds):
        for spec in specs.split(","):
            tries += 1
            res = fn(client(spec, timeout))
            if res:
                return {"result": res, "via": spec, "tries": tries}
    return {"result": None, "tries": tries}


def poll(spec, timeout, seconds, done):
    reg = client(spec, timeout)
    start = time.monotonic()
    while True:
        if done(reg):
            return {"result": True, "ms": round((time.monotonic() - start) * 1000, 1)}
        if time.monotonic() - start > seconds:
            return {"result": False, "ms": round((time.monotonic() - start) * 1000, 1)}
        time.sleep(0.005)


def register(reg, names, port):
    try:
        return reg.register(tuple(names.split(",")), int(port), interface="127.0.0.1")
    except OSError:
        return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--timeout", type=float, default=1)
    ap.add_argument("ops", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    ops = a.ops
    arity = {"register": 3, "await": 4, "gone": 3, "discover": 2}
    while ops:
        op, n = ops[0], arity.get(ops[0])
        if n is None or len(ops) < 1 + n:
            raise SystemExit("bad operation list at %r" % ops)
        args, ops = ops[1:1 + n], ops[1 + n:]
        if op == "register":
            out = first(args[0], a.timeout, lambda reg: register(reg, args[1], args[2]))
        elif op == "await":
            want = ["127.0.0.1", int(args[2])]
            out = poll(args[0], a.timeout, float(args[3]), lambda reg: want in discover(reg, args[1]))
        elif op == "gone":
            out = poll(args[0], a.timeout, float(args[2]), lambda reg: not discover(reg, args[1]))
        else:
            out = first(args[0], a.timeout, lambda reg: discover(reg, args[1]))
        out["op"] = op
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
