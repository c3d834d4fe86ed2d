"""Python's own unix_connect to a server on the Unix socket argv[1]: prints its service name and
root.add(20, 22) (interop test of gorpyc's server on a Unix socket)."""
import sys

from rpyc.utils.factory import unix_connect

c = unix_connect(sys.argv[1])
print(c.root.get_service_name(), c.root.add(20, 22))
c.close()
