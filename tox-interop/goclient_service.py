#!/usr/bin/python3
"""A plain Python rpyc service for the parity tests of gorpyc's Go client (goclient_parity_test.go
in the repository root): what Go programs and Python's own client (goclient_twin.py) are both run
against, and compared. Binds 127.0.0.1:0, prints "LISTENING 127.0.0.1:<port>", serves with a
ThreadedServer (Python's DEFAULT_CONFIG; --allow-pickle turns allow_pickle on, for
goclient_bench.py) until stdin closes.

It offers generators that fail part-way or produce slowly (iteration), a service-defined
exception class (exceptions), containers of every kind with and without non-literal items
(copying), objects of every kind to pass to another connection, and probe(obj, kind), which
exercises an object received from a client the way Python code would and returns what it saw
as JSON (chained proxies)."""
import collections
import datetime
import gc
import json
import os
import sys
import threading
import time

import rpyc
from rpyc.utils.server import ThreadedServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from literal_cases import typed  # noqa: E402


class ServiceError(ValueError):
    """A service's own exception class, derived from a builtin one."""


class Point:
    def __init__(self, x, y):
        self.exposed_x = x
        self.exposed_y = y

    def exposed_norm2(self):
        return self.exposed_x ** 2 + self.exposed_y ** 2

    def exposed_fail(self, msg):
        raise ServiceError(msg, 7)

    def __repr__(self):
        return "Point(%r, %r)" % (self.exposed_x, self.exposed_y)

    def __str__(self):
        return "(%s, %s)" % (self.exposed_x, self.exposed_y)

    def __eq__(self, other):
        return isinstance(other, Point) and (self.exposed_x, self.exposed_y) == (other.exposed_x, other.exposed_y)

    def __hash__(self):
        return hash((self.exposed_x, self.exposed_y))


class Tagged(str):
    """A str subclass with str's repr (copies read it as a str)."""


class Bag:
    """A custom container class (not a builtin: clients build its proxy class from INSPECT)."""

    def __init__(self, items):
        self._items = list(items)

    def __len__(self):
        return len(self._items)

    def __iter__(self):
        return iter(self._items)

    def __getitem__(self, i):
        return self._items[i]

    def __contains__(self, x):
        return x in self._items

    def __repr__(self):
        return "Bag(%r)" % (self._items,)


class Resource:
    def __init__(self):
        self.exposed_log = []

    def __enter__(self):
        self.exposed_log.append("enter")
        return self

    def __exit__(self, typ, val, tb):
        self.exposed_log.append("exit-error" if typ is not None else "exit-ok")
        return False


def rows(n):
    return [{"id": i, "name": "item%d" % i, "score": i * 0.5, "tags": ["a", "b"] if i % 2 else []}
            for i in range(n)]


_rows_cache = {}

DATA = {
    "list": lambda: [1, 2, 3],
    "ints": lambda: list(range(1000)),
    "dict": lambda: {"a": 1, "b": [1, 2], "c": "three", "d": {"x": None}},
    "set": lambda: {1, 2, 3},
    "frozenset": lambda: frozenset({("a", 1), ("b", 2)}),
    "tuple_of_lists": lambda: ([1, 2], {"k": (3, 4)}),
    "nested": lambda: [{"k": [1, {2, 3}, (4.5, b"x", None)], "u": "é\n'\""}, [[[]]], {(1, 2): frozenset(["z"])}],
    "bytearray": lambda: bytearray(b"\x00\x01abc\xff"),
    "ordered": lambda: collections.OrderedDict([("b", 2), ("a", 1)]),
    "counter": lambda: collections.Counter("abracadabra"),
    "deque": lambda: collections.deque([3, 2, 1]),
    "defaultdict": lambda: collections.defaultdict(list, {"a": [1], "b": []}),
    "bigint": lambda: [10 ** 5000, 1],
    "with_datetime": lambda: [{"when": datetime.date(2024, 1, 2), "n": i} for i in range(20)] + [{"n": 20}],
    "with_points": lambda: [Point(1, 2), Point(3, 4)],
    "dict_of_points": lambda: {"p": Point(0, 1), "q": [Point(2, 3)]},
    "long_mixed": lambda: [i if i % 997 else datetime.date(2020, 1, 1 + i % 28) for i in range(150000)],
    "dict_mixed": lambda: dict([("k%d" % i, i) for i in range(3000)] + [("when", datetime.date(2024, 5, 6))]),
    "big_dict": lambda: {"k%d" % i: [i] for i in range(300000)},
    "big_set": lambda: set(range(300000)),
    "str_subclass": lambda: [Tagged("a"), 1],
}


def recursive():
    x = [1]
    x.append(x)
    return x


