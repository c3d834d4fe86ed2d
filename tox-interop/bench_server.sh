#!/usr/bin/env bash
# Python rpyc's own client (bench_client.py) against a gorpyc server and against Python rpyc
# ThreadedServers of both versions: calls per second as the client measures them, and the
# server process's CPU time per call, read from /proc (both servers are separate processes).
#
#   bash tox-interop/bench_server.sh [CALLS]     (make bench runs it)
set -euo pipefail
cd "$(dirname "$0")/.."
py=/usr/bin/python3
rpyc6=$PWD/tox-interop/.peers/rpyc6/usr/lib/python3/dist-packages
calls=${1:-5000}
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT
go build -o "$tmp/benchserver" ./internal/cmd/benchserver

# measure LABEL CLIENT_PYTHONPATH MODE -- SERVER COMMAND...
measure() {
	local label=$1 cpath=$2 mode=$3
	shift 4
	"$@" >"$tmp/out" 2>/dev/null < <(sleep 600) &
	local pid=$!
	for _ in $(seq 200); do grep -q LISTENING "$tmp/out" && break; sleep 0.05; done
	local addr
	addr=$(awk '/LISTENING/ {print $2}' "$tmp/out")
	PYTHONPATH="$cpath" "$py" tox-interop/bench_client.py "$addr" 300 "$mode" >/dev/null
	local t0 t1 hz
	hz=$(getconf CLK_TCK)
	t0=$(awk '{print $14+$15}' "/proc/$pid/stat")
	read -r ns persec < <(PYTHONPATH="$cpath" "$py" tox-interop/bench_client.py "$addr" "$calls" "$mode")
	t1=$(awk '{print $14+$15}' "/proc/$pid/stat")
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	awk -v l="$label" -v m="$mode" -v r="$persec" -v d="$((t1 - t0))" -v hz="$hz" -v n="$calls" \
		'BEGIN { printf "%-34s %-5s %10.0f calls/s %12.1f server-cpu-us/call\n", l, m, r, d * 1e6 / hz / n }'
}

for mode in add echo; do
	measure "gorpyc server, rpyc 5.3.0 client" "" "$mode" -- "$tmp/benchserver"
	measure "Python 5.3.0 server and client" "" "$mode" -- "$py" tox-interop/test_service.py
	measure "gorpyc server, rpyc 6.0.1 client" "$rpyc6" "$mode" -- "$tmp/benchserver"
	measure "Python 6.0.1 server and client" "$rpyc6" "$mode" -- env PYTHONPATH="$rpyc6" "$py" tox-interop/test_service.py
done
