#!/usr/bin/python3
"""The Python rpyc service that gorpyc's Go client tests run against (interop*_test.go, netref and
protocol interop tests). Binds 127.0.0.1:0, prints "LISTENING 127.0.0.1:<port>", serves with a
ThreadedServer until stdin closes (so it never outlives the Go test process).

Options: --host HOST binds another loopback address ("::1" prints "LISTENING [::1]:<port>");
--unix PATH listens on a Unix socket instead ("LISTENING unix://PATH");
--allow-public-attrs sets protocol_config allow_public_attrs (off by default, so public names that
are not exposed, such as os.path.join, are refused)."""
import argparse
import gc
import os
import sys
import threading
import time

import rpyc
from rpyc.utils.server import ThreadedServer


class CustomError(Exception):
    def __init__(self, msg, code):
        super().__init__(msg, code)
        self.code = code


class Point:
    """A plain class whose instances travel as netrefs."""

    def __init__(self, x, y):
        self.exposed_x = x
        self.exposed_y = y

    def exposed_norm2(self):
        return self.exposed_x ** 2 + self.exposed_y ** 2

    def __repr__(self):
        return "Point(%r, %r)" % (self.exposed_x, self.exposed_y)

    def __str__(self):
        return "(%s, %s)" % (self.exposed_x, self.exposed_y)

    def __eq__(self, other):
        return isinstance(other, Point) and (self.exposed_x, self.exposed_y) == (other.exposed_x, other.exposed_y)

    def __hash__(self):
        return hash((self.exposed_x, self.exposed_y))


class Resource:
    """A context manager that records how it was exited."""

    def __init__(self):
        self.exposed_log = []

    def __enter__(self):
        self.exposed_log.append("enter")
        return self

    def __exit__(self, typ, val, tb):
        self.exposed_log.append("exit-error" if typ is not None else "exit-ok")
        return False


class TestService(rpyc.Service):
    exposed_answer = 42
    exposed_name = "test-service"
    exposed_Point = Point

    def on_connect(self, conn):
        self._conn = conn

    def exposed_add(self, a, b):
        return a + b

    def exposed_echo(self, x):
        return x

    def exposed_greet(self, name, greeting="Hello", punct="!"):
        return "%s, %s%s" % (greeting, name, punct)

    def exposed_varargs(self, *args, **kwargs):
        return (args, tuple(sorted(kwargs.items())))

    def exposed_kinds(self, x):
        return type(x).__name__

    def exposed_get_list(self, n=5):
        return list(range(n))

    def exposed_get_dict(self):
        return {"a": 1, "b": [1, 2], "c": "three"}

    def exposed_get_set(self):
        return {1, 2, 3}

    def exposed_gen(self, n):
        for i in range(n):
            yield i * i

    def exposed_point(self, x, y):
        return Point(x, y)

    def exposed_module(self):
        return os.path

    def exposed_resource(self):
        return Resource()

    def exposed_raise(self, kind, msg="boom"):
        if kind == "custom":
            raise CustomError(msg, 7)
        if kind == "zero":
            return 1 / 0
        if kind == "key":
            return {}[msg]
        if kind == "notfound":
            return open("/nonexistent/gorpyc/" + msg)
        if kind == "stop":
            raise StopIteration
        cls = getattr(__builtins__, kind, None) if not isinstance(__builtins__, dict) else __builtins__.get(kind)
        raise cls(msg)

    def exposed_call_back(self, fn, *args, **kwargs):
        return fn(*args, **kwargs)

    def exposed_call_back_twice(self, fn, x):
        return fn(fn(x))

    def exposed_callback_str(self, obj):
        return str(obj)

    def exposed_sleep(self, seconds):
        time.sleep(seconds)
        return seconds

    def exposed_big(self, n):
        return "x" * n

    def exposed_big_bytes(self, n):
        return bytes(range(256)) * (n // 256)

    def exposed_length(self, obj):
        return len(obj)

    def exposed_sum_items(self, obj):
        return sum(obj)

    def exposed_thread_name(self):
        return threading.current_thread().name

    def exposed_version(self):
        return rpyc.__version__

    def exposed_ping_client(self):
        return self._conn.root.get_service_name()

    def exposed_local_objects(self):
        """How many objects this connection's object table holds (RefCountingColl has no
        __len__ in 5.3.0 / 6.0.1; its entries live in _dict)."""
        return len(self._conn._local_objects._dict)

    def exposed_gc_collect(self):
        """Collects reference cycles: the frames of exceptions this server raised hold proxies
        of the client's objects until the cyclic garbage collector runs."""
        gc.collect()

    def exposed_py_hash(self, obj):
        return hash(obj)

    def exposed_py_str(self, obj):
        return str(obj)

    def exposed_call_method(self, obj, name, *args):
        """Calls obj.name(*args) from Python (GETATTR + CALL on a Go object)."""
        return getattr(obj, name)(*args)

    def exposed_get_attr(self, obj, name):
        return getattr(obj, name)

    def exposed_iterate(self, obj):
        """list(obj) as a tuple: iterates a Go object from Python."""
        return tuple(iter(obj))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--allow-public-attrs", action="store_true")
    ap.add_argument("--unix", help="listen on this Unix socket path instead (prints LISTENING unix://PATH)")
    opts = ap.parse_args()
    ipv6 = ":" in opts.host
    config = {"allow_public_attrs": opts.allow_public_attrs}
    if opts.unix:
        srv = ThreadedServer(TestService, socket_path=opts.unix, protocol_config=config)
    else:
        srv = ThreadedServer(TestService, hostname=opts.host, ipv6=ipv6, port=0, protocol_config=config)
    t = threading.Thread(target=srv.start, daemon=True)
    t.start()
    while not srv.active:  # start() calls listen(); announce only once connections are accepted
        time.sleep(0.005)
    if opts.unix:
        print("LISTENING unix://%s" % opts.unix, flush=True)
    else:
        host = "[%s]" % opts.host if ipv6 else opts.host
        print("LISTENING %s:%d" % (host, srv.port), flush=True)
    while os.read(0, 1024):
        pass
    srv.close()


if __name__ == "__main__":
    sys.exit(main())
