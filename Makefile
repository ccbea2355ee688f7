# The two commands: `make run` and `make test`. Everything they need installs itself.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip

.PHONY: run test lint install install-dev bench clean

$(VENV)/.runtime: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PIP) install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.runtime node_modules/.installed

install-dev: $(VENV)/.dev node_modules/.installed
	./scripts/ensure-test-services.sh

run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py lakehouse migrate
	$(PY) manage.py cdp_demo
	./scripts/serve-dev.sh

# Each pass on two workers (pytest-xdist): the suite is CPU-bound and CI has two cores.
test: install-dev lint
	$(PY) -m pytest -n 2
	@echo "== the operational database on PostgreSQL (the lakehouse suite above already ran on it; tests of processes with databases of their own, and tests without a database, ran once)"
	CDP_TEST_DATABASE=postgres $(PY) -m pytest -n 2 --ignore=tests/lakehouse -m "not browser and not own_database" -q

# The layer contract (pyproject.toml [tool.importlinter]) and ruff: a broken contract fails `make test`.
lint: install-dev
	$(VENV)/bin/lint-imports --no-logo
	$(VENV)/bin/ruff check .

bench: install-dev
	for b in bench/[!_]*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) node_modules var .pytest_cache
