#!/usr/bin/python3
"""Python's own client doing what goclient_parity_test.go does with gorpyc's Go client, against
goclient_service.py; the Go test asserts that both see the same. Prints one JSON object.

    goclient_twin.py chain A_ADDR B_ADDR   objects of service A passed to B.probe (chained proxies)
    goclient_twin.py iterate ADDR          for-loops over a generator that fails part-way and a
                                           slow one (items, error, time to the first item)
    goclient_twin.py errors ADDR           which except clauses catch the service's exceptions
    goclient_twin.py bigint ADDR           sending an int beyond 4300 digits"""
import json
import sys
import time

import rpyc


def connect(addr):
    host, port = addr.rsplit(":", 1)
    return rpyc.connect(host, int(port))


def exc(e):
    return {"class": type(e).__name__.rsplit(".", 1)[-1], "args": [repr(a) for a in e.args]}


CHAIN_CASES = [
    ("list", "list", lambda r: r.data("list")),
    ("set", "set", lambda r: r.data("set")),
    ("dict", "dict", lambda r: r.data("dict")),
    ("bag", "bag", lambda r: r.bag(1, 2, 3)),
    ("point", "point", lambda r: r.point(1, 2)),
    ("gen", "gen", lambda r: r.gen(4)),
    ("gen_raise", "gen_raise", lambda r: r.gen_raise(3)),
    ("callable", "callable", lambda r: r.add),
    ("root", "root", lambda r: r),
    ("resource", "resource", lambda r: r.resource()),
    ("class", "class", lambda r: r.Point),
]


def chain(a_addr, b_addr):
    a, b = connect(a_addr), connect(b_addr)
    out = {}
    for name, kind, get in CHAIN_CASES:
        out[name] = json.loads(b.root.probe(get(a.root), kind))
    return out


def iterate(addr):
    c = connect(addr)
    out = {}
    items, err = [], None
    try:
        for x in c.root.gen_raise(3):
            items.append(x)
    except Exception as e:
        err = exc(e)
    out["gen_raise"] = {"items": items, "error": err}
    t0 = time.perf_counter()
    first = None
    got = []
    for x in c.root.slow_gen(5, 0.2):
        if first is None:
            first = time.perf_counter() - t0
        got.append(x)
    out["slow_gen"] = {"items": got, "first_s": first, "total_s": time.perf_counter() - t0}
    return out


def errors(addr):
    c = connect(addr)
    out = {}

    def which(fn, clauses):
        try:
            fn()
        except Exception as e:
            for name, cls in clauses:
                if isinstance(e, cls):
                    return {"caught_by": name, **exc(e)}
            return {"caught_by": None, **exc(e)}
        return {"caught_by": "nothing raised"}

    out["custom"] = which(lambda: c.root.custom_error("boom"),
                          [("ValueError", ValueError), ("LookupError", LookupError), ("Exception", Exception)])
    out["not_found"] = which(lambda: c.root.not_found("/nonexistent/gorpyc"),
                             [("FileNotFoundError", FileNotFoundError), ("OSError", OSError), ("Exception", Exception)])
    out["key"] = which(lambda: c.root.data("nope"),
                       [("KeyError", KeyError), ("LookupError", LookupError), ("Exception", Exception)])
    return out


def bigint(addr):
    c = connect(addr)
    try:
        c.root.echo(10 ** 5000)
    except Exception as e:
        return {"raised": exc(e)["class"], "message": str(e).split(";")[0]}
    return {"raised": None}


def main():
    cmd = sys.argv[1]
    if cmd == "chain":
        out = chain(sys.argv[2], sys.argv[3])
    elif cmd == "iterate":
        out = iterate(sys.argv[2])
    elif cmd == "errors":
        out = errors(sys.argv[2])
    elif cmd == "bigint":
        out = bigint(sys.argv[2])
    else:
        sys.exit("unknown command %r" % cmd)
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main()
