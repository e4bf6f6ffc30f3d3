# otpfob: `make demo` runs the emulated token, `make test` runs everything.
# Each step installs what it needs under .venv/ and build/, and is skipped
# when already done.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
QEMU_ELF := build/qemu/firmware.elf
# Four workers on two cores: much of the suite waits on emulated tokens and
# boards (real-time button holds, throttle delays, restarts), not the CPU.
PYTEST_ARGS ?= -n 4 --dist loadgroup

.PHONY: all venv emulators test demo bench bench-host fuzz clean

all: test

venv: $(STAMP)

$(STAMP): pyproject.toml
	@sh host/tools/ensure_venv.sh "$(PYTHON)" "$(VENV)"
	@touch $@

# The emulated Cortex-M0.  Without root a missing toolchain is reported in
# one line and the tier is skipped by the tests (in CI it fails them).
emulators: $(QEMU_ELF)

$(QEMU_ELF):
	@mkdir -p build; sh host/tools/build_qemu.sh 2>build/qemu-build.log || { tail -3 build/qemu-build.log; echo "emulated Cortex-M0 not available: see build/qemu-build.log"; }

test: venv emulators
	$(PY) -m pytest $(PYTEST_ARGS)

demo: venv
	$(PY) -m otpfob.emu.demo

# Instructions and heap per code on the emulated Cortex-M0 (docs/benchmarks.md).
bench: venv emulators
	$(PY) host/tools/bench.py

# `otpfob provision` wall time against the emulated token (docs/benchmarks-host.md).
bench-host: venv
	$(PY) host/tools/bench_provision.py -n 15

fuzz: venv
	OTPFOB_FUZZ=full $(PY) -m pytest -m fuzz $(PYTEST_ARGS)

clean:
	rm -rf build $(VENV)
