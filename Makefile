# Two commands: `make run` and `make test`. Both set up .venv from requirements.txt first.
# `make dev` serves through Django's development server (auto-reload, DEBUG on); `make drill`
# runs the fault drills (docs/RELIABILITY.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: setup run dev test lint format bench drill fuzz migrate seed clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

setup: $(VENV)/.installed

migrate: setup
	$(BIN)/python manage.py migrate --noinput

seed: migrate
	$(BIN)/python manage.py seed_demo

run: seed
	PORT=$(PORT) $(BIN)/python manage.py run_stack

dev: seed
	PORT=$(PORT) DJANGO_DEBUG=1 $(BIN)/python manage.py run_stack --dev

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Schemathesis against a live server (tests/fuzz_api.py): no 5xx, no answer outside the schema.
fuzz: setup
	$(BIN)/python -m tests.fuzz_api

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: setup
	$(BIN)/python -m bench

# Fault drills with real processes (on PostgreSQL: DATABASE_URL), then the soak of `make run`
# on the embedded default (SOAK_MINUTES, default 30; SOAK_PORT, default 8100).
drill: setup
	OMS_DRILLS=1 $(BIN)/python -m pytest tests/drills tests/properties $(PYTEST_ARGS)
	$(BIN)/python -m drills.soak

clean:
	rm -rf $(VENV) var
