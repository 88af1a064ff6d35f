# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
# Pins for reproducible installs (CI, demo); the package's own ranges stay loose for users.
CONSTRAINTS := constraints.txt

.PHONY: demo test test-fast mutate fuzz dev screenshot lint bench bench-install install install-dev clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade "pip>=24"

# The example trains PyTorch and Keras models and explains one: the demo needs those extras.
# Keras runs on the CPU build of TensorFlow here, and only that one: tf-keras is installed
# without its requirement of the `tensorflow` distribution, which would write a second
# TensorFlow over the first (pyproject.toml, extra `keras`). Where no TensorFlow installs
# (a platform without a tensorflow-cpu wheel) the rest still does: `make demo` then skips
# the Keras model and says so in one line, and `make test` fails (tests/test_environment.py).
# A scikit-learn-only or PyTorch-only project needs far less (docs/benchmarks.md, Install size).
DEMO_EXTRAS := ".[ui,pytorch,explain]"
TENSORFLOW := "keras>=3.14,<4" "tensorflow-cpu>=2.17"
$(VENV)/.installed: $(PY) pyproject.toml $(CONSTRAINTS)
	$(PIP) install --quiet -c $(CONSTRAINTS) -e $(DEMO_EXTRAS) $(TENSORFLOW) \
		|| { echo "make: TensorFlow does not install here: installing the rest (make demo skips the Keras model)"; \
		     $(PIP) install --quiet -c $(CONSTRAINTS) -e $(DEMO_EXTRAS); }
	if $(PY) -c "import importlib.util as u, sys; sys.exit(u.find_spec('tensorflow') is None)"; then \
		$(PIP) install --quiet -c $(CONSTRAINTS) --no-deps "tf-keras>=2.17"; fi
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PIP) install --quiet -c $(CONSTRAINTS) -e ".[dev]"
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## demo: install, materialize every asset of example_repo headless, print a summary (a model
## whose framework is not installed is skipped, with one line saying which and why)
demo: install
	$(VENV)/bin/sqlml check example_repo/sql
	$(VENV)/bin/sqlml materialize -m example_repo.definitions --skip-unavailable

## test: install dev extras and run the whole suite, every cost marker (PostgreSQL and
## MariaDB must answer on 127.0.0.1:5432 and :3306: .ci/services)
# Three pytest processes side by side on the machine's CPUs: the tests marked second_process —
# the Kubernetes and warehouse-server tests (mostly waiting on the test API server's pods and
# on PostgreSQL/MariaDB) and the heaviest trainings —, those marked third_process — the
# end-to-end projects of the scoring, explanation and catalog tests — (tests/conftest.py),
# and everything else, each in a temporary folder of its own; the first's log follows the
# others', and any failing fails the target.
TEST_TMP ?= $(or $(TMPDIR),/tmp)/sqlml-make-test
test: install-dev
	@rm -rf $(TEST_TMP) && mkdir -p $(TEST_TMP)
	@$(PY) -m pytest -q -m second_process --durations=15 -p no:cacheprovider --basetemp=$(TEST_TMP)/k8s $(PYTEST_ARGS) \
		> $(TEST_TMP)/k8s.log 2>&1 & k8s=$$!; \
	$(PY) -m pytest -q -m third_process --durations=15 -p no:cacheprovider --basetemp=$(TEST_TMP)/e2e $(PYTEST_ARGS) \
		> $(TEST_TMP)/e2e.log 2>&1 & e2e=$$!; \
	$(PY) -m pytest -q -m "not second_process and not third_process" --durations=15 -p no:cacheprovider --basetemp=$(TEST_TMP)/rest $(PYTEST_ARGS); \
	rest=$$?; wait $$k8s; k8s_rc=$$?; wait $$e2e; e2e_rc=$$?; \
	echo "== the second process: Kubernetes, warehouse-server and the heaviest training tests (pytest -m second_process) =="; \
	cat $(TEST_TMP)/k8s.log; \
	echo "== the third process: end-to-end projects (pytest -m third_process) =="; \
	cat $(TEST_TMP)/e2e.log; \
	echo "make test: the rest exit $$rest, the second process exit $$k8s_rc, the third exit $$e2e_rc"; \
	test $$rest -eq 0 -a $$k8s_rc -eq 0 -a $$e2e_rc -eq 0

