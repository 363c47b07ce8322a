# Earshot: `make run` (one listening cycle on the bundled samples) and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export AIRFLOW_HOME ?= $(CURDIR)/var/airflow
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__CORE__UNIT_TEST_MODE := False
export EARSHOT_CONFIG ?= $(CURDIR)/earshot.yaml

MODELS := var/models/MODEL_CARD.md

.PHONY: run serve test check lint format typecheck bench models lock clean help browser

help:
	@echo "make run     one listening cycle (Airflow DAG social_listening) on the bundled samples"
	@echo "make serve   the console on http://localhost:8000 over the store make run filled"
	@echo "make test    the whole test suite (installs Debian's chromium for the browser tests)"
	@echo "make check   ruff (format + lint), import contracts, mypy and the tests"
	@echo "make bench   classifier throughput and peak memory per tier; insights over 1M posts;"
	@echo "             run --once end to end over 100,000 generated posts (fast) and 10,000 (MiniLM);"
	@echo "             the console's queue page and claim with 100,000 cases"
	@echo "make models  retrain the classifier heads"
	@echo "make clean   remove var/ (store, Airflow metadata); keeps .venv"

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || { echo "creating $(VENV) with $(PYTHON)"; $(PYTHON) -m venv $(VENV); }
	@echo "installing pinned dependencies into $(VENV) (first time: a few minutes)"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $(STAMP)

$(AIRFLOW_HOME)/airflow.db: | $(STAMP)
	@mkdir -p $(AIRFLOW_HOME)
	@echo "creating the Airflow metadata database in $(AIRFLOW_HOME)"
	@$(BIN)/airflow db migrate > $(AIRFLOW_HOME)/db-migrate.log 2>&1 || { tail -n 30 $(AIRFLOW_HOME)/db-migrate.log; exit 1; }
	@$(BIN)/airflow pools set x_api 1 "X API: one collector at a time" >> $(AIRFLOW_HOME)/db-migrate.log 2>&1
	@$(BIN)/airflow pools set reddit_api 1 "Reddit API: one collector at a time" >> $(AIRFLOW_HOME)/db-migrate.log 2>&1

# The classifier heads and the distilled static encoder are built here, from data in the
# repository, the first time (about 7 minutes: the encoder is tuned first); `make models` rebuilds them.
$(MODELS): $(STAMP) nlp/data/examples.yaml nlp/data/posts_written.jsonl config/intents.yaml samples/labels.csv nlp/training.py nlp/encoders.py nlp/finetune.py
	@echo "tuning the encoder and training the classifier heads (first time: about 7 minutes)"
	@$(BIN)/earshot train

models: $(STAMP)
	@$(BIN)/earshot train

run: $(STAMP) $(MODELS) $(AIRFLOW_HOME)/airflow.db
	@$(BIN)/earshot db upgrade
	@$(BIN)/earshot authors import samples/crm/customers.csv
	@echo "running Airflow DAG social_listening (task log: $(AIRFLOW_HOME)/last-run.log)"
	@$(BIN)/airflow dags test social_listening > $(AIRFLOW_HOME)/last-run.log 2>&1 \
		|| { tail -n 40 $(AIRFLOW_HOME)/last-run.log; echo "the DAG run failed; full log: $(AIRFLOW_HOME)/last-run.log"; exit 1; }
	@grep -h "bad record sent to the dead-letter table" $(AIRFLOW_HOME)/last-run.log | sed 's/.*dead-letter table: /  bad record: /; s/ *\[listeners.*//' || true
	@$(BIN)/earshot report
	@echo "marketing insights over the bundled samples, as of their newest post (earshot insights run --at newest; daily in Airflow: marketing_insights, spike_watch):"
	@$(BIN)/earshot insights run --at newest

serve: $(STAMP) $(MODELS)
	@$(BIN)/earshot db upgrade
	@$(BIN)/earshot serve --demo-users $(SERVE_ARGS)

# The console's browser tests drive Debian's chromium headless (Playwright, no browser download).
CHROMIUM := /usr/bin/chromium
browser:
	@test -x $(CHROMIUM) || { echo "installing Debian's chromium for the browser tests"; \
		apt-get install -y -qq chromium chromium-driver > /dev/null 2>&1 \
		|| { apt-get update -qq > /dev/null && apt-get install -y -qq chromium chromium-driver > /dev/null; } \
		|| echo "could not install chromium (needs root and apt): the browser tests will be skipped"; }

test: $(STAMP) $(MODELS) browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP) $(MODELS)
	$(BIN)/python -m nlp.bench
	$(BIN)/python -m services.insights_bench
	$(BIN)/python -m services.e2e_bench --posts 100000 --tier fast
	$(BIN)/python -m services.e2e_bench --posts 10000 --tier minilm --store sqlite
	$(BIN)/python -m services.console_bench --cases 100000 --store both

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint typecheck test

lock: $(STAMP)
	$(BIN)/python -m pip freeze --exclude-editable | sed 's/+cpu$$//' > requirements.lock.tmp && mv requirements.lock.tmp requirements.txt

clean:
	rm -rf var
