#!/usr/bin/python3
"""Python's side of gorpyc's SSH connect-time benchmark (sshtunnel/bench_test.go): the time of
rpyc.ssh_connect + root + one call + close through a real sshd, with plumbum's SshMachine (which
runs the ssh binary), median of N runs.

Usage: ssh_connect_bench.py MODE SSH_HOST SSH_PORT USER KEYFILE KNOWN_HOSTS RPYC_PORT N
MODE "reuse" keeps one SshMachine for every connect (ssh_connect still starts an ssh process, a
new login, for each tunnel); "oneshot" makes and closes an SshMachine per connect too.
Prints "MEDIAN_MS <ms>"."""
import statistics
import sys
import time

import rpyc
from plumbum import SshMachine


def main():
    mode, host, ssh_port, user, keyfile, known_hosts, port, n = sys.argv[1:]
    ssh_port, port, n = int(ssh_port), int(port), int(n)
    opts = ["-o", "UserKnownHostsFile=" + known_hosts, "-o", "StrictHostKeyChecking=yes",
            "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-F", "/dev/null"]

    def machine():
        return SshMachine(host, port=ssh_port, user=user, keyfile=keyfile, ssh_opts=opts)

    shared = machine() if mode == "reuse" else None
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        m = shared or machine()
        conn = rpyc.ssh_connect(m, port)
        assert conn.root.add(1, 2) == 3
        conn.close()
        if shared is None:
            m.close()
        times.append(time.perf_counter() - t0)
    if shared is not None:
        shared.close()
    print("MEDIAN_MS %.3f" % (statistics.median(times) * 1000), flush=True)


if __name__ == "__main__":
    main()
