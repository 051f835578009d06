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

.PHONY: all setup build build-asan build-tsan python test test-unit test-asan demo \
        bench clean build-fuzz fuzz fuzz-smoke valgrind soak

all: build

setup:
	@bash scripts/setup.sh

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

# The C tests, the cross-language conformance suite (pytest, every
# language), the C suite again under ASan + UBSan and under TSan, then the
# fuzz targets over their corpora (about ten seconds with the build).
test: build build-asan build-tsan python build-fuzz
	ctest --test-dir $(BUILD) -j$(JOBS) --output-on-failure
	JW_BUILD_DIR=$(abspath $(BUILD)) .venv/bin/python -m pytest -q
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --test-dir $(ASAN_BUILD) -j$(JOBS) --output-on-failure
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	  ctest --test-dir $(TSAN_BUILD) -j$(JOBS) --output-on-failure
	ctest --test-dir $(FUZZ_BUILD) --output-on-failure

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

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) $(FUZZ_BUILD) build-bench build-python
