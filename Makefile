# make run   — install and serve the demo on http://127.0.0.1:5000
# make test  — install test tools and run every test (SQLite, then PostgreSQL)
# make lint  — ruff;  make bench — benchmarks with figures and ratios
VENV ?= .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app wsgi
MIGRATIONS := -d danvan/migrations
DEMO ?= DANVAN_DEMO_MODE=$${DANVAN_DEMO_MODE:-1}

.PHONY: run test lint bench install install-dev upgrade seed

$(VENV)/.installed: requirements.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt $(VENV)/.installed
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

upgrade: install
	$(DEMO) $(FLASK) db upgrade $(MIGRATIONS)

seed: upgrade
	$(DEMO) $(FLASK) danvan seed-demo --if-empty

run: seed
	$(DEMO) $(FLASK) run --host 127.0.0.1 --port 5000

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: install-dev lint
	$(VENV)/bin/pytest -p no:cacheprovider --db sqlite
	$(VENV)/bin/pytest -p no:cacheprovider --db postgresql

bench: install-dev
	$(PY) bench/run.py
