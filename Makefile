# gorpyc: common tasks. `make test` is what CI runs (.ci/run).
SHELL := /bin/bash
GO ?= go
PYTHON ?= /usr/bin/python3
FUZZTIME ?= 5m

.PHONY: all test peers vet demo bench bench-core bench-data bench-registry fuzz golden golden-check

all: test

## peers: install/unpack both Python rpyc peers (5.3.0 via apt, 6.0.1 from trixie's .deb); idempotent
peers:
	bash tox-interop/prepare.sh

## vet: static checks
vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { gofmt -l .; echo "gofmt needed"; exit 1; }

## test: peers, vet, then every test with the race detector (interop against both peers included)
test: peers
	bash tox-interop/prepare_tools.sh
	$(GO) mod download
	$(MAKE) --no-print-directory vet
	set -o pipefail; $(GO) test -race -count=1 -timeout 15m -json ./... | $(GO) run ./internal/cmd/testreport
	# what the race detector skips: brine's decoded-size accounting against real heap figures
	$(GO) test -count=1 -run '^TestDecodedSizeMatchesHeap$$' ./brine

## demo: a hand-built RPyC request to real Python rpyc servers of both versions
demo: peers
	bash examples/run_demo.sh

## soak: the hostile-peer suites (server, client, registry) with their long and heavy forms
.PHONY: soak
soak:
	GORPYC_SOAK=1 $(GO) test -run Hostile -timeout 30m -v ./server ./registry .

## bench: Go benchmarks beside Python rpyc's own figures on the same work
bench: peers
	$(GO) test -run='^$$' -bench=. -benchmem ./brine ./channel
	$(PYTHON) tox-interop/bench_brine.py
	PYTHONPATH=$(CURDIR)/tox-interop/.peers/rpyc6/usr/lib/python3/dist-packages $(PYTHON) tox-interop/bench_brine.py
	$(GO) test -run='^$$' -bench=RoundTrip -benchtime=5000x .
	$(GO) test -run='^$$' -bench=PythonClient -benchtime=5000x ./server
	bash tox-interop/bench_server.sh 5000
	$(GO) test -run='^$$' -bench=. -benchtime=10x ./classic
	$(MAKE) --no-print-directory bench-core
	$(MAKE) --no-print-directory bench-data

## bench-core: the Core v2 speed figures in one table, everything pinned to one core (taskset -c 0):
## Go->Go gorpyc vs net/rpc, Python->Python, Python->gorpyc server CPU (CALLS, REPS, BENCHTIME, CPU)
bench-core: peers
	GO=$(GO) bash tox-interop/bench_core.sh

## bench-data: the "Speed of data" table (brine, 16 MiB echo, connect cycles, idle connections), Go and
## Python side by side, separate client and server processes pinned to one core (REPS, CPU, IDLE, ...:
## see tox-interop/bench_data.sh); under 5 minutes
bench-data: peers
	GO=$(GO) bash tox-interop/bench_data.sh

## bench-registry: 100,000 registrations and 20,000 QUERY/s, Go and Python registries (slow)
bench-registry: peers
	GORPYC_REGISTRY_SCALE=1 $(GO) test -run 'TestRegistryScale' -v -timeout 30m ./registry

## bench-registry-etcd: the etcd backend's QUERY/REGISTER figures beside the in-memory and Python
## registries, visibility across replicas, failover times (three etcd members on loopback)
.PHONY: bench-registry-etcd
bench-registry-etcd: peers
	bash tox-interop/prepare_tools.sh
	GORPYC_REGISTRY_ETCD_BENCH=1 taskset -c 0 $(GO) test -count=1 -run 'TestRegistryEtcdBench' -v -timeout 10m ./cmd/rpyc-registry
	GORPYC_REGISTRY_ETCD_BENCH=1 $(GO) test -count=1 -run 'TestRegistryEtcdBench' -v -timeout 10m ./cmd/rpyc-registry

## fuzz: run every fuzz target for FUZZTIME each
fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzLoad -fuzztime=$(FUZZTIME) -fuzzminimizetime=5s ./brine
	$(GO) test -run='^$$' -fuzz=FuzzFrame -fuzztime=$(FUZZTIME) -fuzzminimizetime=5s ./channel
	$(GO) test -run='^$$' -fuzz=FuzzHandleDatagram -fuzztime=$(FUZZTIME) -fuzzminimizetime=5s ./registry
	$(GO) test -run='^$$' -fuzz=FuzzDispatch -fuzztime=$(FUZZTIME) -fuzzminimizetime=5s ./protocol
	$(GO) test -run='^$$' -fuzz=FuzzLoads -fuzztime=$(FUZZTIME) -fuzzminimizetime=5s ./internal/pickle

## golden: regenerate testdata/*.json with Debian's rpyc 5.3.0; golden-check: verify under both peers
golden: peers
	$(PYTHON) testdata/gen_golden.py
golden-check: peers
	$(PYTHON) testdata/gen_golden.py --check
	PYTHONPATH=$(CURDIR)/tox-interop/.peers/rpyc6/usr/lib/python3/dist-packages $(PYTHON) testdata/gen_golden.py --check
