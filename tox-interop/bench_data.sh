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
#   env: REPS=3 CPU=0 SIZE=16777216 ECHOES=2 CYCLES_GO=3000 CYCLES_PY=1000 IDLE=2000 SETTLE=12
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
echo "-- Go brine: taskset -c $cpu brine.test -test.bench='^Benchmark(Dump|Load)' -test.count=$reps" >&2
# in ./brine, where go test runs it (its benchmarks read testdata/); a failed benchmark leaves its
# row out of the table (reported there), the others are still shown
(cd brine && taskset -c "$cpu" "$tmp/brine.test" -test.run='^$' -test.bench='^Benchmark(Dump|Load)' \
	-test.benchtime="${BRINETIME:-0.5s}" -test.count="$reps" -test.benchmem -test.timeout=30m) >"$tmp/brine.txt" ||
	{ echo "go brine benchmarks failed:" >&2; grep -v '^Benchmark' "$tmp/brine.txt" >&2; }
echo "-- servers and clients: $reps runs, pinned to CPU $cpu (idle row unpinned)" >&2
/usr/bin/python3 tox-interop/bench_data.py run --go-brine "$tmp/brine.txt" --benchdata "$tmp/benchdata" \
	--reps "$reps" --cpu "$cpu" --size "${SIZE:-16777216}" --echoes "${ECHOES:-2}" \
	--cycles-go "${CYCLES_GO:-3000}" --cycles-py "${CYCLES_PY:-1000}" --idle "${IDLE:-2000}" \
	--settle "${SETTLE:-12}" --py6 "${PY6:-1}" --load "$load" \
	--commit "${COMMIT:-}"
