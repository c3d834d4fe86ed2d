#!/usr/bin/env bash
# The "Speed of data" figures (issue 12) in one table, Go and Python side by side (make bench-data):
# brine encode/decode, echo of 16 MiB random bytes (default config and compression off), connect
# cycles, idle connections. The Go side is measured like the Python side: separate client and
# server processes (internal/cmd/benchdata beside tox-interop/bench_data.py), and brine with
# `go test -bench` beside tox-interop/bench_brine.py. Everything but the idle row is pinned to the
# one core CPU (taskset). Prints medians of REPS runs; timings never fail the run. See
# tox-interop/bench_data.py for what each row measures.
#
#   bash tox-interop/bench_data.sh
#   env: REPS=3 CPU=0 SIZE=16777216 ECHOES=2 CYCLES_GO=3000 CYCLES_PY=1000 (each at least, and for
#        at least MINTIME=1 s) IDLE=2000 SETTLE=12
#        BRINETIME=0.5s PY6=1 (0: rpyc 5.3.0 only) COMMIT (label; default: git rev-parse --short HEAD)
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${REPS:-3}
cpu=${CPU:-0}
load=$(cut -d' ' -f1-3 /proc/loadavg)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"${GO:-go}" test -c -o "$tmp/brine.test" ./brine
"${GO:-go}" build -o "$tmp/benchdata" ./internal/cmd/benchdata
echo "-- brine, echo, connect: $reps runs, every process pinned to CPU $cpu; then idle connections (unpinned)" >&2
/usr/bin/python3 tox-interop/bench_data.py run --brine-test "$tmp/brine.test" --benchdata "$tmp/benchdata" \
	--reps "$reps" --cpu "$cpu" --brinetime "${BRINETIME:-0.5s}" --size "${SIZE:-16777216}" --echoes "${ECHOES:-2}" --mintime "${MINTIME:-1}" \
	--cycles-go "${CYCLES_GO:-3000}" --cycles-py "${CYCLES_PY:-1000}" --idle "${IDLE:-2000}" \
	--settle "${SETTLE:-12}" --py6 "${PY6:-1}" --load "$load" \
	--commit "${COMMIT:-}"
