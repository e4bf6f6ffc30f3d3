#!/bin/sh
# Create the project venv and install the pinned packages (idempotent).
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
"$VENV/bin/python" -m pip install -q --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
"$VENV/bin/python" -m pip install -q -e ".[test]" 2>&1 | grep -v '^WARNING: Location' | grep -v BuildBackendWarning || true
"$VENV/bin/python" -c "import otpfob, fob.otp, serial, pyotp, click, mpremote" \
    || { echo "venv install failed" >&2; exit 1; }
echo "venv ready: $VENV"
