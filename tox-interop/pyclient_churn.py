#!/usr/bin/python3
"""Connect/close churn of plain rpyc clients against a Go server (gorpyc's Core v2 regression
tests, server/corev2_test.go).

    pyclient_churn.py HOST:PORT N

Opens and closes N connections one after the other, as fast as possible. Every third one asks
for the root first (a request the server answers only after its on_connect), every third one is
a bare TCP connect and close with no rpyc byte, the rest close at once (usually before the
server's on_connect returned). Prints "OK N" at the end; a failed connect is reported as
"ERROR <i> <exception>" and the script exits with status 1.
"""
import socket
import sys

import rpyc


def main():
    addr, n = sys.argv[1], int(sys.argv[2])
    host, port = addr.rsplit(":", 1)
    port = int(port)
    for i in range(n):
        try:
            if i % 3 == 2:
                s = socket.create_connection((host, port), timeout=10)
                s.close()
                continue
            c = rpyc.connect(host, port, config={"sync_request_timeout": 20})
            if i % 3 == 1:
                c.root.get_service_name()
            c.close()
        except Exception as e:  # noqa: BLE001
            print("ERROR %d %r" % (i, e), flush=True)
            sys.exit(1)
    print("OK %d" % n, flush=True)


if __name__ == "__main__":
    main()
