"""Calls the metrics example's server: root.add N times, then root.div(1, 0) once."""
import sys

import rpyc

host, port = sys.argv[1].rsplit(":", 1)
n = int(sys.argv[2])
conn = rpyc.connect(host, int(port))
add = conn.root.add
for i in range(n):
    assert add(i, 1) == i + 1
try:
    conn.root.div(1, 0)
except ZeroDivisionError:
    print("ZeroDivisionError")
conn.close()
print("OK", rpyc.__version__)
