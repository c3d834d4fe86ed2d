"""Python's own connect_subproc: starts the Go service binary argv[1] (examples/stdioserver) as a
child and uses it over the child's standard input and output (interop test of
server.ServeStdio)."""
import sys

import rpyc

c = rpyc.connect_subproc([sys.argv[1]])
print(c.root.add(20, 22), c.root.pid() == c.proc.pid, c.root.get_service_name())
c.close()
c.proc.wait()
print("exit", c.proc.returncode)
