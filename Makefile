# The two commands README.md opens with:
#   make demo   the tutorial's tour against a private nats-server
#   make test   the whole test suite (also what CI runs)
# Each does the set-up it needs first.

BUILD      ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
FUZZ_BUILD ?= build-fuzz
JOBS       ?= 2
# Seconds per target for `make fuzz`.
FUZZ_SECONDS ?= 60
# The servers `make test` runs the suite against (docs/servers.md): the
# current release, built by scripts/servers.sh into .tools/bin, and
# Debian's 2.9.10, the oldest supported. Every harness takes its server
# from JW_NATS_SERVER.
NATS_SERVER_CURRENT ?= $(abspath .tools/bin/nats-server)
NATS_SERVER_OLDEST  ?= /usr/sbin/nats-server

.PHONY: all setup servers build build-asan build-tsan python test test-unit \
        test-asan test-server demo bench clean build-fuzz fuzz fuzz-smoke \
        valgrind soak wheel sdist test-wheel

all: build

setup:
	@bash scripts/setup.sh

# nats-server 2.15.3 and natscli into .tools/bin (nothing when there).
servers: setup
	@bash scripts/servers.sh

build: setup
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build $(BUILD) -j$(JOBS)

build-asan: setup
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DJW_SANITIZE=ON \
	  -DJW_BUILD_EXAMPLES=OFF >/dev/null
	cmake --build $(ASAN_BUILD) -j$(JOBS)

# The C suite under ThreadSanitizer: the engine's loop thread, callers'
# threads and the direct sends of requests and replies share its state.
build-tsan: setup
	cmake -S . -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DJW_TSAN=ON \
	  -DJW_BUILD_EXAMPLES=OFF >/dev/null
	cmake --build $(TSAN_BUILD) -j$(JOBS)

# The libFuzzer targets of fuzz/ (clang, ASan + UBSan), in their own build
# directory; docs/fuzzing.md says what each covers.
build-fuzz: setup
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DJW_FUZZ=ON \
	  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build $(FUZZ_BUILD) -j$(JOBS)

# Each target for FUZZ_SECONDS (bounded, one at a time).
fuzz: build-fuzz
	FUZZ_SECONDS=$(FUZZ_SECONDS) bash fuzz/run.sh $(FUZZ_BUILD)

# Each target over its checked-in corpus only: seconds, part of `make test`.
fuzz-smoke: build-fuzz
	ctest --test-dir $(FUZZ_BUILD) --output-on-failure

# The Python package, installed into the venv the way users install it, so
# that tests import the installed copy (offline: the venv has the tools).
python: setup
	.venv/bin/pip install -q --no-build-isolation .

# The Python distributions, made with the venv's tools (offline) by
# scripts/dist.sh into dist/ (git-ignored):
#   make sdist   dist/jetwire-VERSION.tar.gz: the engine's sources, the
#                header, the package and its build files (MANIFEST.in)
#   make wheel   the sdist, and a wheel built from it and repaired by
#                auditwheel into a manylinux wheel carrying libevent,
#                msgpack-c, jansson and OpenSSL (on Debian 12:
#                dist/jetwire-VERSION-cp311-cp311-manylinux_2_36_x86_64.whl)
wheel: setup
	bash scripts/dist.sh wheel dist
sdist: setup
	bash scripts/dist.sh sdist dist

# Both distributions installed into fresh venvs and tested there
# (tests/install/wheel.sh): the wheel's extension loads its libraries from
# the wheel (ldd) and part of the pytest suite passes against it; the
# sdist builds with pip's build isolation against the system's libraries.
# About 45 s; `make test` runs it once, against nats-server 2.15.3
# (alone: JW_NATS_SERVER as for test-server).
test-wheel: build
	bash tests/install/wheel.sh $(BUILD)

