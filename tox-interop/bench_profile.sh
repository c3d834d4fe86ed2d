#!/usr/bin/env bash
# Profiles behind the Core v2 speed figures (see tox-interop/bench_profile.py): pprof, syscalls
# per call (perf stat tracepoints and strace -f -c) and perf record, for Go client -> Go server
# (gorpyc and net/rpc) and for Python client -> gorpyc / Python server, all pinned to one core.
# Needs strace (apt-get install -y strace) and, for the undisturbed counts, perf.
#
#   bash tox-interop/bench_profile.sh [OUTDIR]      (env: CPU=0; OUTDIR defaults to a temp dir)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-$(mktemp -d /tmp/gorpyc-profile.XXXXXX)}
mkdir -p "$out"
"${GO:-go}" test -c -o "$out/core.test" .
"${GO:-go}" build -o "$out/benchserver" ./internal/cmd/benchserver
/usr/bin/python3 tox-interop/bench_profile.py --core-test "$out/core.test" --benchserver "$out/benchserver" \
	--out "$out" --cpu "${CPU:-0}"
echo "profiles and raw outputs: $out"
