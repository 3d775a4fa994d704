#!/bin/sh
# Runs once, when the postgres container starts on an empty data volume
# (/docker-entrypoint-initdb.d): creates the monitor's own role and database next to
# the Airflow metadata database. The password comes from MONITOR_DB_PASSWORD and is
# passed to psql as a variable, so it is quoted by psql, never pasted into the SQL.
set -eu
: "${MONITOR_DB_PASSWORD:?MONITOR_DB_PASSWORD is not set}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v monitor_password="$MONITOR_DB_PASSWORD" <<'SQL'
CREATE ROLE monitor LOGIN PASSWORD :'monitor_password';
CREATE DATABASE monitor OWNER monitor;
REVOKE ALL ON DATABASE monitor FROM PUBLIC;
SQL
