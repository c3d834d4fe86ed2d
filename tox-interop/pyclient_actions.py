#!/usr/bin/python3
"""Single actions of a plain rpyc client, for gorpyc's server lifecycle tests.

    pyclient_actions.py hold HOST:PORT        take references, start sleep(30), get killed
    pyclient_actions.py slowcall HOST:PORT S  call sleep(S), print "RESULT <value>" or "ERROR <exc>"
    pyclient_actions.py calls HOST:PORT N     N add() calls, print "OK N"
"""
import sys

import rpyc


def connect(addr):
    host, port = addr.rsplit(":", 1)
    return rpyc.connect(host, int(port), config={"sync_request_timeout": 60})


def main():
    action, addr = sys.argv[1], sys.argv[2]
    c = connect(addr)
    if action == "hold":
        refs = [c.root.scores(), c.root.numbers_ref(), c.root.get_point()]
        assert len(refs[0]) == 3
        print("HOLDING %d" % len(refs), flush=True)
        c.root.sleep(30)
    elif action == "slowcall":
        try:
            print("RESULT %r" % (c.root.sleep(float(sys.argv[3])),), flush=True)
        except Exception as e:  # noqa: BLE001
            print("ERROR %r" % (e,), flush=True)
    elif action == "calls":
        n = int(sys.argv[3])
        for i in range(n):
            assert c.root.add(i, 1) == i + 1
        assert c.root.greet("x", greeting="y") == "y, x!"
        print("OK %d" % n, flush=True)
    c.close()


if __name__ == "__main__":
    main()
