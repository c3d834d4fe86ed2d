#!/usr/bin/python3
"""Python's pickle module as the judge of gorpyc's pickle reader and writer (internal/pickle).

Reads one JSON request per line on stdin and answers one JSON line on stdout; exits at EOF.

    {"op": "dump", "expr": E[, "protocol": P]}  -> {"hex": pickle.dumps(eval(E), P or 4).hex()}
    {"op": "check", "expr": E, "hex": H}  -> {"ok": same(pickle.loads(H), eval(E)), "repr": ...}

`same` is strict: equal values of exactly the same types, recursively (so 1 is not True, a
tuple is not a list, a naive datetime is not an aware one, NaN equals NaN and -0.0 is not 0.0)."""
import collections
import datetime
import decimal
import json
import math
import pickle
import sys
import zoneinfo

NS = {
    "datetime": datetime, "decimal": decimal, "collections": collections, "zoneinfo": zoneinfo,
    "Decimal": decimal.Decimal, "OrderedDict": collections.OrderedDict,
    "defaultdict": collections.defaultdict, "timezone": datetime.timezone,
    "timedelta": datetime.timedelta,
}


def build(expr):
    if expr.startswith("exec:"):
        ns = dict(NS)
        exec(expr[5:], ns)
        return ns["result"]
    return eval(expr, dict(NS))


def same(a, b):
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        if math.isnan(a):
            return math.isnan(b)
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if isinstance(a, complex):
        return same(a.real, b.real) and same(a.imag, b.imag)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return len(a) == len(b) and all(
            same(ka, kb) and same(va, vb) for (ka, va), (kb, vb) in zip(a.items(), b.items()))
    if isinstance(a, (set, frozenset)):
        return len(a) == len(b) and all(any(same(x, y) for y in b) for x in a)
    if isinstance(a, (datetime.datetime, datetime.time)):
        return (a.replace(tzinfo=None) == b.replace(tzinfo=None) and
                a.utcoffset() == b.utcoffset() and a.tzname() == b.tzname())
    if isinstance(a, decimal.Decimal):
        return str(a) == str(b)
    return a == b


def main():
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        req = json.loads(line)
        try:
            if req["op"] == "dump":
                out = {"hex": pickle.dumps(build(req["expr"]), req.get("protocol", 4)).hex()}
            else:
                got = pickle.loads(bytes.fromhex(req["hex"]))
                want = build(req["expr"])
                out = {"ok": same(got, want), "repr": repr(got)[:300], "want": repr(want)[:300]}
        except Exception as e:  # reported to the Go test
            out = {"error": "%s: %s" % (type(e).__name__, e)}
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
