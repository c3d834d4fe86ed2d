#!/usr/bin/python3
"""A plain rpyc client whose call makes the Go server close the connection from inside the
handler (gorpyc's Core v2 regression tests, server/corev2_test.go).

    pyclient_closeme.py HOST:PORT METHOD

Connects, prints "CONNECTED", calls root.METHOD() and prints one line:
"RESULT <repr>" if the call returned, or "RAISED <class> <elapsed> <message>" if it raised
(Python's own behaviour when the server closes mid-call is EOFError). The call is bounded by
sync_request_timeout=20 (a TimeoutError then says the server never closed). Exits when done.
"""
import sys
import time

import rpyc


def main():
    addr, method = sys.argv[1], sys.argv[2]
    host, port = addr.rsplit(":", 1)
    c = rpyc.connect(host, int(port), config={"sync_request_timeout": 20})
    root = c.root
    print("CONNECTED", flush=True)
    start = time.monotonic()
    try:
        res = getattr(root, method)()
        print("RESULT %r" % (res,), flush=True)
    except BaseException as e:  # noqa: BLE001 - report whatever the call raised
        print("RAISED %s %.3f %s" % (type(e).__name__, time.monotonic() - start, str(e).replace("\n", " ")[:200]), flush=True)
    try:
        c.close()
    except BaseException:  # noqa: BLE001 - the connection is already gone
        pass


if __name__ == "__main__":
    main()
