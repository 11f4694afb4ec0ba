"""docker-compose.yml and the Dockerfiles, checked without a Docker engine.

The compose file is validated against the Compose Specification's JSON schema (shipped in
tests/schemas/, see its README), and every command a container runs — compose commands,
the images' CMD and HEALTHCHECK — is resolved in this project: modules of `python -m`
import, `celery -A worker` finds the app and the subcommand, gunicorn's app factory
exists, alembic finds its migrations, and console scripts resolve to their entry points.
"""

from __future__ import annotations

import ast
import importlib
import importlib.metadata
import importlib.util
import json
import re
import shlex
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "tests" / "schemas" / "compose-spec.json"
DOCKERFILES = ("Dockerfile.web", "Dockerfile.worker")
APP_SERVICES = ("migrate", "web", "worker", "leaderboard", "beat", "flower")
BACKING_SERVICES = ("postgres", "redis", "rabbitmq")
SECRET_VARIABLES = {
    "SECRET_KEY",
    "QUIZ_HOST_KEY",
    "SENTRY_DSN",
    "NEW_RELIC_LICENSE_KEY",
    "FLOWER_BASIC_AUTH",
    "POSTGRES_PASSWORD",
}


def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def instructions(dockerfile: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    joined: list[str] = []
    pending = ""
    for line in (ROOT / dockerfile).read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        joined.append(pending + stripped)
        pending = ""
    return [tuple(line.split(None, 1)) for line in joined]  # type: ignore[misc]


def exec_form(arguments: str) -> list[str]:
    value = json.loads(arguments)
    assert isinstance(value, list) and all(isinstance(word, str) for word in value), arguments
    return value


# --- resolving commands --------------------------------------------------------------


def console_script(name: str) -> None:
    found = importlib.metadata.entry_points(group="console_scripts", name=name)
    assert found, f"no console script {name!r} is installed"
    next(iter(found)).load()


def option_value(argv: list[str], *names: str) -> str | None:
    for index, word in enumerate(argv):
        if word in names and index + 1 < len(argv):
            return argv[index + 1]
        for name in names:
            if word.startswith(name + "="):
                return word.split("=", 1)[1]
    return None


def check_python(argv: list[str]) -> None:
    if argv[1] == "-m":
        module = argv[2]
        spec = importlib.util.find_spec(module)
        assert spec is not None, f"python -m {module}: no such module"
        if spec.submodule_search_locations is not None:
            assert importlib.util.find_spec(f"{module}.__main__"), f"{module} has no __main__"
        importlib.import_module(module)
    elif argv[1] == "-c":
        ast.parse(argv[2])
    else:
        raise AssertionError(f"unexpected python command {argv}")


def check_celery(argv: list[str]) -> None:
    from celery.app.utils import find_app
    from celery.bin.celery import celery as celery_cli

    console_script("celery")
    app_name = option_value(argv, "-A", "--app")
    assert app_name, f"{argv}: no -A"
    app = find_app(app_name)
    assert app.main == "quiz"
    subcommand = next(word for word in argv[1:] if word in celery_cli.commands)
    queues = option_value(argv, "-Q", "--queues")
    if subcommand == "worker" and queues:
        known = {queue.name for queue in app.conf.task_queues}
        assert set(queues.split(",")) <= known, f"unknown queue in {queues}"


def check_gunicorn(argv: list[str]) -> None:
    console_script("gunicorn")
    target = argv[-1]
    module_name, _, expression = target.partition(":")
    factory = getattr(importlib.import_module(module_name), expression.removesuffix("()"))
    assert callable(factory), target
    config = option_value(argv, "-c", "--config")
    if config:
        assert (ROOT / config).is_file(), f"gunicorn config {config} is missing"
    worker_class = option_value(argv, "-k", "--worker-class")
    if worker_class:
        from gunicorn.util import load_class

        load_class(worker_class, section="gunicorn.workers")


def check_alembic(argv: list[str]) -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    console_script("alembic")
    assert argv[1:] == ["upgrade", "head"], argv
    heads = ScriptDirectory.from_config(Config(str(ROOT / "alembic.ini"))).get_heads()
    assert len(heads) == 1, heads


CHECKERS = {
    "python": check_python,
    "celery": check_celery,
    "gunicorn": check_gunicorn,
    "alembic": check_alembic,
}


def check_command(argv: list[str]) -> None:
    assert argv, "empty command"
    checker = CHECKERS.get(argv[0])
    assert checker is not None, f"no check for {argv[0]!r}: add one"
    checker(argv)


def container_commands() -> list[tuple[str, list[str]]]:
    """Every command our images run: compose commands and healthchecks, CMD, HEALTHCHECK."""
    found: list[tuple[str, list[str]]] = []
    for dockerfile in DOCKERFILES:
        for instruction, arguments in instructions(dockerfile):
            if instruction == "CMD":
                found.append((f"{dockerfile} CMD", exec_form(arguments)))
            elif instruction == "HEALTHCHECK":
                _, _, command = arguments.partition(" CMD ")
                found.append((f"{dockerfile} HEALTHCHECK", exec_form(command)))
    for name, service in compose()["services"].items():
        if name not in APP_SERVICES:
            continue
        command = service.get("command")
        if command is not None:
            found.append(
                (f"{name} command", command if isinstance(command, list) else shlex.split(command))
            )
        test = (service.get("healthcheck") or {}).get("test")
        if test:
            assert test[0] == "CMD", f"{name}: use the exec form"
            found.append((f"{name} healthcheck", test[1:]))
    return found


@pytest.mark.parametrize(
    ("where", "argv"), container_commands(), ids=[where for where, _ in container_commands()]
)
def test_every_container_command_exists_in_the_project(where, argv):
    check_command(argv)


def test_the_checks_can_fail():
    for argv in (
        ["python", "-m", "worker.no_such_module"],
        ["celery", "-A", "worker", "worker", "-Q", "no-such-queue"],
        ["gunicorn", "web:no_such_factory()"],
        ["flask", "run"],
    ):
        with pytest.raises((AssertionError, AttributeError, ImportError)):
            check_command(argv)


# --- the compose file ----------------------------------------------------------------


def test_compose_file_is_valid_against_the_compose_specification():
    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.Draft7Validator(schema)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(compose())]
    assert errors == []
    # the schema does reject a mistake
    broken = compose()
    broken["services"]["web"]["depends_on"]["postgres"]["condition"] = "service_ready"
    assert not validator.is_valid(broken)


def test_compose_runs_the_whole_stack_with_healthy_dependencies():
    doc = compose()
    services = doc["services"]
    assert set(services) == set(APP_SERVICES) | set(BACKING_SERVICES)
    for name in BACKING_SERVICES:
        assert services[name]["healthcheck"]["test"], name
    assert services["rabbitmq"]["profiles"] == ["rabbitmq"]
    for name in APP_SERVICES:
        service = services[name]
        depends = service["depends_on"]
        assert depends["postgres"] == {"condition": "service_healthy"}, name
        assert service["env_file"] == [{"path": ".env", "required": False}], name
        assert "build" in service and service["image"].startswith("realtime-quiz-"), name
        if name != "migrate":
            assert depends["migrate"] == {"condition": "service_completed_successfully"}
            assert depends["redis"] == {"condition": "service_healthy"}
            assert depends["rabbitmq"] == {"condition": "service_healthy", "required": False}
    assert services["migrate"]["restart"] == "no"
    assert services["web"]["ports"] == ["127.0.0.1:${PORT:-8000}:8000"]
    assert services["flower"]["ports"] == ["127.0.0.1:${FLOWER_PORT:-5555}:5555"]
    assert services["leaderboard"]["command"] == ["python", "-m", "worker.leaderboard"]
    # named volumes only, each declared
    declared = set(doc["volumes"])
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            assert source in declared, f"{name}: {source} is not a named volume"


def test_compose_variables_are_documented_in_env_example():
    documented = set(
        re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M)
    )
    text = (ROOT / "docker-compose.yml").read_text()
    used = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", text))
    for service in compose()["services"].values():
        environment = service.get("environment") or {}
        used |= set(environment) if isinstance(environment, dict) else set()
    undocumented = sorted(used - documented - {"POSTGRES_USER", "POSTGRES_DB"})
    assert undocumented == []


# --- the Dockerfiles -----------------------------------------------------------------


