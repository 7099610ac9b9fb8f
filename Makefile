# Two commands: `make run` and `make test`. Both set up .venv from requirements.txt first.
# `make dev` serves through Django's development server (auto-reload, DEBUG on); `make drill`
# runs the fault drills (docs/RELIABILITY.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: setup run dev test lint format bench drill migrate seed clean

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

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: setup
	$(BIN)/python -m bench

# Fault drills on PostgreSQL (DATABASE_URL) with real processes; SOAK_MINUTES sets the soak.
drill: setup
	$(BIN)/python -m pytest -m drill -p no:randomly tests/drills $(PYTEST_ARGS)
	$(BIN)/python -m drills.soak

clean:
	rm -rf $(VENV) var
