# Two commands for a newcomer: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_MEMBERS ?= 5000
HOST ?= 127.0.0.1:8000

.PHONY: run test install migrate demo lint security bench clean

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
	$(BIN)/python manage.py seed_demo_activity
	@# Today's 政治生日 greetings, so the demo inboxes are not empty (once a day: the job is idempotent).
	$(BIN)/python manage.py jobs run notifications.political_birthdays

run: demo
	@echo "=============================================================="
	@echo " 智慧党建服务平台: http://$(HOST)/"
	@cat var/demo-logins.txt 2>/dev/null || true
	@echo "=============================================================="
	@# The task queue's worker (huey: pushes, 政治生日, digests, reminders) runs beside the web server and stops with it.
	$(BIN)/python manage.py run_huey & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(BIN)/python manage.py runserver $(HOST)

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .

# Static security checks (bandit: every finding fixed or marked with its reason) and known vulnerabilities in the
# installed packages (pip-audit; says so when the advisory service cannot be reached). docs/security.md.
security: install
	$(BIN)/bandit -q -c pyproject.toml -r dangjian config bench
	$(BIN)/python config/audit_deps.py

# Benchmarks of issue 8 on a separate database (docs/performance.md). Generate it first (minutes at 1M):
#   $(BIN)/python -m bench.generate --members 1000000
# BENCH_ARGS: e.g. --quick, --sqlite-path bench/out/city-100000.sqlite3, --database-url postgres://…
bench: install .env
	$(BIN)/python -m bench.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var
