# partnergraph developer commands (GNU make). Needs only python3 (>= 3.11) with venv.
#
#   make run      install into .venv, migrate, load demo data, serve on http://127.0.0.1:8000
#   make test     pytest, ruff check, ruff format --check, mypy, the schema's breaking changes
#   make lint     ruff check, ruff format --check, mypy
#   make bench    every bench/*.py script (files starting with "_" are helpers, not run)
#   make fuzz     10,000 generated GraphQL operations against the app (FUZZ_COUNT=N)
#   make lock     re-resolve requirements/*.lock (what every install uses) from pyproject.toml
#   make schema   write the GraphQL SDL to schema.graphql
#   make web      rebuild the web console and GraphiQL into app/console_dist (npm ci + vite)
#   make web-check  fail when app/console_dist differs from a fresh build of web/
#   make clean    caches and build output; `make distclean` also removes .venv and the local DB
#
# Variables: PYTHON (interpreter used to create the venv), VENV, HOST, PORT, TEST_WORKERS
# (pytest-xdist processes for `make test`, default 3; each file's tests share one).

PYTHON ?= python3
VENV ?= .venv
HOST ?= 127.0.0.1
PORT ?= 8000
# One more than this machine's 2 cores: tests wait on child processes, emails and
# sockets, and with 2 workers the cores were busy 69 % of the run (272 s; 240 s with 3).
TEST_WORKERS ?= 3

BIN := $(VENV)/bin
VPY := $(BIN)/python
# Stamps live inside the venv: deleting .venv also forgets them.
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev

.DEFAULT_GOAL := help
.DELETE_ON_ERROR:
.PHONY: help run test lint bench fuzz lock schema clean distclean install install-dev deps web web-check

help:
	@sed -n '1,16s/^# \{0,1\}//p' $(firstword $(MAKEFILE_LIST))

# --- environment -------------------------------------------------------------------------

# A half-made venv (e.g. python3-venv missing, so no pip) must not count as done.
$(VPY):
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { \
		echo "partnergraph needs Python >= 3.11; '$(PYTHON)' is $$($(PYTHON) -V 2>&1)." >&2; \
		echo "Run e.g. 'make PYTHON=python3.11 ...'." >&2; exit 1; }
	$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); exit 1; }

# Installs exactly the versions of the lock files (requirements/*.lock, `make lock`), then
# the project itself; again only when pyproject.toml or a lock is newer than the stamp.
$(RUN_STAMP): pyproject.toml requirements/run.lock | $(VPY)
	$(VPY) -m pip install -r requirements/run.lock
	$(VPY) -m pip install --no-deps -e .
	@touch $@

# The dev extras include the runtime dependencies, so `make run` needs nothing more after it.
$(DEV_STAMP): pyproject.toml requirements/dev.lock | $(VPY)
	$(VPY) -m pip install -r requirements/dev.lock
	$(VPY) -m pip install --no-deps -e .
	@touch $@ $(RUN_STAMP)

# Node.js is for rebuilding the console only: its build ships in the Python package.
WEB_STAMP := web/node_modules/.package-lock.json
$(WEB_STAMP): web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

install: $(RUN_STAMP)
install-dev: $(DEV_STAMP)
# Everything `make test` needs; `make -j2 deps` installs the Python and npm parts at once.
deps: $(DEV_STAMP) $(WEB_STAMP)

