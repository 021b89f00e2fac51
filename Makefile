# Tether: `make run` serves on :8080, `make test` runs every test. See README.md.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
SWIFT ?= swift
PORT ?= 8080
NODES ?= 3
BIN_DEBUG = $(shell $(SWIFT) build --show-bin-path 2>/dev/null)
BIN_RELEASE = $(shell $(SWIFT) build -c release --show-bin-path 2>/dev/null)

FUZZ_SECONDS ?= 60
FUZZ_FLAGS = -sanitize=fuzzer,address -parse-as-library -O -I CCrypto
WEBSOCKET_SOURCES = $(wildcard Sources/WebSocket/*.swift) $(wildcard Sources/SHA1/*.swift) $(wildcard Sources/StringBytes/*.swift)
DEFLATE_SOURCES = $(wildcard Sources/WebSocketDeflate/*.swift)
TLS_SOURCES = $(wildcard Sources/TLS/*.swift)

.PHONY: deps test-deps bench-deps build release run cluster test test-swift test-e2e screenshots fuzz microbench bench soak scale clean

deps:
	@scripts/deps.sh build

test-deps:
	@scripts/deps.sh test

build: deps
	$(SWIFT) build

# RELEASE_FLAGS lets the container build link the Swift runtime statically.
RELEASE_FLAGS ?=
release: deps
	$(SWIFT) build -c release $(RELEASE_FLAGS)

run: release
	$(BIN_RELEASE)/tether --port $(PORT)

# NODES Tether processes sharing PORT (--reuse-port), one fleet through a local redis-server that
# saves nothing (REDIS_PORT, default 6379); Ctrl-C stops them all. CLUSTER_ARGS go to every node
# (watchers mode by default: in mode all every node hears every device's events).
CLUSTER_ARGS ?= --presence watchers
cluster: release
	@command -v redis-server >/dev/null || scripts/deps.sh cluster
	NODES=$(NODES) PORT=$(PORT) BIN=$(BIN_RELEASE) scripts/cluster.sh $(CLUSTER_ARGS)

test: test-deps build test-swift test-e2e

# The client-library tests start servers and time reconnects: they run alone, after the rest, so
# the other suites' load cannot starve them (each bounded, a hang fails instead of stalling CI).
test-swift:
	$(SWIFT) test --skip TetherClientTests
	timeout 300 $(SWIFT) test --skip-build --filter TetherClientTests

# End-to-end tests with an independent client (Python websockets) against the built server.
test-e2e:
	TETHER_BIN=$(BIN_DEBUG)/tether python3 -m pytest -q Tests/e2e

# Retakes docs/images/box-page.png, remote-page.png, console-desktop.png and console-phone.png from the browser tests.
screenshots: test-deps build
	TETHER_SCREENSHOTS=$(CURDIR)/docs/images TETHER_BIN=$(BIN_DEBUG)/tether python3 -m pytest -q Tests/e2e/test_pairing_browser.py Tests/e2e/test_console.py

# libFuzzer over the frame decoder, the request-head parser, inflate and the TLS record path, each for FUZZ_SECONDS
# (no crash, no hang over 10 s, RSS under 2 GiB). Crashes are written to fuzz-out/.
fuzz: deps
	mkdir -p .build fuzz-out
	swiftc $(FUZZ_FLAGS) -module-name FuzzDecoder $(WEBSOCKET_SOURCES) Fuzz/FrameDecoderFuzz.swift -lcrypto -o .build/fuzz-decoder
	swiftc $(FUZZ_FLAGS) -module-name FuzzRequestHead $(WEBSOCKET_SOURCES) Fuzz/RequestHeadFuzz.swift -lcrypto -o .build/fuzz-request-head
	@# The deflate sources import WebSocket: compiled together under that module's name (each such import is then ignored, with a warning).
	swiftc $(FUZZ_FLAGS) -suppress-warnings -I CZlib -module-name WebSocket $(WEBSOCKET_SOURCES) $(DEFLATE_SOURCES) Fuzz/InflateFuzz.swift -lcrypto -lz -o .build/fuzz-inflate
	swiftc $(FUZZ_FLAGS) -I CSSL -module-name FuzzTLS $(TLS_SOURCES) Fuzz/TLSRecordFuzz.swift -lssl -lcrypto -o .build/fuzz-tls
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=localhost \
		-keyout .build/fuzz-tls-key.pem -out .build/fuzz-tls-cert.pem 2>/dev/null
	.build/fuzz-decoder -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 -artifact_prefix=fuzz-out/ -print_final_stats=1 2>&1 | tail -n 12
	.build/fuzz-request-head -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 -artifact_prefix=fuzz-out/ -print_final_stats=1 2>&1 | tail -n 12
	@# Seeds: real permessage-deflate payloads (raw deflate, sync-flush tail stripped), so mutations start from valid streams.
	mkdir -p .build/fuzz-corpus-inflate && python3 -c 'import zlib,sys; [open(f".build/fuzz-corpus-inflate/seed{i}","wb").write(bytes([i*40]) + (lambda c: c.compress(m) + c.flush(zlib.Z_SYNC_FLUSH))(zlib.compressobj(9, zlib.DEFLATED, -15))[:-4]) for i, m in enumerate([b"{\"from\":\"ph-1\",\"to\":\"box-1\",\"msg\":\"hello\"}", b"a" * 5000, bytes(range(256)) * 4])]'
	.build/fuzz-inflate .build/fuzz-corpus-inflate -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 -artifact_prefix=fuzz-out/ -print_final_stats=1 2>&1 | tail -n 12
	TLS_FUZZ_CERT=.build/fuzz-tls-cert.pem TLS_FUZZ_KEY=.build/fuzz-tls-key.pem .build/fuzz-tls -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 -artifact_prefix=fuzz-out/ -print_final_stats=1 2>&1 | tail -n 12

# Hot-path micro-benchmarks (decode, unmask, UTF-8, envelope scan, encode), release build.
microbench: release
	$(BIN_RELEASE)/tether-microbench

# The reference servers' runtime (node-ws) and redis-server for the cluster rows; Hummingbird is used when its anchor has been built.
bench-deps: deps
	@[ -d /usr/share/nodejs/ws ] && command -v redis-server >/dev/null || scripts/deps.sh bench

# The standard load suite against Tether and the reference servers; rewrites docs/benchmarks.md.
bench: bench-deps release
	scripts/bench.sh

# Watchers-mode soak (not part of CI): churn, paced pairs, with and without hostile clients; writes docs/benchmarks-soak.md.
soak: release
	scripts/soak.sh

# Cluster scale run (not part of CI): ~60,000 devices over 4 nodes and one redis-server, pairs routing
# across nodes, one node killed with -9; writes docs/benchmarks-scale.md. Smaller: see scripts/scale.sh.
scale: release
	@command -v redis-server >/dev/null || scripts/deps.sh cluster
	scripts/scale.sh

clean:
	rm -rf .build
