#!/usr/bin/python3
"""Random Python values and their repr(), for gorpyc's reader of Python literals (netref's
Copy reads containers through repr()). Usage: literal_cases.py SEED COUNT. Prints one JSON line
per value: {"repr": repr(v), "typed": typed form, "literal": true}; then a few values whose repr
is not made of literals ({"repr": ..., "literal": false}), which the reader must refuse.

The typed form extends typedvalue.py: list, dict (items in order), set and bytearray."""
import collections
import datetime
import json
import random
import sys

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from typedvalue import to_typed as brine_typed  # noqa: E402

CHARS = (["a", "z", "Z", "0", " ", "'", '"', "\\", "\n", "\r", "\t", "\x00", "\x07", "\x1b", "\x7f",
          "\x80", "\xa0", "\xad", "é", "ß", "\u0085", "\u200b", "\u2028", "\ufeff", "日", "\U0001F40D",
          "\U000e0001", "\u0301", "\x9f", "{", "}", "[", "]", "(", ")", ",", ":", "j", "-", "+"])


def rand_str(r):
    return "".join(r.choice(CHARS) for _ in range(r.randrange(0, 12)))


def rand_float(r):
    return r.choice([0.0, -0.0, 1.5, -2.25, float("inf"), float("-inf"), float("nan"), 1e16, 1e-7,
                     5e-324, 1.7976931348623157e308, 0.1, 123456789.123, r.uniform(-1e10, 1e10),
                     r.random(), float(r.randrange(-10**6, 10**6))])


def rand_scalar(r):
    k = r.randrange(11)
    if k == 0:
        return None
    if k == 1:
        return r.random() < 0.5
    if k == 2:
        return r.randrange(-300, 300)
    if k == 3:
        return r.choice([1, -1]) * r.randrange(2 ** r.randrange(1, 400))
    if k == 4:
        return rand_float(r)
    if k == 5:
        return complex(rand_float(r), rand_float(r))
    if k == 6:
        return complex(0, rand_float(r))
    if k == 7 or k == 8:
        return rand_str(r)
    if k == 9:
        return bytes(r.randrange(256) for _ in range(r.randrange(0, 10)))
    return r.choice([Ellipsis, NotImplemented, 10 ** 40, -(2 ** 63), 2 ** 63])


def rand_hashable(r, depth):
    if depth <= 0 or r.random() < 0.7:
        v = rand_scalar(r)
        return v
    if r.random() < 0.5:
        return tuple(rand_hashable(r, depth - 1) for _ in range(r.randrange(0, 4)))
    return frozenset(rand_str(r) for _ in range(r.randrange(0, 4)))


def rand_value(r, depth):
    if depth <= 0:
        return rand_scalar(r)
    k = r.randrange(9)
    if k < 3:
        return rand_scalar(r)
    n = r.randrange(0, 5)
    if k == 3:
        return [rand_value(r, depth - 1) for _ in range(n)]
    if k == 4:
        return tuple(rand_value(r, depth - 1) for _ in range(n))
    if k == 5:
        return {rand_hashable(r, 2): rand_value(r, depth - 1) for _ in range(n)}
    if k == 6:
        return {rand_hashable(r, 2) for _ in range(n)}
    if k == 7:
        return frozenset(rand_str(r) for _ in range(n))
    return bytearray(r.randrange(256) for _ in range(n))


def typed(v):
    t = type(v)
    if t is list or t is collections.deque:
        return {"t": "list", "v": [typed(x) for x in v]}
    if isinstance(v, dict):  # dict, OrderedDict, Counter, defaultdict
        return {"t": "dict", "v": [[typed(k), typed(x)] for k, x in v.items()]}
    if t is set:
        return {"t": "set", "v": [typed(x) for x in v]}
    if t is bytearray:
        return {"t": "bytearray", "v": bytes(v).hex()}
    if t is tuple:
        return {"t": "tuple", "v": [typed(x) for x in v]}
    if t is frozenset:
        return {"t": "frozenset", "v": [typed(x) for x in v]}
    return brine_typed(v)


def main():
    seed, count = int(sys.argv[1]), int(sys.argv[2])
    r = random.Random(seed)
    values = [rand_value(r, 4) for _ in range(count)]
    values += [[], {}, set(), frozenset(), (), (1,), bytearray(), "", b"", [[[]]], {(): ()},
               collections.OrderedDict([("a", 1)]), collections.OrderedDict(), collections.Counter("abca"),
               collections.Counter(), collections.deque([1, "x"]), collections.deque([1], maxlen=3),
               complex(float("inf"), float("nan")), complex(0, float("inf")), -0j, 1e20j, (1e20+2j),
               [10 ** 4000], {"k": [1.5, {"n": None}]}, "'\"", "\\x00"]
    for v in values:
        print(json.dumps({"repr": repr(v), "typed": typed(v), "literal": True}))
    rec = [1]
    rec.append(rec)
    for v in [[object()], rec, [datetime.date(2024, 1, 2)], {"a": {1: datetime.timedelta(1)}},
              [1, 2, range(3)], collections.defaultdict(list, a=[1]), [float], "abc".upper]:
        print(json.dumps({"repr": repr(v), "literal": False}))


if __name__ == "__main__":
    main()
