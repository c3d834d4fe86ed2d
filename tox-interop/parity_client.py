#!/usr/bin/python3
"""One plain rpyc client, run unchanged against the Go parity service and its Python twin
(tox-interop/parity_service.py); server/parity_test.go compares the two outputs.

    parity_client.py default=HOST:PORT public=HOST:PORT nosafe=HOST:PORT all=HOST:PORT

Prints one JSON line per operation, {"op": NAME, "r": RESULT}, then "DONE <count>". RESULT is
normalised so that equal behaviour prints equal text: a value is {"t": type name, "v": value}
(type names without their module, containers item by item, proxies by type name only); an
exception is {"exc": class name, "args": [...], "attrs": {...}} with the attributes Python's
OSError and custom exceptions carry. Nothing but `import rpyc` is used on the rpyc side."""
import json
import re
import sys
import threading
import time

import rpyc

OPS = []


def op(fn):
    OPS.append(fn)
    return fn


def tname(v):
    """The class name a user sees, without the module (Go's packages are not Python modules):
    for a proxy of a builtin class, x.__class__ (answered locally; the netref classes of builtins
    are named "type" by rpyc 5 and "builtins.<name>" by rpyc 6), else the proxy class's name
    (rpyc 6 answers x.__class__ with the module when the name_pack's module is importable and
    the class is not, so it is not used)."""
    n = type(v).__name__
    if is_netref(v) and (n == "type" or n.startswith("builtins.")):
        return v.__class__.__name__
    return n.rsplit(".", 1)[-1]


def is_netref(v):
    return isinstance(v, rpyc.BaseNetref)


def norm(v, depth=0):
    if depth > 6:
        return {"t": tname(v), "v": "..."}
    if is_netref(v):
        return {"t": tname(v), "ref": True}
    if v is None or isinstance(v, (bool, float, str)):
        return {"t": tname(v), "v": v}
    if isinstance(v, int):
        return {"t": "int", "v": v if abs(v) < 2 ** 53 else str(v)}
    if isinstance(v, bytes):
        return {"t": "bytes", "v": v.hex()}
    if isinstance(v, (tuple, list, set, frozenset)):
        items = list(v)
        if isinstance(v, (set, frozenset)):
            items = sorted(items, key=repr)
        return {"t": tname(v), "v": [norm(x, depth + 1) for x in items]}
    if isinstance(v, dict):
        return {"t": "dict", "v": [[norm(k, depth + 1), norm(x, depth + 1)] for k, x in v.items()]}
    return {"t": tname(v), "repr": repr(v)}


ADDR_RE = re.compile(r"0x[0-9a-fA-F]+")
QUALIFIED_CALL_RE = re.compile(r"(?:[A-Za-z_][\w]*\.)*(?:exposed_)?([A-Za-z_]\w*)\(\)")


def norm_message(s):
    """The exception text without what names the implementation: addresses and the class that
    qualifies a method name in TypeError messages (ParityService.exposed_greet() -> greet())."""
    s = ADDR_RE.sub("0x?", s)
    return QUALIFIED_CALL_RE.sub(r"\1()", s)


EXC_ATTRS = ("errno", "strerror", "filename", "filename2", "code", "detail")


def norm_exc(e):
    args = []
    for a in e.args:
        args.append(norm_message(a) if isinstance(a, str) else a)
    attrs = {}
    for name in EXC_ATTRS:
        if hasattr(e, name):
            attrs[name] = norm(getattr(e, name))["v"] if not is_netref(getattr(e, name)) else "<ref>"
    return {"exc": type(e).__name__, "args": [norm(a) for a in args], "attrs": attrs}


def run(name, fn, ctx):
    try:
        r = norm(fn(ctx))
    except Exception as e:  # noqa: BLE001 - every outcome is recorded
        r = norm_exc(e)
    print(json.dumps({"op": name, "r": r}, sort_keys=True), flush=True)


class Ctx:
    def __init__(self, addrs):
        self.addrs = addrs
        self.conns = {}

    def conn(self, cfg="default", **config):
        key = (cfg, tuple(sorted(config.items())))
        if key not in self.conns:
            host, port = self.addrs[cfg].rsplit(":", 1)
            config.setdefault("sync_request_timeout", 30)
            self.conns[key] = rpyc.connect(host, int(port), config=config)
        return self.conns[key]

    @property
    def root(self):
        return self.conn().root

    def close(self):
        for c in self.conns.values():
            c.close()


