#!/usr/bin/env bash
# Runs examples/wire against a real Python rpyc server of each peer version (make demo).
set -euo pipefail
cd "$(dirname "$0")/../.."
py=/usr/bin/python3
rpyc6=$PWD/tox-interop/.peers/rpyc6/usr/lib/python3/dist-packages
go build -o /tmp/gorpyc-wire ./examples/wire
for peer in "5:" "6:$rpyc6"; do
	ver=${peer%%:*}
	path=${peer#*:}
	out=$(mktemp)
	PYTHONPATH="$path" "$py" examples/pyserver/demo_service.py --oneshot >"$out" 2>/dev/null &
	pid=$!
	for _ in $(seq 50); do grep -q LISTENING "$out" && break; sleep 0.1; done
	addr=$(awk '/LISTENING/ {print $2}' "$out")
	echo "=== Python rpyc $ver.x server at $addr, dialect v$ver"
	/tmp/gorpyc-wire -addr "$addr" -dialect "v$ver" || { kill $pid 2>/dev/null; exit 1; }
	sleep 0.2
	kill $pid 2>/dev/null || true
	wait $pid 2>/dev/null || true
	rm -f "$out"
	echo
done
