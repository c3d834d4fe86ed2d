#!/usr/bin/python3
"""Parses command lines with Python rpyc's own `rpyc_registry` switches (plumbum), without
starting anything, so that gorpyc's cmd/rpyc-registry tests can check that the Go command
accepts and refuses the same command lines with the same meaning.

    registry_cli_flags.py '[["-p", "1"], ["--mode=tcp", "-l", "false"]]'

prints one JSON object per command line: {"ok": true, "mode": "TCP", "ipv6": false,
"port": 1, "logfile": null, "quiet": false, "timeout": 240, "listing": true}, or {"ok": false}
when plumbum refuses it (unknown switch, bad value, repeated switch, positional argument)."""
import contextlib
import io
import json
import sys

from rpyc.cli import rpyc_registry


class Probe(rpyc_registry.RegistryServer):
    def main(self):
        Probe.result = {
            "ok": True,
            "mode": self.mode.upper(),
            "ipv6": bool(self.ipv6),
            "port": self.port,
            "logfile": self.logfile,
            "quiet": bool(self.quiet),
            "timeout": self.pruning_timeout,
            "listing": bool(self.allow_listing),
        }


def parse(argv):
    Probe.result = {"ok": False}
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            Probe.run(["rpyc_registry"] + argv, exit=False)
        except SystemExit:
            pass
    return Probe.result


def main():
    for argv in json.loads(sys.argv[1]):
        print(json.dumps(parse(argv)), flush=True)


if __name__ == "__main__":
    main()
