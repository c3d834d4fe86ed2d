#!/usr/bin/env bash
# make demo: for each Python rpyc peer (5.3.0 and 6.0.1), start examples/pyserver/demo_service.py
# on a free loopback port and run the Go examples against it.
set -euo pipefail
cd "$(dirname "$0")/.."
py=/usr/bin/python3
rpyc6=$PWD/tox-interop/.peers/rpyc6/usr/lib/python3/dist-packages
bin=$(mktemp -d)
trap 'rm -rf "$bin"; [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null || true' EXIT
go build -o "$bin/wire" ./examples/wire
go build -o "$bin/client" ./examples/client
go build -o "$bin/kvserver" ./examples/kvserver

start_server() { # $1 = PYTHONPATH
	out="$bin/server.out"
	: >"$out"
	PYTHONPATH="$1" "$py" examples/pyserver/demo_service.py >"$out" 2>"$bin/server.err" &
	pid=$!
	for _ in $(seq 100); do grep -q LISTENING "$out" && break; sleep 0.05; done
	addr=$(awk '/LISTENING/ {print $2}' "$out")
	[ -n "$addr" ] || { cat "$bin/server.err"; exit 1; }
}
stop_server() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=""; }

for peer in "5:" "6:$rpyc6"; do
	ver=${peer%%:*}
	path=${peer#*:}
	start_server "$path"
	echo "================ Python rpyc $ver.x demo service at $addr ================"
	echo "--- 1. the raw wire: hand-built frames (examples/wire)"
	"$bin/wire" -addr "$addr" -dialect "v$ver"
	echo
	echo "--- 2. the Go client API (examples/client)"
	"$bin/client" -addr "$addr"
	stop_server
	echo
done

echo "================ a Go service (examples/kvserver) used by plain Python rpyc clients ================"
"$bin/kvserver" -addr 127.0.0.1:0 >"$bin/kv.out" 2>"$bin/kv.err" &
pid=$!
for _ in $(seq 100); do grep -q LISTENING "$bin/kv.out" && break; sleep 0.05; done
addr=$(awk '/LISTENING/ {print $2}' "$bin/kv.out")
for peer in "5:" "6:$rpyc6"; do
	echo "--- Python rpyc ${peer%%:*}.x client (examples/kvserver/client.py)"
	PYTHONPATH="${peer#*:}" "$py" examples/kvserver/client.py "$addr"
	echo
done
stop_server
