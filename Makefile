# Taiwan–US chip-trade monitor. Two commands matter:
#   make run    set up everything and run today's pipeline once through Airflow
#   make test   run every test
# and `make demo` does `make run` against the bundled sample news site, offline.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DATE ?= $(shell date -u +%F)
DEMO_PORT ?= 8765
DEMO_DAYS := 2026-11-02 2026-11-03

export AIRFLOW_HOME ?= $(CURDIR)/var/airflow
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__PLUGINS_FOLDER := $(CURDIR)/plugins
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__CORE__PARALLELISM := 4

.PHONY: setup run demo test lint clean lock

# The locked, hashed dependency set first (with the pip the Python ships: no upgrade
# needed), then the project itself without resolving anything more.
$(BIN)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	$(BIN)/python -c "import monitor.pipeline, monitor.cli"
	touch $@

setup: $(BIN)/.installed

var/airflow/.migrated: $(BIN)/.installed
	mkdir -p var/airflow
	$(BIN)/airflow db migrate > var/airflow/migrate.log 2>&1 || (cat var/airflow/migrate.log; exit 1)
	$(BIN)/airflow pools set monitor_http 2 "page fetch tasks at once" >> var/airflow/migrate.log 2>&1 \
		|| (cat var/airflow/migrate.log; exit 1)
	touch $@

run: var/airflow/.migrated
	$(BIN)/monitor init
	$(BIN)/airflow dags test chip_trade_monitor $(DATE) > var/airflow/dags-test.log 2>&1 \
		|| (tail -n 40 var/airflow/dags-test.log; echo "Airflow run failed; full log: var/airflow/dags-test.log"; exit 1)
	@echo "Airflow log: var/airflow/dags-test.log"
	@$(BIN)/monitor last-run  # says so, and points to `make demo`, when no feed was reachable

demo: var/airflow/.migrated
	@rm -rf var/demo && mkdir -p var/demo  # every demo starts from an empty database
	@$(BIN)/python tests/fixture_site.py --port $(DEMO_PORT) > var/demo/site.log 2>&1 & echo $$! > var/demo/site.pid
	@sleep 1
	@set -e; trap 'kill $$(cat var/demo/site.pid) 2>/dev/null || true' EXIT; \
	export MONITOR_CONFIG=$(CURDIR)/config/demo.yaml MONITOR_DATA_DIR=$(CURDIR)/var/demo; \
	$(BIN)/monitor init; \
	for day in $(DEMO_DAYS); do \
		echo "== Airflow run for $$day =="; \
		$(BIN)/airflow dags test chip_trade_monitor $$day > var/demo/dags-test-$$day.log 2>&1 \
			|| (tail -n 40 var/demo/dags-test-$$day.log; exit 1); \
		$(BIN)/monitor last-run; \
	done; \
	echo; echo "== v_articles =="; $(BIN)/monitor articles; \
	echo; echo "== v_alerts =="; $(BIN)/monitor alerts; \
	echo; echo "== emails in var/demo/outbox =="; ls -1 var/demo/outbox

test: setup
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check src tests dags plugins
	$(BIN)/mypy

# Re-resolve requirements.lock from pyproject.toml (needs the package index; uv is
# installed into a throw-away venv for it).
lock:
	$(PYTHON) -m venv var/uv && var/uv/bin/pip install --quiet uv
	var/uv/bin/uv pip compile pyproject.toml --extra dev --python-version 3.11.7 \
		--python-platform x86_64-unknown-linux-gnu --generate-hashes --no-header -o requirements.lock.new
	{ head -n 2 requirements.lock; cat requirements.lock.new; } > requirements.lock.tmp
	mv requirements.lock.tmp requirements.lock && rm requirements.lock.new

clean:
	rm -rf var
