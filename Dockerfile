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

# Optional: pin Airflow's dependency tree with its published constraints file, e.g.
#   --build-arg AIRFLOW_CONSTRAINTS_URL=https://raw.githubusercontent.com/apache/airflow/constraints-3.3.2/constraints-3.11.txt
ARG AIRFLOW_CONSTRAINTS_URL=""

# .dockerignore is an allow-list, so this copies exactly pyproject.toml, README.md, src/,
# dags/, plugins/, config/, seeds/ and sql/ -- and does not fail when a directory is
# empty and therefore absent from a fresh git clone (plugins/ today).
COPY . .

# Installed in place (--editable): monitor.config finds config/monitor.yaml and seeds/
# relative to the source tree (src/monitor/../../), i.e. under /opt/monitor; a regular
# wheel install would put the package in site-packages, away from those files.
# The source stays root-owned and read-only for the runtime user; bytecode is compiled
# here because that user cannot write __pycache__ next to it.
RUN mkdir -p dags plugins /opt/airflow/logs /opt/monitor/var \
    && pip install ${AIRFLOW_CONSTRAINTS_URL:+--constraint "$AIRFLOW_CONSTRAINTS_URL"} \
        --editable ".[postgres,airflow]" \
    && python -m compileall -q src dags plugins \
    && python -c "from monitor.config import load_config; load_config()" \
    && chown -R monitor:monitor /opt/airflow /opt/monitor/var

USER monitor

EXPOSE 8080
# docker-compose.yml sets each service's command (airflow api-server, scheduler, ...).
CMD ["airflow", "version"]