# ---------------------------------------------------------------- values and conversions
@op
def add(c): return c.root.add(2, 3)
@op
def add_negative(c): return c.root.add(-10 ** 12, 1)
@op
def add_bool_for_int(c): return c.root.add(True, 2)
@op
def add_str(c): return c.root.add("x", 1)
@op
def add_missing_arg(c): return c.root.add(1)
@op
def add_too_many(c): return c.root.add(1, 2, 3)
@op
def add_overflowing_result(c): return c.root.add(2 ** 62, 2 ** 62)
@op
def add_too_big_for_int(c): return c.root.add(2 ** 70, 1)
@op
def add_big(c): return c.root.add_big(2 ** 62, 2 ** 62)
@op
def add_big_small(c): return c.root.add_big(1, 2)
@op
def big_echo_small(c): return c.root.big_echo(5)
@op
def big_echo_huge(c): return c.root.big_echo(3 ** 100)
@op
def exposed_add(c): return c.root.exposed_add(2, 3)
@op
def echo_str(c): return c.root.echo("héllo")
@op
def echo_bytes(c): return c.root.echo(b"\x00\xff")
@op
def echo_float(c): return c.root.echo(1.5)
@op
def echo_tuple(c): return c.root.echo((1, "a", None, True, (2.5,)))
@op
def echo_none(c): return c.root.echo(None)
@op
def echo_big(c): return c.root.echo(2 ** 80)
@op
def echo_complex(c): return c.root.echo(1 + 2j)
@op
def echo_frozenset(c): return c.root.echo(frozenset({1, 2}))
@op
def negate_bool(c): return c.root.negate(True)
@op
def negate_zero(c): return c.root.negate(0)
@op
def negate_one(c): return c.root.negate(1)
@op
def scale(c): return c.root.scale(2.5, 2)
@op
def concat(c): return c.root.concat("a", "b", "c")
@op
def concat_none(c): return c.root.concat()
@op
def total_list(c): return c.root.total([1, 2, 3])
@op
def total_tuple(c): return c.root.total((4, 5))
@op
def total_empty_list(c): return c.root.total([])
@op
def total_long_list(c): return c.root.total(list(range(2500)))
@op
def total_bad_item(c): return c.root.total([1, "x"])
@op
def sum_values_dict(c): return c.root.sum_values({"a": 1, "b": 2})
@op
def keys_of_dict(c): return c.root.keys_of({"b": 1, "a": 2})
@op
def nested_lists(c): return c.root.nested([[1, 2], [3], []])
@op
def point_norm_dict(c): return c.root.point_norm({"x": 3, "y": 4})


# ---------------------------------------------------------------- keyword arguments and defaults
@op
def greet_default(c): return c.root.greet("bob")
@op
def greet_positional(c): return c.root.greet("bob", "Hi")
@op
def greet_all_positional(c): return c.root.greet("bob", "Hi", "?")
@op
def greet_keywords(c): return c.root.greet("bob", punct="?", greeting="Yo")
@op
def greet_explicit_empty(c): return c.root.greet("bob", greeting="")
@op
def greet_name_keyword(c): return c.root.greet(name="bob")
@op
def greet_missing(c): return c.root.greet()
@op
def greet_unknown_keyword(c): return c.root.greet("bob", colour="red")
@op
def greet_twice(c): return c.root.greet("bob", "Hi", greeting="Yo")
@op
def greet_too_many(c): return c.root.greet("a", "b", "c", "d")
@op
def resize_default(c): return c.root.resize(10)
@op
def resize_height(c): return c.root.resize(10, 20)
@op
def resize_zero_height(c): return c.root.resize(10, height=0)
@op
def resize_kwonly(c): return c.root.resize(10, unit="cm")
@op
def resize_kwonly_positional(c): return c.root.resize(10, 20, "cm")
@op
def join_args(c): return c.root.join("a", "b", "c")
@op
def join_sep(c): return c.root.join("a", "b", sep="-")
@op
def options_kwargs(c): return c.root.options(a=1, b="x")
@op
def options_none(c): return c.root.options()


# ---------------------------------------------------------------- containers
@op
def numbers(c): return c.root.numbers()
@op
def list_type(c): return tname(c.root.numbers_ref())
@op
def list_isinstance(c): return isinstance(c.root.numbers_ref(), list)
@op
def list_len(c): return len(c.root.numbers_ref())
@op
def list_index(c):
    s = c.root.numbers_ref()
    return (s[0], s[-1])
@op
def list_slice(c): return list(c.root.numbers_ref()[1:3])
@op
def list_slice_step(c): return list(c.root.numbers_ref()[::-2])
@op
def list_iter(c): return list(c.root.numbers_ref())
@op
def list_contains(c):
    s = c.root.numbers_ref()
    return (30 in s, 31 in s)
@op
def list_out_of_range(c): return c.root.numbers_ref()[99]
@op
def list_setitem(c):
    s = c.root.numbers_ref()
    s[0] = 11
    return s[0]
