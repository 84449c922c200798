# gxstat developer entry points. Needs only Python 3.11+ on PATH (or PYTHON=...).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check -q
STAMP  := $(VENV)/.gx-installed
PKGS   := kernel contracts deploy/devstack \
          services/registry services/agri services/population services/organisation services/workflow services/gateway
# Reinstall only when a dependency list changes.
DEPS   := requirements.txt requirements-dev.txt $(wildcard $(addsuffix /pyproject.toml,$(PKGS)))

.PHONY: run test bench schemas clean venv

venv: $(STAMP)

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "need Python 3.11+")'
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(DEPS) | $(PY)
	$(PIP) install -r requirements-dev.txt
	$(PIP) install $(addprefix -e ,$(PKGS))
	@touch $@

run: $(STAMP)
	$(PY) -m gx_devstack.run

# Everything CI runs (.ci/run): lint first, then every test, in TEST_WORKERS processes
# (pytest-xdist; each test file whole in one worker, each worker its own embedded PostgreSQL
# and broker — infra slots under .data/test-infra). TEST_WORKERS=0: one process.
TEST_WORKERS ?= 2
test: lint
	$(PY) -m pytest -q $(if $(filter-out 0,$(TEST_WORKERS)),-n $(TEST_WORKERS) --dist loadfile) $(PYTEST_ARGS)

# ruff over the tree; mypy strict for kernel/ and every services/*/gx_*/domain package
# (both configured in pyproject.toml).
.PHONY: lint
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

# The tests that need no database, broker or browser (marked in tests/conftest.py), with a
# quarter of each Hypothesis property's examples (tests/hypothesis_budget.py). Bytecode is
# cached under .cache/ even where the shell sets PYTHONDONTWRITEBYTECODE: else every run
# recompiles our modules and re-rewrites the asserts of hypothesis & co (~3 s of ~10).
# schemathesis' plugin serves only tests/e2e.
.PHONY: test-unit
test-unit: $(STAMP)
	env -u PYTHONDONTWRITEBYTECODE PYTHONPYCACHEPREFIX=$(CURDIR)/.cache/pycache \
		$(PY) -m pytest -q -m unit -p no:schemathesis $(PYTEST_ARGS)

bench: $(STAMP)
	@set -e; for f in bench/[!_]*.py; do \
		[ -e "$$f" ] || continue; echo "== $$f"; $(PY) "$$f"; done

schemas: $(STAMP)
	$(PY) -m gx_contracts.export

clean:
	rm -rf .data .pytest_cache test-artifacts bench/results $(STAMP)
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +
