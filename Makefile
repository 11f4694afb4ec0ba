# The two commands: `make run` brings up the whole stack, `make test` runs the test suite.
# Both bootstrap .venv and make sure PostgreSQL and Redis answer, starting project-local
# instances under .run/ when they don't (see scripts/services.py).

VENV := .venv
PY := $(VENV)/bin/python
# The venv's python when there is one: `clean` must work after `distclean` too.
ANY_PY = $(if $(wildcard $(PY)),$(PY),python3)
# Ensure the services and export their URLs into the recipe's shell. The assignment
# keeps the script's failure visible: `eval "$(...)"` alone would succeed on nothing.
SERVICES_ENV = exports="$$($(PY) scripts/services.py env)" && eval "$$exports"

T ?=
ARGS ?=
QUICK ?=

.DEFAULT_GOAL := help
.PHONY: help venv services migrate run test test-unit test-rabbitmq fuzz lint lock reformat bench chaos clean distclean

help: ## List the targets
	@grep -E '^[a-z][a-z-]*:.*## ' $(MAKEFILE_LIST) \
		| awk -F ':.*## ' '{ printf "  %-10s %s\n", $$1, $$2 }'

venv: $(VENV)/.installed ## Create .venv and install the project with its dev extras

$(PY):
	@sh scripts/bootstrap_venv.sh $(VENV)

# Reinstall only when the project's metadata changed since the last install.
$(VENV)/.installed: setup.cfg pyproject.toml requirements.lock | $(PY)
	$(PY) -m pip install --quiet -e '.[dev]' -c requirements.lock
	@touch $@

services: venv ## Make sure PostgreSQL and Redis answer and print the URLs in use
	@$(PY) scripts/services.py env

migrate: venv ## Apply the database migrations (alembic upgrade head)
	@$(SERVICES_ENV) && $(VENV)/bin/alembic upgrade head

run: venv ## Run the whole stack: migrate, seed a demo quiz, start every process
	@$(PY) scripts/run_stack.py

test: venv ## Run the test suite (T=path or pytest arguments, e.g. T=tests/unit)
	@sh scripts/ensure_chromium.sh
	@$(SERVICES_ENV) && $(PY) -m pytest $(T)
	@# then the integration tests again on RabbitMQ when it answers (whole runs only)
	@$(if $(T),echo "rabbitmq: the RabbitMQ pass runs only without T (make test-rabbitmq)",$(SERVICES_ENV) && $(PY) scripts/rabbitmq_pass.py --if-reachable)

test-unit: venv ## Run the pure tests only: no PostgreSQL, Redis or Chromium needed
	$(PY) -m pytest -m unit tests/unit $(T)

test-rabbitmq: venv ## Run the integration tests with RabbitMQ as the broker (RABBITMQ_URL)
	@$(SERVICES_ENV) && $(PY) scripts/rabbitmq_pass.py $(T)

fuzz: venv ## Fuzz the API of a stack of its own with schemathesis: every check and phase
	@$(SERVICES_ENV) && $(PY) -m scripts.fuzz $(ARGS)

lint: venv ## Check lint, formatting, types (mypy --strict) and the Dockerfiles
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/hadolint --no-color Dockerfile.web Dockerfile.worker

lock: venv ## Pin every runtime dependency in requirements.lock (pip-tools), for venvs and images
	$(VENV)/bin/pip-compile --quiet --strip-extras --no-header --no-emit-index-url \
		--no-emit-find-links --allow-unsafe -o requirements.lock setup.cfg

reformat: venv ## Format the code and apply ruff's safe fixes
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: venv ## Benchmark a stack of its own against floors (QUICK=1: under two minutes)
	@$(SERVICES_ENV) && $(PY) -m bench $(if $(QUICK),--quick) $(ARGS)

# its own PostgreSQL cluster and Redis on free ports: nothing of services.py's is needed
chaos: venv ## Inject every fault into a stack of its own, check, write docs/reliability.md (QUICK=1: smoke run)
	@$(PY) -m chaos $(if $(QUICK),--quick) $(ARGS)

clean: ## Stop the servers this project started and remove .run/ and caches
	@[ ! -d .run ] || $(ANY_PY) scripts/services.py stop
	@# as root, a checkout others can't enter keeps the cluster outside, linked from .run
	[ ! -L .run/postgres ] || rm -rf "$$(readlink .run/postgres)"
	rm -rf .run .pytest_cache .ruff_cache build dist
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +

distclean: clean ## Also remove .venv
	rm -rf $(VENV) *.egg-info
