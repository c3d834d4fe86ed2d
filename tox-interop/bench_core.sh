#!/usr/bin/env bash
# The "Core v2" speed figures in one run, Go and Python side by side (make bench-core):
#   1. Go client -> Go server, gorpyc vs Go's net/rpc (gob): BenchmarkCore in core_bench_test.go,
#      one test process (client and server) under taskset, so GOMAXPROCS=1;
#   2. Python client -> Python server (rpyc 5.3.0 and 6.0.1), both processes pinned;
#   3. Python client -> gorpyc server (internal/cmd/benchserver), server CPU per call from
#      /proc/<pid>/task/*/schedstat, both processes pinned;
# everything on the one core CPU (default 0): a figure is the summed CPU of client and server,
# without cross-core wake-ups. Prints one table with medians (best in brackets) and the ratios
# against the goals. Timings never fail the run.
#
#   bash tox-interop/bench_core.sh            (env: CALLS=20000 REPS=5 BENCHTIME=2s CPU=0)
set -euo pipefail
cd "$(dirname "$0")/.."
calls=${CALLS:-20000}
reps=${REPS:-5}
benchtime=${BENCHTIME:-2s}
cpu=${CPU:-0}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"${GO:-go}" test -c -o "$tmp/core.test" .
"${GO:-go}" build -o "$tmp/benchserver" ./internal/cmd/benchserver
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); CPUs online: $(nproc --all)"
echo "-- Go: taskset -c $cpu core.test -test.bench='^BenchmarkCore\$' -test.benchtime=$benchtime -test.count=$reps"
taskset -c "$cpu" "$tmp/core.test" -test.run='^$' -test.bench='^BenchmarkCore$' -test.benchtime="$benchtime" \
	-test.count="$reps" -test.timeout=30m | tee "$tmp/go.txt"
echo "-- Python: $reps runs x $calls calls per configuration, pinned to CPU $cpu"
/usr/bin/python3 tox-interop/bench_core.py --go-bench "$tmp/go.txt" --benchserver "$tmp/benchserver" \
	--calls "$calls" --reps "$reps" --cpu "$cpu"
