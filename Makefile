# Taiwan–US chip-trade monitor. Two commands matter:
#   make run    set up everything and run today's pipeline once through Airflow
#   make test   run every test
# and `make demo` does `make run` against the bundled sample news site, offline.
# Long steps say what they are doing; Airflow's own output goes to log files, and each
# task is shown as it finishes (deploy/dag_progress.py).

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DATE ?= $(shell date -u +%F)
export DEMO_PORT ?= 8765
DEMO_DAYS := 2026-11-02 2026-11-03

export AIRFLOW_HOME ?= $(CURDIR)/var/airflow
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__PLUGINS_FOLDER := $(CURDIR)/plugins
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__CORE__PARALLELISM := 4
# Where the Airflow UI reads task logs. `airflow dags test` writes none (its tasks run in
# its own process), so deploy/dag_progress.py writes each task's lines there.
TASK_LOGS = $${AIRFLOW__LOGGING__BASE_LOG_FOLDER:-$$AIRFLOW_HOME/logs}

.PHONY: setup run demo demo-database test lint clean lock

# The locked, hashed dependency set first (with the pip the Python ships: no upgrade
# needed), then the project itself without resolving anything more. The lock is the
# whole closure, so pip installs it with --no-deps: resolving again would let pip look
# at releases newer than the lock (pip 23.2 does, for a requirement asked with extras,
# such as uvicorn[standard], and then refuses it in hash mode). `pip check` proves the
# set is whole.
$(BIN)/.installed: pyproject.toml requirements.lock
	@echo "[setup 1/4] creating $(VENV) with $(PYTHON)"
	$(PYTHON) -m venv $(VENV)
	@echo "[setup 2/4] installing the locked dependencies, Airflow included (2-3 minutes)"
	$(BIN)/pip install --quiet --no-deps --require-hashes -r requirements.lock
	$(BIN)/pip check
	@echo "[setup 3/4] installing the monitor itself"
	$(BIN)/pip install --quiet --no-deps -e .
	@echo "[setup 4/4] checking that it imports"
	$(BIN)/python -c "import monitor.pipeline, monitor.cli"
	touch $@

setup: $(BIN)/.installed

var/airflow/.migrated: $(BIN)/.installed
	@mkdir -p var/airflow
	@echo "migrating Airflow's metadata database in var/airflow (about 15 s; log: var/airflow/migrate.log)"
	@$(BIN)/airflow db migrate > var/airflow/migrate.log 2>&1 || (cat var/airflow/migrate.log; exit 1)
	@$(BIN)/airflow pools set monitor_http 2 "page fetch tasks at once" >> var/airflow/migrate.log 2>&1 \
		|| (cat var/airflow/migrate.log; exit 1)
	@touch $@

run: var/airflow/.migrated
	$(BIN)/monitor init
	@echo "== Airflow run for $(DATE) (log: var/airflow/dags-test.log) =="
	@set -o pipefail; $(BIN)/airflow dags test chip_trade_monitor $(DATE) 2>&1 \
		| $(BIN)/python deploy/dag_progress.py var/airflow/dags-test.log "$(TASK_LOGS)"
	@$(BIN)/monitor last-run  # says so, and points to `make demo`, when no feed was reachable

# Every demo starts from an empty database: var/demo is removed, and a database named by
# MONITOR_DATABASE_URL is used only when it holds no monitor data (never wiped).
demo-database: setup
	@rm -rf var/demo && mkdir -p var/demo
	@$(BIN)/python deploy/demo_database.py

demo: var/airflow/.migrated demo-database
	@echo "serving the sample news site on 127.0.0.1:$(DEMO_PORT)"
	@$(BIN)/python tests/fixture_site.py --port $(DEMO_PORT) > var/demo/site.log 2>&1 & echo $$! > var/demo/site.pid
	@sleep 1
	@set -e -o pipefail; trap 'kill $$(cat var/demo/site.pid) 2>/dev/null || true' EXIT; \
	export MONITOR_CONFIG=$(CURDIR)/config/demo.yaml MONITOR_DATA_DIR=$(CURDIR)/var/demo; \
	$(BIN)/monitor init; \
	for day in $(DEMO_DAYS); do \
		echo "== Airflow run for $$day (log: var/demo/dags-test-$$day.log) =="; \
		$(BIN)/airflow dags test chip_trade_monitor $$day 2>&1 \
			| $(BIN)/python deploy/dag_progress.py var/demo/dags-test-$$day.log "$(TASK_LOGS)"; \
		$(BIN)/monitor last-run; \
	done; \
	echo; echo "== articles (monitor articles) =="; $(BIN)/monitor articles; \
	echo; echo "== alerts (monitor alerts) =="; $(BIN)/monitor alerts; \
	echo; echo "== emails in var/demo/outbox =="; ls -1 var/demo/outbox; \
	echo; echo "To look at the demo data again, see \"After the demo\" in README.md:"; \
	echo "  MONITOR_CONFIG=config/demo.yaml MONITOR_DATA_DIR=var/demo $(BIN)/monitor articles"

test: setup
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check src tests dags plugins deploy
	$(BIN)/mypy

# Re-resolve requirements.lock from pyproject.toml (needs the package index; uv is
# installed into a throw-away venv for it).
lock:
	$(PYTHON) -m venv var/uv && var/uv/bin/pip install --quiet uv
	var/uv/bin/uv pip compile pyproject.toml --extra dev --python-version 3.11.7 \
		--python-platform x86_64-unknown-linux-gnu --generate-hashes --no-header -o requirements.lock.new
	# pip's hash mode wants a requirement asked for with extras (the Celery provider asks
	# for celery[redis]) pinned with those extras.
	sed -i 's/^celery==/celery[redis]==/' requirements.lock.new
	{ head -n 2 requirements.lock; cat requirements.lock.new; } > requirements.lock.tmp
	mv requirements.lock.tmp requirements.lock && rm requirements.lock.new

clean:
	rm -rf var