class GoClientParityService(rpyc.Service):
    exposed_ServiceError = ServiceError
    exposed_Point = Point

    def on_connect(self, conn):
        self._conn = conn

    def exposed_local_objects(self):
        """How many objects this connection's object table holds."""
        return len(self._conn._local_objects._dict)

    def exposed_gc_collect(self):
        gc.collect()

    def exposed_add(self, a, b):
        return a + b

    def exposed_echo(self, x):
        return x

    def exposed_kinds(self, x):
        return type(x).__name__

    def exposed_gen(self, n):
        for i in range(n):
            yield i * 10

    def exposed_gen_raise(self, n):
        """Yields n items, then raises ValueError."""
        for i in range(n):
            yield i * 10
        raise ValueError("failed after %d items" % n)

    def exposed_slow_gen(self, n, delay):
        for i in range(n):
            time.sleep(delay)
            yield i

    def exposed_custom_error(self, msg):
        raise ServiceError(msg)

    def exposed_not_found(self, path):
        return open(path)

    def exposed_rows(self, n):
        if n not in _rows_cache:
            _rows_cache[n] = rows(n)
        return _rows_cache[n]

    def exposed_flat_rows(self, n, date_every=0):
        """n small dicts {"id", "name", "score"} (goclient_bench.py, bench_copy_test.go); with
        date_every, every date_every-th row also holds a datetime.date (not a literal)."""
        key = ("flat", n, date_every)
        if key not in _rows_cache:
            out = [{"id": i, "name": "item%d" % i, "score": i * 0.5} for i in range(n)]
            if date_every:
                for i in range(0, n, date_every):
                    out[i]["when"] = datetime.date(2024, 1, 1)
            _rows_cache[key] = out
        return _rows_cache[key]

    def exposed_data(self, name):
        if name == "recursive":
            return recursive()
        return DATA[name]()

    def exposed_data_typed(self, name):
        """The typed form (literal_cases.typed) of data(name), as JSON text."""
        return json.dumps(typed(DATA[name]()))

    def exposed_point(self, x, y):
        return Point(x, y)

    def exposed_bag(self, *items):
        return Bag(items)

    def exposed_resource(self):
        return Resource()

    def exposed_probe(self, obj, kind):
        """Uses obj, an object received from the client, as Python code would, and returns what
        it saw as JSON: {operation: repr of the result, or "!ExceptionClass args"}."""
        out = {}

        def do(name, fn):
            try:
                out[name] = repr(fn())
            except BaseException as e:  # noqa: B902 - we report every outcome
                out[name] = "!%s %r" % (type(e).__name__.rsplit(".", 1)[-1], e.args)

        if kind in ("list", "set", "tuple", "bag", "dict"):
            do("len", lambda: len(obj))
            do("list", lambda: list(obj))
            do("sorted", lambda: sorted(obj))
            do("bool", lambda: bool(obj))
            do("str", lambda: str(obj))
            do("repr", lambda: repr(obj))
            do("in", lambda: (2 in obj, "a" in obj, 99 in obj))
            do("comprehension", lambda: [x for x in obj if x != 3])
            do("hash", lambda: type(hash(obj)).__name__)
            do("append", lambda: obj.append)
        if kind in ("list", "tuple", "bag"):
            do("item", lambda: (obj[0], obj[-1]))
            do("slice", lambda: list(obj[1:3]))
            do("sum", lambda: sum(obj))
            do("out of range", lambda: obj[100])
            do("enumerate", lambda: list(enumerate(obj)))
        if kind == "dict":
            do("getitem", lambda: obj["a"])
            do("missing", lambda: obj["zz"])
            do("copy", lambda: {k: obj[k] for k in obj})
            do("keys", lambda: obj.keys())
        if kind == "point":
            do("attrs", lambda: (obj.x, obj.y))
            do("method", lambda: obj.norm2())
            do("str", lambda: str(obj))
            do("repr", lambda: repr(obj))
            do("hash", lambda: hash(obj) == hash((obj.x, obj.y)))
            do("eq", lambda: obj == obj)
            do("fail", lambda: obj.fail("bad point"))
            do("missing", lambda: obj.nope)
            do("dir", lambda: [n for n in dir(obj) if n.startswith("exposed_")])
        if kind == "gen":
            do("next", lambda: next(obj))
            do("rest", lambda: list(obj))
            do("exhausted", lambda: next(obj))
        if kind == "gen_raise":
            got = []

            def loop():
                for x in obj:
                    got.append(x)

            do("loop", loop)
            out["got"] = repr(got)
        if kind == "callable":
            do("call", lambda: obj(2, 3))
            do("call str", lambda: obj("a", "b"))
            do("call kw", lambda: obj(a=1, b=2))
            do("bad call", lambda: obj(1))
            do("str", lambda: str(obj).split(" of ")[0])
        if kind == "root":
            do("add", lambda: obj.add(1, 2))
            do("echo", lambda: obj.echo((1, "x", None)))
            do("point", lambda: obj.point(3, 4).norm2())
            do("custom error", lambda: obj.custom_error("from the root"))
            do("not found", lambda: obj.not_found("/nonexistent/gorpyc"))
            do("nested list", lambda: list(obj.data("list")))
            do("generator", lambda: list(obj.gen(3)))
        if kind == "class":
            do("instance", lambda: obj(3, 4).norm2())
            do("repr", lambda: repr(obj(1, 2)))
            do("isinstance", lambda: isinstance(obj(1, 2), obj))
            do("name", lambda: obj.__name__)
        if kind == "resource":
            def block():
                with obj as r:
                    return list(r.log)
            do("with", block)
            do("log", lambda: list(obj.log))

            def failing():
                with obj:
                    raise KeyError("inside")
            do("with error", failing)
            do("log after", lambda: list(obj.log))
        return json.dumps(out, sort_keys=True)


def main():
    # --allow-pickle (for goclient_bench.py's obtain) is the only change to DEFAULT_CONFIG.
    config = {"allow_pickle": "--allow-pickle" in sys.argv[1:]}
    srv = ThreadedServer(GoClientParityService, hostname="127.0.0.1", port=0, protocol_config=config)
    threading.Thread(target=srv.start, daemon=True).start()
    while not srv.active:
        time.sleep(0.005)
    print("LISTENING 127.0.0.1:%d" % srv.port, flush=True)
    while os.read(0, 1024):
        pass
    srv.close()


if __name__ == "__main__":
    sys.exit(main())
