#!/bin/sh
# Make sure Debian's chromium is there for the browser test of the live pages
# (tests/e2e): installed with apt-get when it is missing and we are root. Playwright drives
# this system browser; `playwright install` is never used. When chromium cannot be had,
# say so and go on: the browser test then fails with the same message, it never skips.
set -u
browser=/usr/bin/chromium
if [ -x "$browser" ]; then
    exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "ensure_chromium: installing Debian's chromium for the browser test" >&2
    if apt-get update >/dev/null && \
        DEBIAN_FRONTEND=noninteractive apt-get install -y chromium >/dev/null; then
        exit 0
    fi
fi
echo "ensure_chromium: $browser is missing and could not be installed (apt-get install chromium as root); the browser test will fail" >&2
exit 0