# The ABI guard (the built library against abi/libjetwire.abi), then the
# C tests and the cross-language conformance suite (pytest, every
# language) against each server of the matrix, nats-server 2.15.3 and then
# 2.9.10 (the oldest supported); the Python wheel and sdist installed and
# tested (test-wheel, 45 s); the C suite again under ASan + UBSan and
# under TSan against 2.15.3; then the fuzz targets over their corpora
# (about ten seconds with the build). About 21 minutes on 2 cores once
# set up (each server pass: ctest 30 s; pytest 9.7 min against 2.15.3,
# 7.4 min against 2.9.10, which leaves out the server_independent tests
# the first pass ran; test-wheel 1 min), 3 more the first time (venv,
# nats-server 2.15.3 built with Go: docs/servers.md).
test: build build-asan build-tsan python build-fuzz servers
	bash scripts/abi_check.sh $(BUILD)
	$(MAKE) --no-print-directory test-server JW_NATS_SERVER=$(NATS_SERVER_CURRENT)
	$(MAKE) --no-print-directory test-server JW_NATS_SERVER=$(NATS_SERVER_OLDEST)
	$(MAKE) --no-print-directory test-wheel JW_NATS_SERVER=$(NATS_SERVER_CURRENT)
	JW_NATS_SERVER=$(NATS_SERVER_CURRENT) \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --test-dir $(ASAN_BUILD) -j$(JOBS) --output-on-failure
	JW_NATS_SERVER=$(NATS_SERVER_CURRENT) \
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	  ctest --test-dir $(TSAN_BUILD) -j$(JOBS) --output-on-failure
	ctest --test-dir $(FUZZ_BUILD) --output-on-failure

# The ABI guard alone (scripts/abi_check.sh): abi-baseline records the
# built library's ABI as the new baseline, after a deliberate change.
.PHONY: abi-check abi-baseline
abi-check: build
	bash scripts/abi_check.sh $(BUILD)
abi-baseline: build
	bash scripts/abi_check.sh $(BUILD) --update

# ctest of $(BUILD) and the pytest suite against one server, the one
# JW_NATS_SERVER names (from the command line or the environment; Debian's
# 2.9.10 when unset), without building:
#   make test-server JW_NATS_SERVER=$PWD/.tools/bin/nats-server
test-server:
	@echo "== nats-server: $${JW_NATS_SERVER:-default} ($$($${JW_NATS_SERVER:-$(NATS_SERVER_OLDEST)} --version))"
	ctest --test-dir $(BUILD) -j$(JOBS) --output-on-failure
	JW_BUILD_DIR=$(abspath $(BUILD)) .venv/bin/python -m pytest -q

# The C integration and unit tests under valgrind memcheck, no leak
# allowed (about 35 s with JOBS=2; not part of `make test`).
valgrind: build
	JOBS=$(JOBS) bash scripts/valgrind.sh $(BUILD)

# Every delivery path of every language for SOAK_SECONDS (default 120)
# each under a random mix of bursts, trickles and idle gaps (about 23
# minutes; not part of `make test`). docs/soak.md: SOAK_PATHS, SOAK_SEED.
soak: build python
	JW_BUILD_DIR=$(abspath $(BUILD)) .venv/bin/python tests/soak/soak.py

test-unit: build
	ctest --test-dir $(BUILD) -j$(JOBS) -L unit --output-on-failure

demo: build python
	BUILD_DIR=$(BUILD) bash scripts/demo.sh

bench: setup
	bash bench/run.sh

.PHONY: bench-python
bench-python: setup
	bash bench/run_python.sh

.PHONY: bench-lua
bench-lua: setup
	bash bench/run_lua.sh

# Services: the C engine, the Python package and nats.go's micro serving
# one echo endpoint to the same load client (needs the venv's package).
.PHONY: bench-services
bench-services: setup python
	bash bench/run_services.sh

# JetStream publishing with batches: fast-ingest and atomic batches from
# the C engine (and the bindings' fast path) beside nats.c and nats.go's
# async publish, on nats-server 2.15.3.
.PHONY: bench-js-batch
bench-js-batch: setup python
	bash bench/run_js_batch.sh

# The object store: one 256 MiB object put and read back by the C engine,
# the Python package and nats.go, on nats-server 2.15.3.
.PHONY: bench-objects
bench-objects: setup python
	bash bench/run_objects.sh

# Scale: 1 / 10 / 100 publishers into 1 / 100 / 10,000 handler
# subscriptions on one connection and payloads of 16 B to 64 KiB, the C
# engine beside nats.go, on nats-server 2.15.3.
.PHONY: bench-scale
bench-scale: setup
	bash bench/run_scale.sh

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) $(FUZZ_BUILD) build-bench build-python
