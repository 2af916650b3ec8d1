# make run   — install and serve the demo on http://127.0.0.1:5000
# make serve — production: gunicorn, several workers, 127.0.0.1:8000 (behind nginx)
# make test  — install the system packages and test tools, run every test (SQLite, then PostgreSQL)
# make lint  — ruff;  make bench — benchmarks with figures and ratios
# make lock  — re-compile requirements*.txt (pinned, hashed) from requirements*.in with pip-tools
VENV ?= .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app wsgi
MIGRATIONS := -d danvan/migrations
DEMO ?= DANVAN_DEMO_MODE=$${DANVAN_DEMO_MODE:-1} DANVAN_DEMO_SOFTHSM=$${DANVAN_DEMO_SOFTHSM:-1}

.PHONY: run serve test lint bench install install-dev upgrade seed system-deps lock

$(VENV)/.installed: requirements.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --require-hashes -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt $(VENV)/.installed
	$(PY) -m pip install -q --disable-pip-version-check --require-hashes -r requirements-dev.txt
	touch $@

# requirements.txt and requirements-dev.txt are generated: every package, transitive ones
# included, pinned with its hashes. Edit the .in files, then `make lock`. Pins already in the
# .txt files are kept unless the .in files ask otherwise (pip-compile --upgrade to refresh).
PIP_COMPILE := CUSTOM_COMPILE_COMMAND="make lock" $(VENV)/bin/pip-compile --quiet \
	--generate-hashes --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links
lock:
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check pip-tools==7.6.2
	$(PIP_COMPILE) -o requirements.txt requirements.in
	$(PIP_COMPILE) -o requirements-dev.txt requirements-dev.in

# Test-only JavaScript (axe-core for the accessibility tests), pinned by package-lock.json.
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev node_modules/.package-lock.json

upgrade: install
	$(DEMO) $(FLASK) db upgrade $(MIGRATIONS)

seed: upgrade
	$(DEMO) $(FLASK) danvan seed-demo --if-empty

# The background-job worker (e-mail, reminders, previews; queue in instance/jobs.sqlite3) runs
# beside the web server and is stopped with it (Ctrl-C, or make itself being stopped).
run: seed
	@trap 'kill $$web $$worker 2>/dev/null; wait' EXIT INT TERM; \
	$(DEMO) $(FLASK) danvan worker & worker=$$!; \
	$(DEMO) $(FLASK) run --host 127.0.0.1 --port 5000 & web=$$!; \
	wait $$web

# Production: gunicorn with several workers (WEB_CONCURRENCY, default 4) on BIND (default
# 127.0.0.1:8000, behind nginx); settings from instance/config.py or DANVAN_*, no demo mode.
# Migrations are not its job (`flask --app wsgi db upgrade -d danvan/migrations` first). The
# worker timeout stays above LIBREOFFICE_TIMEOUT (180 s): signing converts with LibreOffice.
# Background jobs need one worker beside it, run as its own service (systemd), same settings:
#   DANVAN_DEMO_MODE=0 .venv/bin/flask --app wsgi danvan worker
# With several app servers use JOBS_BACKEND "postgresql" or "redis" and one worker per server,
# all but one with --no-periodic (the minute's mail sweep and 07:00 reminders run once).
serve: install
	DANVAN_DEMO_MODE=0 $(VENV)/bin/gunicorn --workers $${WEB_CONCURRENCY:-4} \
		--bind $${BIND:-127.0.0.1:8000} --timeout 200 --access-logfile - wsgi:app

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Chromium, LibreOffice and fonts, poppler, PostgreSQL…: listed once in .ci/system-packages.tsv;
# installed with apt-get as root, otherwise the exact command is printed and nothing runs.
system-deps:
	@bash .ci/system-deps

test: system-deps install-dev lint
	$(VENV)/bin/pytest -p no:cacheprovider --db sqlite
	$(VENV)/bin/pytest -p no:cacheprovider --db postgresql

bench: install-dev
	$(PY) bench/run.py
