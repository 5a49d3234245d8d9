# vnstitch: `make demo` and `make test` set everything up on a fresh Debian machine first.
PY := .venv/bin/python
SETUP_STAMP := .venv/.vnstitch-setup-done
PYTEST_ARGS ?=
TRACE ?=

.PHONY: setup demo test unit integration lint bench clean-testbed

setup:
	@bash scripts/setup.sh

demo: setup
	$(PY) -m mininet_scenarios.demo $(if $(TRACE),--trace $(TRACE),)

test: setup
	$(PY) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS) tests

unit: setup
	$(PY) -m pytest -q -p no:cacheprovider -m "not integration" $(PYTEST_ARGS) tests

integration: setup
	$(PY) -m pytest -q -p no:cacheprovider -m integration $(PYTEST_ARGS) tests

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy ryu_apps predictor topology vnstitch testbed mininet_scenarios bench
	.venv/bin/lint-imports

bench: setup
	$(PY) -m bench.run_all

clean-testbed: setup
	$(PY) -m testbed.cleanup
