# otpfob: `make demo` runs the emulated token, `make test` runs everything.
# Each step installs what it needs under .venv/ and build/, and is skipped
# when already done.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
QEMU_ELF := build/qemu/firmware.elf
QEMU_M4_ELF := build/qemu/firmware-m4.elf
RP2_READY := build/rp2/.ready
PICO_UF2 := build/firmware-pico/otpfob-pico.uf2
PICO2_UF2 := build/firmware-pico2/otpfob-pico2.uf2
# Four workers on two cores: much of the suite waits on emulated tokens and
# boards (real-time button holds, throttle delays, restarts), not the CPU.
# The 30 slowest tests are listed at the end: where the CI budget goes.
PYTEST_ARGS ?= -n 4 --dist loadgroup --durations=30

.PHONY: all venv lint emulators firmware-pico firmware-pico2 bench-rp2 bench-rp2-deploy bench-power test test-slow demo bench bench-host fuzz screenshots clean

all: test

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@sh host/tools/ensure_venv.sh "$(PYTHON)" "$(VENV)"
	@touch $@

# The emulated Cortex-M0 and Cortex-M4 (one qemu port source tree).  Without
# root a missing toolchain is reported in one line and the tier is skipped by
# the tests (in CI it fails them).
emulators: $(QEMU_ELF) $(QEMU_M4_ELF) $(RP2_READY)

$(QEMU_ELF): host/tools/build_qemu.sh
	@mkdir -p build; sh host/tools/build_qemu.sh 2>build/qemu-build.log || { tail -3 build/qemu-build.log; echo "emulated Cortex-M0 not available: see build/qemu-build.log"; }

# After the M0 (never beside it: the same script and source tree).
$(QEMU_M4_ELF): $(QEMU_ELF) $(wildcard host/tools/qemu_m4/*)
	@mkdir -p build; sh host/tools/build_qemu.sh 2>build/qemu-build.log || { tail -3 build/qemu-build.log; echo "emulated Cortex-M4 not available: see build/qemu-build.log"; }

# The emulated Pico: MicroPython's rp2 port from Debian's sources, our
# bootrom, rp2040js from npm (host/otpfob/emu/rp2/package-lock.json).  The
# script rebuilds only the parts whose sources changed.
$(RP2_READY): $(wildcard host/otpfob/emu/rp2/rom/*) host/otpfob/emu/rp2/manifest.py host/otpfob/emu/rp2/package-lock.json
	@mkdir -p build; sh host/tools/build_rp2.sh 2>build/rp2-build.log || { tail -3 build/rp2-build.log; echo "emulated Pico not available: see build/rp2-build.log"; }

# The Pico image with otpfob frozen in (`otpfob deploy --board pico --image`):
# the same Debian sources as the emulated Pico, built in build/firmware-pico/,
# the .uf2 made by picotool from Debian's source.  tests/rp2/test_rp2_deploy.py
# flashes it into the emulated Pico.
firmware-pico: $(PICO_UF2)

$(PICO_UF2): $(RP2_READY) $(shell find firmware -name '*.py') host/tools/manifest_pico.py host/tools/build_firmware_pico.sh
	@mkdir -p build; sh host/tools/build_firmware_pico.sh 2>build/firmware-pico.log || { tail -3 build/firmware-pico.log; echo "Pico image not available: see build/firmware-pico.log"; }

# The Pico 2 image (`otpfob deploy --board pico2 --image`): RPI_PICO2, the
# RP2350's Arm build, from the same MicroPython tree and with the same
# picotool as the Pico image, in build/firmware-pico2/.  make test reads the
# built .uf2 back (tests/fw/test_pico2_image.py); nothing runs it.
firmware-pico2: $(PICO2_UF2)

$(PICO2_UF2): $(PICO_UF2) $(shell find firmware -name '*.py') host/tools/manifest_pico.py host/tools/build_firmware_pico2.sh
	@mkdir -p build; sh host/tools/build_firmware_pico2.sh 2>build/firmware-pico2.log || { tail -3 build/firmware-pico2.log; echo "Pico 2 image not available: see build/firmware-pico2.log"; }

# ruff on the whole tree (host, firmware, boards, tools, tests) and mypy on
# the host package and tools (configured in pyproject.toml).
LINT_PATHS := host firmware boards tests

lint: venv
	$(VENV)/bin/ruff check $(LINT_PATHS)
	$(VENV)/bin/ruff format --check $(LINT_PATHS)
	$(VENV)/bin/mypy

test: venv emulators firmware-pico firmware-pico2
	$(PY) -m pytest $(PYTEST_ARGS)

# The emulated-Pico proofs that take minutes each (marked slow), which
# `make test` leaves out to stay within CI's budget: deploy mode switches,
# the BOOTSEL path, every deploy cut point, the fine sync's spread, the HMAC
# path timing, `otpfob sim --board pico`, the unlocked CDC fuzz, the lock
# screen through the CLI, wipe-after against the throttle's real delays, the
# battery and typing proofs beyond the first.
test-slow: venv emulators firmware-pico
	OTPFOB_SLOW=1 $(PY) -m pytest -m slow $(PYTEST_ARGS)

demo: venv
	$(PY) -m otpfob.emu.demo

# Instructions and heap per code on the emulated Cortex-M0 and Cortex-M4 (docs/benchmarks.md).
bench: venv emulators
	$(PY) host/tools/bench.py

# Free heap and boot time, .mpy deploy against the frozen image (docs/benchmarks.md).
bench-rp2-deploy: venv emulators firmware-pico
	$(PY) host/tools/bench_rp2_deploy.py

# Latency, idle load, boot, heap and HMAC cycles on the emulated Pico, in
# emulated time only (the "Real rp2 port" section of docs/benchmarks.md);
# `make test` runs its one-round smoke form (tests/rp2/test_rp2_bench.py).
bench-rp2: venv emulators firmware-pico
	$(PY) host/tools/bench_rp2.py

# Current and battery life on a modelled day on battery, against the token
# that never sleeps, in emulated time ("Power on battery" in docs/benchmarks.md).
bench-power: venv emulators
	$(PY) host/tools/bench_power.py

# `otpfob provision` wall time against the emulated token (docs/benchmarks-host.md).
bench-host: venv
	$(PY) host/tools/bench_provision.py -n 15

# The README's picture of the emulated screen (docs/img/emulated-screen.png).
screenshots: venv
	OTPFOB_SCREENSHOT=docs/img/emulated-screen.png $(PY) -m pytest -q tests/emu/test_token_screenshot.py

fuzz: venv
	OTPFOB_FUZZ=full OTPFOB_SLOW=1 $(PY) -m pytest -m fuzz $(PYTEST_ARGS)

clean:
	rm -rf build $(VENV)