@pytest.mark.parametrize("dockerfile", DOCKERFILES)
def test_dockerfile_builds_small_and_runs_unprivileged(dockerfile):
    steps = instructions(dockerfile)
    names = [instruction for instruction, _ in steps]
    froms = [arguments for instruction, arguments in steps if instruction == "FROM"]
    assert len(froms) == 2 and all(f.startswith("python:3.11-slim") for f in froms)
    assert names.count("HEALTHCHECK") == 1 and names.count("STOPSIGNAL") == 1
    user = [arguments for instruction, arguments in steps if instruction == "USER"]
    assert user and user[-1].split(":")[0] not in ("0", "root")
    # dependencies come from setup.cfg in a layer before the code is copied
    copies = [arguments for instruction, arguments in steps if instruction == "COPY"]
    first_code = next(i for i, c in enumerate(copies) if c.startswith(("shared", "web", "worker")))
    assert any("setup.cfg" in c for c in copies[:first_code])
    for arguments in copies:
        if arguments.startswith("--from="):
            continue
        for source in arguments.split()[:-1]:
            assert (ROOT / source).exists(), f"{dockerfile}: COPY {source}: no such file"
    for instruction, arguments in steps:
        if instruction in ("ENV", "ARG"):
            assert not SECRET_VARIABLES & set(re.findall(r"\b([A-Z][A-Z0-9_]+)=", arguments))


def test_secrets_never_enter_the_build_context():
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert ".env" in ignored


def _lock_pins() -> dict[str, str]:
    lines = (ROOT / "requirements.lock").read_text().splitlines()
    pins = (line.split("==", 1) for line in lines if "==" in line and not line.startswith(" "))
    return {canonicalize_name(name): version for name, version in pins}


def test_the_lock_pins_every_dependency_at_a_version_setup_cfg_allows():
    import configparser

    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    lines = config["options"]["install_requires"].splitlines()
    wanted = [Requirement(line.split("#", 1)[0]) for line in lines if line.split("#", 1)[0].strip()]
    pins = _lock_pins()
    for requirement in wanted:
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is missing from requirements.lock: run `make lock`"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"requirements.lock pins {name}=={pins[name]}, outside {requirement.specifier}: "
            "run `make lock`"
        )


@pytest.mark.parametrize("dockerfile", DOCKERFILES)
def test_the_images_install_the_locked_versions(dockerfile):
    text = (ROOT / dockerfile).read_text()
    assert "COPY requirements.lock ./" in text
    assert "pip install --no-cache-dir -r requirements.lock" in text
    # and the project itself without resolving anything again
    assert "pip install --no-cache-dir --no-deps ." in text


def test_this_environment_runs_the_locked_versions():
    """`make venv` installs with the lock as constraints: CI tests what the images run."""
    for name, version in _lock_pins().items():
        assert importlib.metadata.version(name) == version, name


# flags a deployment sets its own way: where to listen, for how long to drain, how many
# pool processes (compose leaves Celery its default of one per core)
DEPLOYMENT_FLAGS = {"--bind", "--config", "--graceful-timeout", "--concurrency", "--schedule"}


def _program_and_flags(argv: list[str]) -> list[str]:
    """A command without the deployment's own flags and their values."""
    kept: list[str] = []
    skip = False
    for word in argv:
        if skip:
            skip = False
        elif word in DEPLOYMENT_FLAGS:
            skip = True
        else:
            kept.append(Path(word).name if word.startswith("/") else word)
    return kept


def test_the_images_and_compose_run_the_commands_of_the_process_table():
    """scripts/processes.py is the one table of the stack's commands: `make run`, the tests
    and the bench use it, and the Dockerfiles and compose run the same programs with the
    same arguments (but for where to listen and how long to drain)."""
    from scripts import processes

    web_cmd = json.loads(
        re.search(r"^CMD (\[.*?\])$", (ROOT / "Dockerfile.web").read_text(), re.M | re.S)
        .group(1)
        .replace("\\\n", "")
    )
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    deployed = {
        "web": web_cmd,
        "worker": compose["worker"]["command"],
        "leaderboard": compose["leaderboard"]["command"],
        "flower": compose["flower"]["command"],
    }
    for name, argv in deployed.items():
        table = processes.command(name, 8000, "/run")
        assert _program_and_flags(argv) == _program_and_flags(table), name