@op
def list_bool(c): return bool(c.root.numbers_ref())
@op
def list_repr(c): return repr(c.root.numbers_ref())
@op
def list_str(c): return str(c.root.numbers_ref())
@op
def list_reversed(c): return list(reversed(c.root.numbers_ref()))
@op
def list_sorted(c): return sorted(c.root.numbers_ref(), reverse=True)
@op
def dict_type(c): return tname(c.root.scores())
@op
def dict_len(c): return len(c.root.scores())
@op
def dict_getitem(c): return c.root.scores()["alice"]
@op
def dict_missing(c): return c.root.scores()["zed"]
@op
def dict_contains(c):
    m = c.root.scores()
    return ("bob" in m, "zed" in m)
@op
def dict_iter(c): return sorted(c.root.scores())
@op
def dict_keys(c): return sorted(c.root.scores().keys())
@op
def dict_copy(c): return dict(c.root.scores())
@op
def dict_set_del(c):
    m = c.root.scores()
    m["dave"] = 4
    n = len(m)
    del m["dave"]
    return (n, len(m))
@op
def dict_repr(c): return repr(c.root.scores())


# ---------------------------------------------------------------- functions and iteration
@op
def function_call(c): return c.root.square()(7)
@op
def function_type(c): return tname(c.root.square())
@op
def method_type(c): return tname(c.root.add)
@op
def generator_list(c): return list(c.root.count(5))
@op
def generator_next(c):
    g = c.root.count(3)
    return (next(g), next(g))
@op
def generator_type(c): return tname(c.root.count(3))
@op
def generator_exhausted(c):
    g = c.root.count(1)
    next(g)
    return next(g)
@op
def generator_iter_next(c): return next(iter(c.root.count(2)))
@op
def generator_buffiter(c): return list(rpyc.buffiter(c.root.count(100)))
@op
def generator_pairs(c): return list(c.root.pairs())
@op
def generator_chan(c): return list(c.root.chan(4))
@op
def custom_iterator_for(c): return list(c.root.countdown(3))
@op
def custom_iterator_buffiter(c): return list(rpyc.buffiter(c.root.countdown(25)))
@op
def custom_iterator_next(c): return next(c.root.countdown(2))


# ---------------------------------------------------------------- objects, context managers
@op
def point_fields(c):
    p = c.root.get_point()
    return (p.x, p.y, p.norm2())
@op
def point_str(c): return str(c.root.get_point())
@op
def point_type(c): return tname(c.root.get_point())
@op
def point_equal_self(c):
    p = c.root.get_point()
    return (p == p, hash(p) == hash(p))
@op
def point_equal_other(c): return c.root.get_point() == c.root.get_point()
@op
def point_setattr_denied(c):
    c.root.get_point().x = 10
@op
def point_delattr_denied(c):
    del c.root.get_point().x
@op
def point_pickle_denied(c): return __import__("pickle").dumps(c.root.get_point())
@op
def buffer_write_read(c):
    b = c.root.buffer()
    return (b.write("hello "), b.write(b"world"), b.read(5), b.read())
@op
def with_block(c):
    with c.root.resource() as r:
        name = r.name
    return (name, c.root.resource_log())
@op
def with_block_error(c):
    try:
        with c.root.resource():
            raise ValueError("inside")
    except ValueError as e:
        return (str(e), c.root.resource_log())


# ---------------------------------------------------------------- exceptions
def fail(kind):
    return lambda c: c.root.fail(kind)


for _kind in ("key", "value", "type", "notimpl", "index", "zero", "attrs", "coded", "notfound", "exists",
              "isdir", "permission", "timeout", "generic"):
    _f = fail(_kind)
    _f.__name__ = "fail_" + _kind
    op(_f)


@op
def exception_remote_traceback(c):
    try:
        c.root.fail("value")
    except ValueError as e:
        return "Remote Traceback" in str(e)
@op
def exception_remote_version(c):
    try:
        c.root.fail("value")
    except ValueError as e:
        return getattr(e, "_remote_version", None)
@op
def exception_str(c):
    try:
        c.root.fail("value")
    except ValueError as e:
        return str(e).split("\n")[0]


# ---------------------------------------------------------------- callbacks, async, timeouts
@op
def callback(c):
    seen = []

    def cb(x):
        seen.append(x)
        return x * 10
    return (c.root.call(cb, 4), tuple(seen))
@op
def callback_kwargs(c): return c.root.call_kw(lambda a, k=0: (a, k))
@op
def callback_map(c): return c.root.map(lambda x: x + 1, [1, 2, 3])
@op
def callback_raises(c):
    def boom(x):
        raise KeyError("python says no")
    return c.root.call(boom, 1)
@op
def ping_back(c): return c.root.ping_back()
@op
def conn_ping(c): return c.conn().ping()
@op
def async_value(c):
    res = rpyc.async_(c.root.sleep)(0.05)
    res.wait()
    return (res.ready, res.error, res.value)
