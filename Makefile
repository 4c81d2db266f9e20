# The two entry points are `make demo` and `make check`; both install what is missing
# first (scripts/install-deps.sh), so a fresh Debian 12 machine needs nothing else.

BUILD_DIR ?= build
FUZZ_SECONDS ?= 60
PREFIX ?= /usr/local

.PHONY: all deps build check demo fuzz soak bench install format clean

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

# Reliability campaign (docs/reliability.md): the daemon soak, SOAK_DUTS DUTs (default
# 10000) over 8 sites with faults drawn per DUT, then KILLS kill -9 (default 100).
soak: deps
	@BUILD_DIR=$(BUILD_DIR) scripts/soak.sh

# Benchmarks (Release build); each prints its figures and ratios.
bench: deps
	@BUILD_DIR=$(BUILD_DIR) scripts/bench.sh

# Installs into $(DESTDIR)$(PREFIX): ftharness, ftpa, ftsim, ftblob, the plugin runner and
# the example plugins, the SKU files, the header and pkg-config file, the man page and the
# udev rule. The installed ftharness finds its plugins, runner and SKUs there by default.
install: deps
	@cmake -S . -B $(BUILD_DIR)/install -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DCMAKE_INSTALL_PREFIX=$(PREFIX) -DFTH_TESTS=OFF >/dev/null
	@cmake --build $(BUILD_DIR)/install -j"$$(nproc)"
	@DESTDIR=$(DESTDIR) cmake --install $(BUILD_DIR)/install

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD_DIR)
