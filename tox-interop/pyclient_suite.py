#!/usr/bin/python3
"""Plain Python rpyc client scenarios against gorpyc's Go test service (server/interop_test.go).

    pyclient_suite.py HOST:PORT [SCENARIO ...]

Runs every scenario (or those named), printing "PASS <name>" or "FAIL <name>" followed by the
traceback, then "DONE <passed> <failed>". Each scenario asserts its results with plain asserts:
it uses nothing but `import rpyc`, as an unchanged Python program would."""
import sys
import threading
import traceback

import rpyc

SCENARIOS = []


def scenario(fn):
    SCENARIOS.append(fn)
    return fn


def expect_raises(exc_type, fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except exc_type as e:
        return e
    except Exception as e:  # noqa: BLE001
        raise AssertionError("%s%r: expected %s, got %r" % (getattr(fn, "__name__", fn), args, exc_type.__name__, e))
    raise AssertionError("%s%r: expected %s, nothing raised" % (getattr(fn, "__name__", fn), args, exc_type.__name__))


@scenario
def service_names(c):
    assert c.root.get_service_name() == "TEST", c.root.get_service_name()
    assert tuple(c.root.get_service_aliases()) == ("TEST", "TESTING"), c.root.get_service_aliases()


@scenario
def calls_and_kwargs(c):
    r = c.root
    assert r.add(2, 3) == 5
    assert r.exposed_add(2, 3) == 5
    assert r.add(-10 ** 12, 1) == -10 ** 12 + 1
    assert r.greet("bob") == "Hello, bob!"
    assert r.greet("bob", greeting="Hi") == "Hi, bob!"
    assert r.greet("bob", punct="?", greeting="Yo") == "Yo, bob?"
    assert r.concat("a", "b", "c") == "abc"
    assert r.concat() == ""
    assert r.echo("héllo") == "héllo"
    assert r.echo(b"\x00\xff") == b"\x00\xff"
    assert r.echo(1.5) == 1.5
    assert r.echo((1, "a", None, True)) == (1, "a", None, True)
    assert r.echo(2 ** 80) == 2 ** 80
    assert r.scale(2.5, 2) == 5.0
    assert r.struct_arg((3, 4)) == 25
    # bool is an int in Python (int(True) == 1): accepted for int and float parameters.
    assert r.add(True, 2) == 3
    assert r.scale(True, False) == 0.0


@scenario
def conversion_errors(c):
    e = expect_raises(TypeError, c.root.add, "x", 1)
    assert "argument 1" in str(e), str(e)
    e = expect_raises(TypeError, c.root.add, 1)
    e = expect_raises(TypeError, c.root.greet, "bob", colour="red")
    assert "colour" in str(e), str(e)
    e = expect_raises(OverflowError, c.root.add, 2 ** 70, 1)  # as CPython's int conversions
    assert "argument 1" in str(e) and "overflow" in str(e), str(e)
    e = expect_raises(TypeError, c.root.add, 1.0, 1)  # a float never becomes an int
    assert "float" in str(e), str(e)
    e = expect_raises(TypeError, c.root.struct_arg, (3, "4"))
    assert "at [1]" in str(e), str(e)


@scenario
def attributes(c):
    r = c.root
    assert r.version == "gorpyc-test-1"
    assert hasattr(r, "add")
    assert not hasattr(r, "nonexistent")
    expect_raises(AttributeError, getattr, r, "nonexistent")
    p = r.get_point()
    assert p.x == 3 and p.y == 4
    assert p.norm2() == 25
    assert str(p) == "Point(3, 4)"


@scenario
def by_value_slices(c):
    t = c.root.numbers()
    assert t == (1, 2, 3, 4, 5), t
    assert isinstance(t, tuple)


@scenario
def slice_netref(c):
    s = c.root.numbers_ref()
    assert len(s) == 5
    assert s[0] == 10 and s[-1] == 50
    assert tuple(s[1:3]) == (20, 30)
    assert tuple(s[::-2]) == (50, 30, 10)
    assert list(s) == [10, 20, 30, 40, 50]
    assert 30 in s and 31 not in s
    assert s.index(40) == 3 and s.count(10) == 1
    expect_raises(IndexError, s.__getitem__, 99)
    s[0] = 11
    assert s[0] == 11
    assert bool(s)


@scenario
def map_netref(c):
    m = c.root.scores()
    assert len(m) == 3
    assert m["alice"] == 1
    assert "bob" in m and "zed" not in m
    assert sorted(m.keys()) == ["alice", "bob", "carol"]
    assert sorted(m.values()) == [1, 2, 3]
    assert sorted(m.items()) == [("alice", 1), ("bob", 2), ("carol", 3)]
    assert m.get("zed") is None and m.get("zed", 7) == 7 and m.get("bob") == 2
    assert dict(m) == {"alice": 1, "bob": 2, "carol": 3}
    assert sorted(iter(m)) == ["alice", "bob", "carol"]
    e = expect_raises(KeyError, m.__getitem__, "zed")
    assert e.args[0] == "zed", e.args
    m["dave"] = 4
    assert m["dave"] == 4 and len(m) == 4
    del m["dave"]
    assert len(m) == 3


@scenario
def funcs_and_iterators(c):
    sq = c.root.square()
    assert sq(7) == 49
    assert list(c.root.count(5)) == [0, 1, 2, 3, 4]
    assert list(c.root.pairs()) == [("a", 1), ("b", 2)]
    assert list(c.root.chan(4)) == [0, 1, 4, 9]
    it = iter(c.root.count(2))
    assert next(it) == 0 and next(it) == 1
    expect_raises(StopIteration, next, it)
    assert list(rpyc.buffiter(c.root.count(100))) == list(range(100))


@scenario
def reader_writer(c):
    buf = c.root.buffer()
    assert buf.write("hello ") == 6
    assert buf.write(b"world") == 5
    assert buf.read(5) == b"hello"
    assert buf.read() == b" world"
    assert str(buf) == "", repr(str(buf))


@scenario
def with_blocks(c):
    res = c.root.resource()
    with res as r:
        assert r.name == "res"
    assert c.root.resource_log() == ("enter", "exit-ok"), c.root.resource_log()
    try:
        with c.root.resource():
            raise ValueError("inside")
    except ValueError:
        pass
    assert c.root.resource_log() == ("enter", "exit-ok", "enter", "exit-error"), c.root.resource_log()


@scenario
def equality_hash_repr(c):
    p1 = c.root.get_point()
    p2 = c.root.get_point()
    assert p1 == p1
    assert hash(p1) == hash(p1)
    assert repr(p1).startswith("<") or "Point" in repr(p1), repr(p1)
    assert bool(c.root.get_point())


@scenario
def exceptions(c):
    r = c.root
    e = expect_raises(KeyError, r.fail, "key")
    assert e.args[0] == "missing-key", e.args
    expect_raises(ValueError, r.fail, "value")
    expect_raises(TypeError, r.fail, "type")
    expect_raises(NotImplementedError, r.fail, "notimpl")
    expect_raises(TimeoutError, r.fail, "timeout")
    expect_raises(PermissionError, r.fail, "permission")
    expect_raises(FileNotFoundError, r.fail, "notfound")
    expect_raises(IndexError, r.fail, "index")
    e = expect_raises(Exception, r.fail, "generic")
    s = str(e)
    assert "plain Go failure" in s, s
    assert "Remote Traceback" in s and "Go error of type" in s, s
    e = expect_raises(Exception, r.panic)
    assert "deliberate panic" in str(e), str(e)
    assert r.add(1, 1) == 2  # the connection survives a panic


@scenario
def security_probes(c):
    r = c.root
    # Names that Python's netref answers locally (LOCAL_ATTRS such as __init__, __reduce__,
    # __getattribute__) never reach the server; these all do, as GETATTR requests.
    for name in ["__class__", "__globals__", "__dict__", "__array__", "secret", "_secret",
                 "__subclasses__", "__code__", "__mro__", "__bases__", "__func__", "__self__",
                 "exposed___class__", "exposed__secret", "_TestService__secret", "String",
                 "rpyc_names", "rpyc_service_aliases", "on_connect", "mu", "log", "conn"]:
        expect_raises(AttributeError, getattr, r, name)
    assert "secret" not in repr(r) and "gorpyc-test-1" not in repr(r), repr(r)
    assert "secret" not in dir(r) and "on_connect" not in dir(r), dir(r)
    f = r.square()
    for name in ["__globals__", "__code__", "__closure__", "__dict__", "__func__"]:
        expect_raises(AttributeError, getattr, f, name)
    p = r.get_point()
    for name in ["__class__", "__dict__", "hidden", "_hidden"]:
        expect_raises(AttributeError, getattr, p, name)
    expect_raises(AttributeError, setattr, p, "x", 10)
    expect_raises(AttributeError, delattr, p, "x")
    expect_raises(ValueError, __import__("pickle").dumps, p)


@scenario
def callbacks(c):
    seen = []

    def cb(x):
        seen.append(x)
        return x * 10

    assert c.root.call(cb, 4) == 40
    assert c.root.map(cb, (1, 2, 3)) == (10, 20, 30)
    assert seen == [4, 1, 2, 3], seen

    def boom(x):
        raise ValueError("python says no")

    e = expect_raises(Exception, c.root.call, boom, 1)
    assert "python says no" in str(e), str(e)
    assert c.root.ping_back() == "VOID"


@scenario
def concurrency_64_threads(c):
    errors = []

    def work(i):
        try:
            for j in range(20):
                assert c.root.add(i, j) == i + j
        except Exception as e:  # noqa: BLE001
            errors.append(repr(e))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(64)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors[:3]


@scenario
def async_calls(c):
    res = rpyc.async_(c.root.sleep)(0.2)
    res.wait()
    assert res.value == 0.2


def main():
    addr = sys.argv[1]
    host, port = addr.rsplit(":", 1)
    wanted = set(sys.argv[2:])
    passed = failed = 0
    conn = rpyc.connect(host.strip("[]"), int(port), config={"sync_request_timeout": 30})
    for fn in SCENARIOS:
        if wanted and fn.__name__ not in wanted:
            continue
        try:
            fn(conn)
            print("PASS %s" % fn.__name__, flush=True)
            passed += 1
        except Exception:  # noqa: BLE001
            print("FAIL %s" % fn.__name__, flush=True)
            print("".join("  | " + line + "\n" for line in traceback.format_exc().splitlines()), flush=True)
            failed += 1
    conn.close()
    print("DONE %d %d" % (passed, failed), flush=True)


if __name__ == "__main__":
    main()
