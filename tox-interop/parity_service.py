#!/usr/bin/python3
"""The Python twin of the Go parity service (server/parity_test.go): a plain rpyc.Service with the
same surface, written as a Python programmer would. tox-interop/parity_client.py runs the same
operations against both and server/parity_test.go asserts identical results.

    parity_service.py

Serves ParityService with a ThreadedServer on 127.0.0.1 once per access-control configuration
and prints one line per server, "LISTENING 127.0.0.1:<port> <config>", for the configurations
default (Python's DEFAULT_CONFIG), public (allow_public_attrs, allow_setattr, allow_delattr),
nosafe (allow_safe_attrs off) and all (allow_all_attrs). Runs until stdin closes."""
import os
import sys
import threading
import time

import rpyc
from rpyc.utils.server import ThreadedServer


class Point:
    def __init__(self, x, y):
        self.exposed_x = x
        self.exposed_y = y

    def exposed_norm2(self):
        return self.exposed_x ** 2 + self.exposed_y ** 2

    def __str__(self):
        return "Point(%d, %d)" % (self.exposed_x, self.exposed_y)


class MyClass:
    """rpyc's own tests/test_attr_access.py MyClass."""

    def __add__(self, other):
        return self.foo() + str(other)

    def foo(self):
        return "foo"

    def bar(self):
        return "bar"

    def spam(self):
        return "spam"

    def _privy(self):
        return "privy"

    def exposed_foobar(self):
        return "Fee Fie Foe Foo"


class Countdown:
    """A hand-written iterator (__iter__ and __next__)."""

    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return self

    def __next__(self):
        if self.n <= 0:
            raise StopIteration
        self.n -= 1
        return self.n + 1


class Buffer:
    def __init__(self):
        self.data = b""

    def exposed_write(self, s):
        if isinstance(s, str):
            self.data += s.encode()
        else:
            self.data += s
        return len(s)

    def exposed_read(self, n=-1):
        if n is None or n < 0:
            n = len(self.data)
        out, self.data = self.data[:n], self.data[n:]
        return out


class Resource:
    def __init__(self, log):
        self.exposed_name = "res"
        self.log = log

    def __enter__(self):
        self.log.append("enter")
        return self

    def __exit__(self, typ, val, tb):
        self.log.append("exit-error" if typ is not None else "exit-ok")
        return False


class ParityService(rpyc.Service):
    exposed_version = "parity-1"

    def __init__(self):
        self.secret = "hidden"
        self._secret = "hidden"
        self.log = []
        self.conn = None

    def on_connect(self, conn):
        self.conn = conn

    # values and conversions
    def exposed_add(self, a, b):
        return a + b

    def exposed_add_big(self, a, b):
        return a + b

    def exposed_echo(self, x):
        return x

    def exposed_negate(self, flag):
        return not flag

    def exposed_scale(self, x, k):
        return x * k

    def exposed_concat(self, *parts):
        return "".join(parts)

    def exposed_total(self, xs):
        return sum(xs)

    def exposed_sum_values(self, m):
        return sum(m[k] for k in m)

    def exposed_keys_of(self, m):
        return tuple(sorted(m))

    def exposed_nested(self, xss):
        return sum(sum(xs) for xs in xss)

    def exposed_point_norm(self, p):
        return p["x"] ** 2 + p["y"] ** 2

    def exposed_big_echo(self, n):
        return n

    # keyword arguments and defaults
    def exposed_greet(self, name, greeting="Hello", punct="!"):
        return "%s, %s%s" % (greeting, name, punct)

    def exposed_resize(self, width, height=None, *, unit="px"):
        return (width, height, unit)

    def exposed_join(self, *parts, sep=" "):
        return sep.join(parts)

    def exposed_options(self, **kw):
        return tuple(sorted(kw.items()))

    # containers
    def exposed_numbers(self):
        return (1, 2, 3, 4, 5)

    def exposed_numbers_ref(self):
        return [10, 20, 30, 40, 50]

    def exposed_scores(self):
        return {"alice": 1, "bob": 2, "carol": 3}

    def exposed_square(self):
        return lambda x: x * x

    # iteration
    def exposed_count(self, n):
        for i in range(n):
            yield i

    def exposed_pairs(self):
        yield ("a", 1)
        yield ("b", 2)

    def exposed_chan(self, n):
        return (i * i for i in range(n))

    def exposed_countdown(self, n):
        return Countdown(n)

    # objects
    def exposed_get_point(self):
        return Point(3, 4)

    def exposed_my_class(self):
        return MyClass()

    def exposed_buffer(self):
        return Buffer()

    def exposed_resource(self):
        return Resource(self.log)

    def exposed_resource_log(self):
        return tuple(self.log)

    def foo(self):
        return "public, not exposed"

    def _privy(self):
        return "privy"

    # exceptions
    def exposed_fail(self, kind):
        if kind == "key":
            raise KeyError("missing-key")
        if kind == "value":
            raise ValueError("bad value")
        if kind == "type":
            raise TypeError("bad type")
        if kind == "notimpl":
            raise NotImplementedError("later")
        if kind == "index":
            raise IndexError("no such index")
        if kind == "zero":
            return 1 / 0
        if kind == "attrs":
            e = ValueError("bad", 7)
            e.code = 7
            e.detail = "seven"
            raise e
        if kind == "coded":
            e = ValueError("bad value")
            e.code = 7
            raise e
        if kind == "notfound":
            open("/nonexistent/parity-file")
        if kind == "exists":
            os.mkdir("/tmp")
        if kind == "isdir":
            with open("/tmp", "rb") as f:
                f.read()
        if kind == "permission":
            raise PermissionError(13, "Permission denied", "/root/x")
        if kind == "timeout":
            raise TimeoutError("too slow")
        raise Exception("plain failure")

    # callbacks
    def exposed_call(self, fn, arg):
        return fn(arg)

    def exposed_call_kw(self, fn):
        return fn(1, k=2)

    def exposed_map(self, fn, items):
        return tuple(fn(x) for x in items)

    def exposed_ping_back(self):
        return self.conn.root.get_service_name()

    def exposed_sleep(self, seconds):
        time.sleep(seconds)
        return seconds


CONFIGS = [
    ("default", {}),
    ("public", {"allow_public_attrs": True, "allow_setattr": True, "allow_delattr": True}),
    ("nosafe", {"allow_safe_attrs": False}),
    ("all", {"allow_all_attrs": True}),
]


def main():
    servers = []
    for name, cfg in CONFIGS:
        cfg = dict(cfg, sync_request_timeout=30)
        srv = ThreadedServer(ParityService, hostname="127.0.0.1", port=0, protocol_config=cfg)
        threading.Thread(target=srv.start, daemon=True).start()
        servers.append(srv)
        print("LISTENING 127.0.0.1:%d %s" % (srv.port, name), flush=True)
    sys.stdin.read()
    for srv in servers:
        srv.close()


if __name__ == "__main__":
    main()
