#!/usr/bin/env bash
# Earshot's store and Airflow's metadata, each with its own owner (POSTGRES_PASSWORD of .env).
set -euo pipefail
psql -v ON_ERROR_STOP=1 -U postgres <<SQL
CREATE ROLE earshot LOGIN PASSWORD '${POSTGRES_PASSWORD}';
CREATE DATABASE earshot OWNER earshot;
CREATE ROLE airflow LOGIN PASSWORD '${POSTGRES_PASSWORD}';
CREATE DATABASE airflow OWNER airflow;
SQL
