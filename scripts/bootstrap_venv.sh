#!/bin/sh
# Create the virtualenv named by $1 with python3 (3.11 or newer).
# A fresh Debian may lack python3 or venv's pip bootstrap (package python3-venv):
# as root with apt-get, install them instead of asking for a manual step.
set -eu
venv=$1

can_apt() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; }
apt_install() {
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"
}

if ! command -v python3 >/dev/null 2>&1 && can_apt; then
    apt_install python3 python3-venv
fi
if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "Python 3.11 or newer is needed as python3 (found: $(python3 --version 2>&1 || echo none))." >&2
    exit 1
fi
if ! python3 -m venv "$venv" >/dev/null 2>&1; then
    rm -rf "$venv"
    if can_apt; then
        apt_install python3-venv
    fi
    if ! python3 -m venv "$venv"; then
        rm -rf "$venv"
        echo "python3 cannot create a virtualenv: install python3-venv (or your system's equivalent)." >&2
        exit 1
    fi
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
