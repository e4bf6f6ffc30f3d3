#!/bin/sh
# Create the project venv and install the packages at the exact versions of
# constraints.txt (idempotent).
set -eu
PYTHON=$1
VENV=$2
if [ ! -x "$VENV/bin/python" ]; then
    if ! "$PYTHON" -m venv "$VENV" 2>/dev/null; then
        # Debian splits venv out of python3.
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
            apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
            rm -rf "$VENV"
            "$PYTHON" -m venv "$VENV"
        else
            echo "cannot create a venv: install python3-venv" >&2
            exit 1
        fi
    fi
fi
# pip's chatter goes to a log, shown only when the install fails.
mkdir -p build
LOG=build/pip-install.log
if ! { "$VENV/bin/python" -m pip install -q --upgrade pip &&
       "$VENV/bin/python" -m pip install -q -c constraints.txt -e ".[test,dev]"; } >"$LOG" 2>&1 ||
   ! "$VENV/bin/python" -c "import otpfob, fob.otp, serial, pyotp, click, mpremote, pskc, defusedxml" 2>>"$LOG"; then
    tail -20 "$LOG" >&2
    echo "venv install failed: see $LOG" >&2
    exit 1
fi
echo "venv ready: $VENV"