@op
def async_error(c):
    res = rpyc.async_(c.root.fail)("value")
    res.wait()
    return (res.ready, res.error)
@op
def async_error_value(c):
    res = rpyc.async_(c.root.fail)("key")
    return res.value
@op
def async_expiry(c):
    res = rpyc.async_(c.root.sleep)(1.0)
    res.set_expiry(0.05)
    return res.value
@op
def sync_timeout(c):
    return c.conn(sync_request_timeout=0.1).root.sleep(1.0)
@op
def async_threads(c):
    out = []

    def work(i):
        out.append(c.root.add(i, i))
    ts = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(30)
    return sorted(out)


# ---------------------------------------------------------------- service, attributes, access control
@op
def service_name(c): return c.root.get_service_name()
@op
def service_aliases(c): return c.root.get_service_aliases()
@op
def exposed_service_name(c): return c.root.exposed_get_service_name()
@op
def version_attr(c): return c.root.version
@op
def doc_attr(c): return c.root.__doc__
@op
def hasattr_add(c): return (hasattr(c.root, "add"), hasattr(c.root, "nope"))
@op
def getattr_unknown(c): return c.root.nope
@op
def getattr_exposed_unknown(c): return c.root.exposed_nope
@op
def getattr_secret(c): return c.root.secret
@op
def getattr_private(c): return c.root._secret
@op
def getattr_public_not_exposed(c): return c.root.foo()
@op
def getattr_privy(c): return c.root._privy()
@op
def root_setattr(c):
    c.root.x = 1
@op
def root_delattr(c):
    del c.root.version
@op
def dir_exposed(c): return sorted(n for n in dir(c.root) if n.startswith("exposed_"))
@op
def dir_dunders(c):
    want = ["__class__", "__doc__", "__eq__", "__hash__", "__init__", "__repr__", "__str__"]
    names = dir(c.root)
    return [n for n in want if n in names]
@op
def dir_list(c):
    names = dir(c.root.numbers_ref())
    return [n for n in ("__getitem__", "__iter__", "__len__", "__contains__") if n in names]
@op
def security_probes(c):
    out = []
    # (__class__ is left out: rpyc 6 answers it locally for some name_packs.)
    for name in ["__globals__", "__dict__", "__code__", "__mro__", "__bases__",
                 "__subclasses__", "exposed___class__", "_ParityService__secret", "on_connect",
                 "conn", "log"]:
        try:
            getattr(c.root, name)
            out.append(name + ": allowed")
        except AttributeError as e:
            out.append(name + ": " + type(e).__name__)
    return out
@op
def function_probes(c):
    f = c.root.square()
    out = []
    for name in ["__globals__", "__code__", "__closure__", "__dict__", "__func__"]:
        try:
            getattr(f, name)
            out.append(name + ": allowed")
        except AttributeError as e:
            out.append(name + ": " + type(e).__name__)
    return out


def access_ops(cfg):
    """rpyc's tests/test_attr_access.py against MyClass under one configuration."""
    def obj(c):
        return c.conn(cfg).root.my_class()
    cases = {
        "add": lambda c: obj(c) + "bar",
        "dunder_add": lambda c: obj(c).__add__("bar"),
        "foobar": lambda c: obj(c).foobar(),
        "exposed_foobar": lambda c: obj(c).exposed_foobar(),
        "privy": lambda c: obj(c)._privy(),
        "foo": lambda c: obj(c).foo(),
        "bar": lambda c: obj(c).bar(),
        "spam": lambda c: obj(c).spam(),
        "root_foo": lambda c: c.conn(cfg).root.foo(),
        "root_add": lambda c: c.conn(cfg).root.add(1, 2),
        "root_len_list": lambda c: len(c.conn(cfg).root.numbers_ref()),
    }
    for name, fn in cases.items():
        fn.__name__ = "access_%s_%s" % (cfg, name)
        op(fn)


for _cfg in ("default", "public", "nosafe", "all"):
    access_ops(_cfg)


@op
def all_attrs_dunder_dict(c): return sorted(c.conn("all").root.get_point().__dict__)
@op
def public_setattr(c):
    p = c.conn("public").root.get_point()
    p.x = 10
    return p.x
@op
def public_setattr_root(c):
    c.conn("public").root.x = 1
@op
def public_setattr_unknown(c):
    p = c.conn("public").root.get_point()
    p.exposed_z = 1


def main():
    addrs = dict(a.split("=", 1) for a in sys.argv[1:])
    ctx = Ctx(addrs)
    for fn in OPS:
        run(fn.__name__, fn, ctx)
    ctx.close()
    print("DONE %d" % len(OPS), flush=True)


if __name__ == "__main__":
    main()
