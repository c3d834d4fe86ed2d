#!/usr/bin/env bash
# make demo: for each Python rpyc peer (5.3.0 and 6.0.1), start examples/pyserver/demo_service.py
# on a free loopback port and run the Go examples against it.
set -euo pipefail
cd "$(dirname "$0")/.."
py=/usr/bin/python3
rpyc6=$PWD/tox-interop/.peers/rpyc6/usr/lib/python3/dist-packages
bin=$(mktemp -d)
cleanup() {
	for p in ${pid:-} ${regpid:-} ${kvpid:-} ${pypid:-} ${tappid:-} ${metpid:-}; do kill "$p" 2>/dev/null || true; done
	rm -rf "$bin"
}
trap cleanup EXIT
go build -o "$bin/wire" ./examples/wire
go build -o "$bin/client" ./examples/client
go build -o "$bin/kvserver" ./examples/kvserver
go build -o "$bin/discovery" ./examples/discovery
go build -o "$bin/rpyc-registry" ./cmd/rpyc-registry
go build -o "$bin/classic" ./examples/classic
go build -o "$bin/rpyc" ./cmd/rpyc
go build -o "$bin/metrics" ./examples/metrics

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

echo "================ classic mode: a Python interpreter driven from Go ================"
for peer in "5:" "6:$rpyc6"; do
	echo "--- rpyc ${peer%%:*}.x: examples/classic over a python3 child's stdio (connect_subproc)"
	PYTHONPATH="${peer#*:}" "$bin/classic" -python "$py"
	echo "--- rpyc ${peer%%:*}.x: the rpyc command against rpyc_classic -m oneshot"
	PYTHONPATH="${peer#*:}" "$py" -c "from rpyc.cli.rpyc_classic import main; main()" -m oneshot --host 127.0.0.1 -p 0 >"$bin/oneshot.out" 2>/dev/null &
	pid=$!
	for _ in $(seq 100); do [ "$(wc -l <"$bin/oneshot.out")" -ge 2 ] && break; sleep 0.05; done
	caddr=$(awk 'NR==2 {print $1":"$2}' "$bin/oneshot.out")
	# A oneshot server accepts one connection: name the dialect instead of probing for it.
	echo "\$ rpyc eval --dialect v${peer%%:*} $caddr 'sorted({\"go\": 1, \"python\": 2}.items())'"
	"$bin/rpyc" eval --dialect "v${peer%%:*}" "$caddr" 'sorted({"go": 1, "python": 2}.items())'
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

echo "================ discovery by name: a Go registry, a Python server and a Go server ================"
"$bin/rpyc-registry" -m TCP -p 0 --host 127.0.0.1 -l yes 2>"$bin/reg.log" &
regpid=$!
for _ in $(seq 100); do grep -q 'addr=' "$bin/reg.log" && break; sleep 0.05; done
reg=$(sed -n 's/.*addr=\([0-9.:]*\).*/\1/p' "$bin/reg.log" | head -n1)
echo "rpyc-registry (Go) serving TCP at $reg"
"$py" examples/pyserver/demo_service.py --registry "$reg" >"$bin/py.out" 2>/dev/null < <(sleep 60) &
pypid=$!
"$bin/kvserver" -addr 127.0.0.1:0 -registry "$reg" >"$bin/kv2.out" 2>/dev/null &
kvpid=$!
for _ in $(seq 100); do
	names=$("$py" -c "import rpyc; from rpyc.utils.registry import TCPRegistryClient as T; h, p = '$reg'.split(':'); print(sorted(rpyc.list_services(registrar=T(ip=h, port=int(p)))))" 2>/dev/null || true)
	case "$names" in *DEMO*KV*) break ;; esac
	sleep 0.1
done
echo "--- Go client (examples/discovery)"
"$bin/discovery" -registry "$reg"
echo "--- Python client: rpyc.list_services and rpyc.connect_by_service through the same registry"
"$py" - "$reg" <<'PY'
import sys, rpyc
from rpyc.utils.registry import TCPRegistryClient
host, port = sys.argv[1].split(":")
reg = TCPRegistryClient(ip=host, port=int(port))
print("list_services ->", sorted(rpyc.list_services(registrar=reg)))
c = rpyc.connect_by_service("KV", registrar=reg)
print("connect_by_service('KV').root.get('found-by') ->", c.root.get("found-by"))
c.close()
PY

echo
echo "================ rpyc tap: every frame between a Python client and a Python server, decoded ================"
start_server ""
"$bin/rpyc" tap 127.0.0.1:0 "$addr" >"$bin/tap.out" 2>"$bin/tap.err" &
tappid=$!
for _ in $(seq 100); do grep -q 'listening on' "$bin/tap.err" && break; sleep 0.05; done
tapaddr=$(sed -n 's/.*listening on \([0-9.:]*\),.*/\1/p' "$bin/tap.err")
"$py" - "$tapaddr" <<'PY'
import sys, rpyc
host, port = sys.argv[1].split(":")
c = rpyc.connect(host, int(port))
print("through the tap: add(2, 3) =", c.root.add(2, 3), "; greet(\"tap\") =", c.root.greet("tap", greeting="Hi"))
try:
    c.root.divide(1, 0)
except ZeroDivisionError:
    print("through the tap: divide(1, 0) raised ZeroDivisionError")
c.close()
PY
sleep 0.3
kill "$tappid" 2>/dev/null || true; wait "$tappid" 2>/dev/null || true; tappid=""
echo "--- what rpyc tap printed"
cat "$bin/tap.out"
stop_server

echo
echo "================ metrics: a Go service instrumented with rpycotel, scraped as Prometheus text ================"
freeport() { "$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
rport=$(freeport)
mport=$(freeport)
"$bin/metrics" -addr "127.0.0.1:$rport" -metrics "127.0.0.1:$mport" 2>"$bin/metrics.err" &
metpid=$!
for _ in $(seq 100); do "$py" -c "import socket; socket.create_connection(('127.0.0.1', $rport), 0.2)" 2>/dev/null && break; sleep 0.05; done
"$py" - "$rport" <<'PY'
import sys, rpyc
c = rpyc.connect("127.0.0.1", int(sys.argv[1]))
print("Python client: add(2, 3) =", c.root.add(2, 3))
try:
    c.root.div(1, 0)
except ZeroDivisionError:
    print("Python client: div(1, 0) raised ZeroDivisionError")
c.close()
PY
echo "--- GET /metrics (rpyc_* lines, histogram buckets left out)"
"$py" -c "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:$mport/metrics').read().decode())" | grep '^rpyc_' | grep -v '_bucket'
kill "$metpid" 2>/dev/null || true; wait "$metpid" 2>/dev/null || true; metpid=""
