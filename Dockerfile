# syntax=docker/dockerfile:1
# One image for every Airflow service in docker-compose.yml (airflow-init, api-server,
# scheduler, dag-processor): Airflow 3.3 + the monitor package and its DAGs, plugins,
# config and seeds, run as the non-root user "monitor".
#
#   docker-compose build        (or: docker build -t chip-trade-monitor:local .)
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    AIRFLOW_HOME=/opt/airflow

# UID/GID of the runtime user; named volumes take their ownership from the image.
ARG MONITOR_UID=50000
RUN groupadd --gid "${MONITOR_UID}" monitor \
    && useradd --uid "${MONITOR_UID}" --gid monitor --no-create-home \
       --home-dir /opt/airflow --shell /bin/bash monitor

WORKDIR /opt/monitor

# .dockerignore is an allow-list, so this copies exactly pyproject.toml, requirements.lock,
# README.md, src/, dags/, plugins/, config/, seeds/ and sql/ -- and does not fail when a
# directory is empty and therefore absent from a fresh git clone (plugins/ today).
COPY . .

# The locked, hashed dependency set (the same file make and CI install from, resolved
# with Airflow 3.3.2), then the project in place (--editable, --no-deps): monitor.config
# finds config/monitor.yaml and seeds/ relative to the source tree (src/monitor/../../),
# i.e. under /opt/monitor. The build then imports every module of the package, as the
# fresh-venv test does, so a missing distribution fails the build, not the first run.
# The source stays root-owned and read-only for the runtime user; bytecode is compiled
# here because that user cannot write __pycache__ next to it.
RUN mkdir -p dags plugins /opt/airflow/logs /opt/monitor/var \
    && pip install --no-deps --require-hashes -r requirements.lock && pip check \
    && pip install --no-deps --editable . \
    && python -m compileall -q src dags plugins \
    && python -c "import importlib, pkgutil, monitor; [importlib.import_module(m.name) for m in pkgutil.walk_packages(monitor.__path__, 'monitor.') if m.name != 'monitor.migrations.env']" \
    && monitor --help > /dev/null \
    && python -c "from monitor.config import load_config; load_config()" \
    && chown -R monitor:monitor /opt/airflow /opt/monitor/var

USER monitor

EXPOSE 8080
# docker-compose.yml sets each service's command (airflow api-server, scheduler, ...).
CMD ["airflow", "version"]
