# Two commands on a fresh machine (python3, pip, make, git): `make demo` and `make test`.
# Both install uv into .tools/ and sync the locked environment (.venv/) first; nothing else is needed.
UV_VERSION ?= 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/$(VENV)

SPARK_VENV := .venv-spark

.PHONY: setup demo test test-duckdb test-slow test-spark spark-setup bench lint clean

$(UV):
	python3 -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen
	touch $@

setup: $(VENV)/.synced

demo: setup  ## generate the synthetic city and run the whole pipeline through Airflow
	$(VENV)/bin/creditwh demo $(ARGS)

test: setup spark-setup  ## what CI runs: the default suite, then the DuckDB/Spark parity of every table
	$(VENV)/bin/python -m pytest $(ARGS)
	$(MAKE) --no-print-directory test-spark ARGS=

test-duckdb: setup  ## the default suite alone (no Spark): the quick loop while developing
	$(VENV)/bin/python -m pytest $(ARGS)

test-slow: setup  ## scale tests left out of the default run
	$(VENV)/bin/python -m pytest -m slow $(ARGS)

# Spark lives in an environment of its own, synced from the same lock with the `spark` extra (pyspark, dbt-spark),
# so `make setup` (an exact sync of .venv) never installs or removes it. Java 17 must be on the PATH.
$(SPARK_VENV)/.synced: $(UV) pyproject.toml uv.lock
	UV_PROJECT_ENVIRONMENT=$(CURDIR)/$(SPARK_VENV) $(UV) sync --frozen --extra spark
	touch $@

spark-setup: $(SPARK_VENV)/.synced  ## the Spark engine: `creditwh build --engine spark` finds it there

test-spark: spark-setup  ## the tiny city on DuckDB and Spark, every table compared (docs/scale-out.md)
	@command -v java >/dev/null || { echo "Spark needs Java 17: apt-get install openjdk-17-jre-headless"; exit 1; }
	$(SPARK_VENV)/bin/python -m pytest -m spark tests/test_spark_parity.py $(ARGS)

bench: setup  ## stage timings at city scale -> docs/benchmarks.md
	$(VENV)/bin/creditwh bench --scale city $(ARGS)

clean:
	rm -rf .creditwh dbt_project/target dbt_project/logs
