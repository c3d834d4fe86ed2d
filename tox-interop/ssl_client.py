#!/usr/bin/python3
"""Python's ssl_connect to a Go TLS server (server.Server with TLSConfig): argv HOST:PORT CAFILE
[CERT KEY]. Verifies the server's certificate against CAFILE (rpyc checks no host name), presents
CERT/KEY as a client certificate if given, calls root.add(20, 22) and prints "TLS 42"."""
import sys

import rpyc

host, port = sys.argv[1].rsplit(":", 1)
kwargs = {"ca_certs": sys.argv[2]}
if len(sys.argv) > 4:
    kwargs["certfile"], kwargs["keyfile"] = sys.argv[3], sys.argv[4]
c = rpyc.ssl_connect(host, int(port), **kwargs)
print("TLS", c.root.add(20, 22))
c.close()
