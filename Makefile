# Tether: `make run` serves on :8080, `make test` runs every test. See README.md.
SWIFT ?= swift
PORT ?= 8080
BIN_DEBUG = $(shell $(SWIFT) build --show-bin-path 2>/dev/null)
BIN_RELEASE = $(shell $(SWIFT) build -c release --show-bin-path 2>/dev/null)

.PHONY: deps test-deps build release run test test-swift test-e2e clean

deps:
	@scripts/deps.sh build

test-deps:
	@scripts/deps.sh test

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

run: release
	$(BIN_RELEASE)/tether --port $(PORT)

test: test-deps build test-swift test-e2e

test-swift:
	$(SWIFT) test

# End-to-end tests with an independent client (Python websockets) against the built server.
test-e2e:
	TETHER_BIN=$(BIN_DEBUG)/tether python3 -m pytest -q Tests/e2e

clean:
	rm -rf .build
