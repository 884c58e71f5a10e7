# Two commands on a fresh machine (python3, pip, make, git): `make demo` and `make test`.
# Both install uv into .tools/ and sync the locked environment (.venv/) first; nothing else is needed.
UV_VERSION ?= 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/$(VENV)

.PHONY: setup demo test test-slow bench lint clean

$(UV):
	python3 -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen
	touch $@

setup: $(VENV)/.synced

demo: setup  ## generate the synthetic city and run the whole pipeline through Airflow
	$(VENV)/bin/creditwh demo $(ARGS)

test: setup  ## the default test suite (what CI runs)
	$(VENV)/bin/python -m pytest $(ARGS)

test-slow: setup  ## scale tests left out of the default run
	$(VENV)/bin/python -m pytest -m slow $(ARGS)

bench: setup  ## stage timings at city scale -> docs/benchmarks.md
	$(VENV)/bin/creditwh bench --scale city $(ARGS)

clean:
	rm -rf .creditwh dbt_project/target dbt_project/logs
