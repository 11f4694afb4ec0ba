"""`python -m worker.flower`: Flower on FLOWER_PORT, never without basic auth outside development.

Flower has no authentication of its own. This wrapper reads the settings, refuses to
start without FLOWER_BASIC_AUTH unless QUIZ_ENV=development (which falls back to the
documented login `admin` / `dev-flower-password`), then replaces itself with
`celery -A worker flower`. The credentials reach Flower in its environment (Flower reads
every FLOWER_* variable), never on its command line, where `ps` would show them.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping

from shared.config import Environment, Settings, SettingsError

DEV_BASIC_AUTH = "admin:dev-flower-password"
# Flower splits the variable on commas: "user:password[,user:password]"
CREDENTIAL = re.compile(r"^[^:,\s]+:[^,\s]+$")


def basic_auth(settings: Settings) -> str:
    """The credentials Flower is to demand; SettingsError when they are missing or malformed."""
    auth = settings.flower_basic_auth
    if not auth:
        if settings.env is not Environment.DEVELOPMENT:
            raise SettingsError(
                f"FLOWER_BASIC_AUTH must be set (user:password) when QUIZ_ENV={settings.env.value}"
            )
        return DEV_BASIC_AUTH
    if not all(CREDENTIAL.match(entry) for entry in auth.split(",")):
        raise SettingsError("FLOWER_BASIC_AUTH must look like user:password[,user:password]")
    return auth


def flower_command(settings: Settings) -> list[str]:
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "worker",
        "flower",
        f"--port={settings.flower_port}",
        f"--address={settings.flower_address}",
    ]


def flower_environment(settings: Settings, environ: Mapping[str, str]) -> dict[str, str]:
    env = dict(environ)
    env["FLOWER_BASIC_AUTH"] = basic_auth(settings)
    # Flower reads these too: keep them equal to the command line
    env["FLOWER_PORT"] = str(settings.flower_port)
    env["FLOWER_ADDRESS"] = settings.flower_address
    return env


def main() -> int:
    try:
        settings = Settings.from_env()
        env = flower_environment(settings, os.environ)
    except SettingsError as exc:
        print(f"flower: {exc}", file=sys.stderr)
        return 2
    if not settings.flower_basic_auth:
        print(
            "flower: FLOWER_BASIC_AUTH is not set; using the development login (see README)",
            file=sys.stderr,
        )
    command = flower_command(settings)
    os.execve(command[0], command, env)
    return 0  # not reached: execve replaces the process


if __name__ == "__main__":
    sys.exit(main())
