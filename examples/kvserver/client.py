#!/usr/bin/python3
"""A plain Python rpyc client of the Go kvserver (examples/kvserver/main.go): nothing but rpyc."""
import sys

import rpyc

host, port = sys.argv[1].rsplit(":", 1)
conn = rpyc.connect(host, int(port))
kv = conn.root
print("connected to service %s (rpyc %s on this side)" % (kv.get_service_name(), rpyc.__version__))

changes = []


def on_change(key, value):
    changes.append((key, value))
    print("  callback from Go: %s = %s" % (key, value))


kv.subscribe(on_change)
print("set two keys; the Go server calls back for each:")
kv.set("lang", "go")
kv.set("peer", "python")
print("get('lang') ->", kv.get("lang"))
print("keys() ->", kv.keys())

snap = kv.snapshot()
print("snapshot() is a %s proxy: len=%d, 'peer' in it: %s, dict(): %s" % (
    snap.__class__.__name__, len(snap), "peer" in snap, dict(snap)))

try:
    kv.get("missing")
except KeyError as e:
    print("get('missing') raised KeyError%s" % (e.args,))
try:
    kv.set("", "x")
except ValueError as e:
    print("set('', ...) raised ValueError: %s" % str(e).splitlines()[0])

kv.unsubscribe(on_change)
kv.set("quiet", "no callback now")
assert changes == [("lang", "go"), ("peer", "python")], changes
print("callbacks received:", changes)
conn.close()
