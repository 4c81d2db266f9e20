# The two entry points are `make demo` and `make check`; both install what is missing
# first (scripts/install-deps.sh), so a fresh Debian 12 machine needs nothing else.

BUILD_DIR ?= build
FUZZ_SECONDS ?= 60

.PHONY: all deps build check demo fuzz bench format clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD_DIR)/normal -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD_DIR)/normal -j"$$(nproc)"

# Normal and ASan+UBSan builds (gcc) with every unit test, then a short smoke run of each
# fuzz target (clang). Prints CTest's closing line per build and a total at the end.
check: deps
	@BUILD_DIR=$(BUILD_DIR) scripts/check.sh

demo: deps
	@BUILD_DIR=$(BUILD_DIR) scripts/demo.sh

# Long fuzzing run: FUZZ_SECONDS per target (default 60).
fuzz: deps
	@BUILD_DIR=$(BUILD_DIR) FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh

# Benchmarks (Release build); each prints its figures and ratios.
bench: deps
	@BUILD_DIR=$(BUILD_DIR) scripts/bench.sh

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD_DIR)