# Re-resolve the lock files from pyproject.toml (uv, a dev dependency): every platform,
# Python 3.11 and later. Commit the result.
LOCK = $(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 --no-header --quiet
lock: $(DEV_STAMP)
	$(LOCK) -o requirements/run.lock
	$(LOCK) --extra dev -o requirements/dev.lock

# --- commands ----------------------------------------------------------------------------

# Embedded default: SQLite file ./partnergraph.db, in-process broker and worker
# (unless PARTNERGRAPH_DATABASE_URL / PARTNERGRAPH_REDIS_URL say otherwise).
run: $(RUN_STAMP)
	$(BIN)/partnergraph migrate
	$(BIN)/partnergraph demo
	$(BIN)/partnergraph serve --host $(HOST) --port $(PORT)

# Every step runs even if an earlier one fails, so one CI run shows all problems; the
# target fails if any step did (pytest's exit code 5, "no tests collected", included).
# The project's bytecode is written first: with PYTHONDONTWRITEBYTECODE set, each of the
# suite's child processes (servers, workers, CLIs) would compile every module again.
test: $(DEV_STAMP)
	@failed=""; \
	echo "== pytest ($(TEST_WORKERS) workers)"; \
	$(VPY) -m compileall -q -j 0 app config db domain resolvers schema workers; \
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile || failed="$$failed pytest(rc=$$?)"; \
	echo "== ruff check"; $(BIN)/ruff check . || failed="$$failed ruff-check"; \
	echo "== ruff format --check"; $(BIN)/ruff format --check . || failed="$$failed ruff-format"; \
	echo "== mypy"; $(BIN)/mypy || failed="$$failed mypy"; \
	echo "== web-check"; $(MAKE) --no-print-directory web-check || failed="$$failed web-check"; \
	echo "== schema breaking changes"; $(VPY) .ci/schema_compat.py || failed="$$failed schema-compat"; \
	if [ -n "$$failed" ]; then echo "FAILED:$$failed" >&2; exit 1; fi; \
	echo "all checks passed"

lint: $(DEV_STAMP)
	@failed=""; \
	echo "== ruff check"; $(BIN)/ruff check . || failed="$$failed ruff-check"; \
	echo "== ruff format --check"; $(BIN)/ruff format --check . || failed="$$failed ruff-format"; \
	echo "== mypy"; $(BIN)/mypy || failed="$$failed mypy"; \
	if [ -n "$$failed" ]; then echo "FAILED:$$failed" >&2; exit 1; fi

bench: $(DEV_STAMP)
	@ran=0; failed=""; \
	for script in bench/*.py; do \
		[ -f "$$script" ] || continue; \
		case "$$(basename "$$script")" in _*) continue ;; esac; \
		echo "== $$script"; ran=$$((ran + 1)); \
		$(VPY) "$$script" || failed="$$failed $$script"; \
	done; \
	if [ "$$ran" -eq 0 ]; then echo "no bench/*.py scripts found"; fi; \
	if [ -n "$$failed" ]; then echo "FAILED:$$failed" >&2; exit 1; fi

FUZZ_COUNT ?= 10000
fuzz: $(DEV_STAMP)
	$(VPY) bench/fuzz_api.py --count $(FUZZ_COUNT)

# Written to a temporary file first: a failing export never leaves a truncated schema.
schema: $(RUN_STAMP)
	$(BIN)/partnergraph export-schema > schema.graphql.tmp || { rm -f schema.graphql.tmp; exit 1; }
	@mv schema.graphql.tmp schema.graphql
	@echo "wrote schema.graphql"

web: $(WEB_STAMP)
	cd web && npm run --silent build

# A fresh build into a scratch directory, compared file by file with the shipped one.
web-check: $(WEB_STAMP)
	@out="$$(mktemp -d)"; trap 'rm -rf "$$out"' EXIT; \
	(cd web && PARTNERGRAPH_WEB_OUT="$$out" npm run --silent build >"$$out.log" 2>&1) \
		|| { cat "$$out.log"; rm -f "$$out.log"; exit 1; }; rm -f "$$out.log"; \
	if diff -rq "$$out" app/console_dist; then echo "app/console_dist matches a fresh build of web/"; \
	else echo "app/console_dist differs from a fresh build of web/: run 'make web' and commit" >&2; exit 1; fi

clean:
	rm -rf build dist .pytest_cache .mypy_cache .ruff_cache .hypothesis .bench *.egg-info \
		schema.graphql.tmp
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) partnergraph.db partnergraph.db-wal partnergraph.db-shm outbox-mail
