"""`python -m worker.probe`: exit 0 when the Celery worker in this container answers a ping.

The worker image's HEALTHCHECK: it asks the broker for a reply from `celery@<hostname>`,
the worker's default node name, so a worker that is up but cut off from the broker (or
stuck) is reported unhealthy.
"""

from __future__ import annotations

import socket
import sys

TIMEOUT_S = 5.0


def main() -> int:
    from worker.celery import app

    node = f"celery@{socket.gethostname()}"
    try:
        replies = app.control.ping(destination=[node], timeout=TIMEOUT_S)
    except Exception as exc:  # the broker itself is unreachable
        print(f"probe: {node}: {exc}", file=sys.stderr)
        return 1
    if not any(node in reply for reply in replies):
        print(f"probe: {node} did not answer within {TIMEOUT_S:.0f} s", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
