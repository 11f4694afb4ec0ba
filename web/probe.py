"""`python -m web.probe`: exit 0 when the API in this container answers /healthz.

The web image's HEALTHCHECK: slim images have no curl, and this reads PORT the way the
app does.
"""

from __future__ import annotations

import sys
import urllib.request

from shared.config import Settings

TIMEOUT_S = 3


def main() -> int:
    url = f"http://127.0.0.1:{Settings.from_env().port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
            return 0 if response.status == 200 else 1
    except OSError as exc:
        print(f"probe: {url}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
