# Two commands for a newcomer: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_MEMBERS ?= 5000
HOST ?= 127.0.0.1:8000

.PHONY: run test install migrate demo lint bench clean

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed

.env:
	$(PYTHON) config/make_env.py .env

migrate: install .env
	$(BIN)/python manage.py migrate --noinput

# Loads the demo district only when the database holds no organisation yet.
demo: migrate
	$(BIN)/python manage.py seed_demo --members $(DEMO_MEMBERS) --seed 1 --if-empty

run: demo
	@echo "=============================================================="
	@echo " 智慧党建服务平台: http://$(HOST)/"
	@cat var/demo-logins.txt 2>/dev/null || true
	@echo "=============================================================="
	$(BIN)/python manage.py runserver $(HOST)

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) var
