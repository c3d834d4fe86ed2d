#!/usr/bin/python3
"""Runs rpyc's own classic server command line (rpyc.cli.rpyc_classic, what /usr/bin/rpyc_classic
runs) in a thread with the given arguments plus `--host 127.0.0.1 -p <free port>`, prints
"LISTENING 127.0.0.1:<port>" once it accepts connections, and exits when stdin closes (the
command itself would serve forever)."""
import socket
import sys
import threading
import time

from rpyc.cli.rpyc_classic import ClassicServer


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main():
    port = free_port()
    argv = ["rpyc_classic"] + sys.argv[1:] + ["--host", "127.0.0.1", "-p", str(port)]
    threading.Thread(target=ClassicServer.run, kwargs={"argv": argv, "exit": False}, daemon=True).start()
    deadline = time.time() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.time() > deadline:
                sys.exit("rpyc_classic did not start")
            time.sleep(0.02)
    print("LISTENING 127.0.0.1:%d" % port, flush=True)
    sys.stdin.read()


if __name__ == "__main__":
    main()