## mutate: mutation testing of the modules in pyproject's [tool.mutmut] against the tests
## that cover them; prints the surviving mutants (docs/testing.md). Not part of `make test`.
## One module: make mutate MUTANTS='sqlml_dagster.store.gates.*'
MUTANTS ?=
mutate: install-dev
	$(PIP) install --quiet -c $(CONSTRAINTS) "mutmut>=3.8"
	rm -rf mutants
	$(VENV)/bin/mutmut run $(if $(MUTANTS),"$(MUTANTS)") || true
	$(VENV)/bin/mutmut results

## test-fast: the quick loop — tests marked fast (no slow, k8s, warehouse or gpu test)
test-fast: install-dev
	$(PY) -m pytest -q -m fast $(PYTEST_ARGS)

## fuzz: the compiler's property tests with many more, fresh random examples (FUZZ_EXAMPLES per
## test), then the model store's: STORE_FUZZ_EXAMPLES random interleavings of reserve, publish,
## fail, kill, gc, promote and read across worker processes, on a local folder and on S3
FUZZ_EXAMPLES ?= 100000
STORE_FUZZ_EXAMPLES ?= 100
fuzz: install-dev
	SQLML_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) -m pytest -q tests/compiler/test_fuzz.py --hypothesis-show-statistics $(PYTEST_ARGS)
	SQLML_STORE_FUZZ_EXAMPLES=$(STORE_FUZZ_EXAMPLES) $(PY) -m pytest -q tests/test_store_fuzz.py $(PYTEST_ARGS)

## dev: the Dagster UI on example_repo, a dg project (its defs folder: one SqlMlProject component)
dev: install
	VIRTUAL_ENV=$(abspath $(VENV)) $(VENV)/bin/dg dev

## screenshot: docs/images/*.png from a real webserver in headless Chromium (docs/ui.md; needs
## `apt-get install chromium` and `$(PIP) install playwright`, neither a test dependency)
screenshot: install
	$(PY) scripts/screenshot.py

## lint: ruff + mypy
lint: install-dev
	$(VENV)/bin/ruff check sqlml_dagster tests example_repo bench
	$(VENV)/bin/ruff format --check sqlml_dagster tests example_repo bench
	$(VENV)/bin/mypy

## bench: compiler throughput against a plain-sqlglot baseline measured in the same run, and
## deep-learning feed/predict/train throughput against the same work done directly, and
## `sqlml check` wall time on example_repo and 1,000 files, and Definitions load time of
## 1,000 files against the same assets in plain Dagster, and the server warehouses' export
## and write of 1,000,000 rows against the raw driver, pandas and a bare COPY, a
## hyper-parameter search with 2 trials at a time against the same trials one by one,
## a PyTorch training in 2 gloo processes (train.num_workers) against 1 process,
## `sqlml serve` p50/p99 latency under 3,000 requests against in-process scoring, and a
## second materialize of the unchanged example with --changed against a plain one
## (docs/benchmarks.md)
bench: install-dev
	$(PY) bench/bench_compiler.py
	$(PY) bench/bench_dl.py $(BENCH_DL_ARGS)
	$(PY) bench/bench_check.py $(BENCH_CHECK_ARGS)
	$(PY) bench/bench_definitions.py $(BENCH_DEFINITIONS_ARGS)
	$(PY) bench/bench_warehouses.py $(BENCH_WAREHOUSES_ARGS)
	$(PY) bench/bench_trials.py $(BENCH_TRIALS_ARGS)
	$(PY) bench/bench_distributed.py $(BENCH_DISTRIBUTED_ARGS)
	$(PY) bench/bench_serve.py $(BENCH_SERVE_ARGS)
	$(PY) bench/bench_changed.py $(BENCH_CHANGED_ARGS)

## bench-install: wall time, size and packages of fresh venvs: make demo's install, a
## scikit-learn-only and a PyTorch-only one (minutes: every download; not part of bench)
bench-install:
	$(PYTHON) bench/bench_install.py $(BENCH_INSTALL_ARGS)

clean:
	rm -rf .sqlml example_repo/.sqlml .pytest_cache .mypy_cache .ruff_cache
