#!/usr/bin/python3
"""Runs Python rpyc's own registry command line (rpyc.cli.rpyc_registry, i.e. `rpyc_registry`)
for gorpyc's registry interop tests, with one change: the servers it creates bind the loopback
interface (127.0.0.1, or ::1 with -6) instead of every interface. Everything else (flag parsing,
UDP/TCP servers, logging) is rpyc's. Port 0 is allowed (plumbum's range is 0..65535): the bound
address is printed as "LISTENING 127.0.0.1:<port>" as soon as the socket is bound. The process
exits when stdin reaches EOF.

    python3 tox-interop/registry_server.py -m TCP -p 0 -t 1 -l yes"""
import os
import sys
import threading

import rpyc.cli.rpyc_registry as cli
from rpyc.utils import registry


def announce(sock):
    host, port = sock.getsockname()[:2]
    fmt = "LISTENING [%s]:%d" if ":" in host else "LISTENING %s:%d"
    print(fmt % (host, port), flush=True)


def loopback(host):
    return "::1" if ":" in host else "127.0.0.1"


class LoopbackUDPRegistryServer(registry.UDPRegistryServer):
    def __init__(self, host="0.0.0.0", *args, **kwargs):
        super().__init__(loopback(host), *args, **kwargs)
        announce(self.sock)


class LoopbackTCPRegistryServer(registry.TCPRegistryServer):
    def __init__(self, host="0.0.0.0", *args, **kwargs):
        super().__init__(loopback(host), *args, **kwargs)
        announce(self.sock)


def exit_on_eof():
    while os.read(0, 4096):
        pass
    os._exit(0)


def main():
    cli.UDPRegistryServer = LoopbackUDPRegistryServer
    cli.TCPRegistryServer = LoopbackTCPRegistryServer
    threading.Thread(target=exit_on_eof, daemon=True).start()
    sys.argv = ["rpyc_registry"] + sys.argv[1:]
    cli.main()


if __name__ == "__main__":
    main()
