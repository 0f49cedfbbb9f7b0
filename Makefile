# The two commands a newcomer needs: `make run` and `make test`.
# Everything else is here for people working on the backbone.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
OMNI   := $(BIN)/omni
PYTEST := $(BIN)/pytest
NODES  ?= 1
WORKERS ?= 1
STAMP  := $(VENV)/.installed

.PHONY: help run down status test test-unit test-integration test-faults browser-deps lint fmt docs kafka-up kafka-down registry-up registry-down clean bench bench-quick

help:
	@echo "make run         start Kafka, the registry, topics, schemas and WORKERS=1 processors"
	@echo "make test        lint, then the whole suite against a real broker and registry"
	@echo "make test-unit   the fast tests, no broker"
	@echo "make test-faults the fault-injection suite (FAULT_ARGS=\"--fault-events N --fault-seed S\")"
	@echo "make bench       end-to-end benchmarks B1-B6 (bench-results/latest.md); make bench-quick ~1 min"
	@echo "make down        stop everything make run started"
	@echo "make kafka-up    NODES=1|3   start the local broker(s); make kafka-down stops them"
	@echo "make lint        ruff and mypy;  make docs  regenerate AsyncAPI and the README table"

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test,dev]"
	@touch $(STAMP)

run: $(STAMP)
	$(OMNI) up --workers $(WORKERS)

down: $(STAMP)
	$(OMNI) down

status: $(STAMP)
	$(OMNI) status

# pytest's exit code 5 means it ran no test: that is a failure here, never a pass.
# Everything. Most of the fault suite (tests/faults, ~9 min alone) runs beside the rest, against
# a broker and registry of its own (FAULT_LOCAL: its own state folder and ports; the jars, fetched
# once by `omni fetch`, shared): both halves spend much of their time waiting (group joins,
# session timeouts, a 20 s SIGSTOP), so together they take about 14 minutes instead of 19.
# Row 2b runs after the rest instead: its schedule needs workers that join in seconds.
# The fault lane's output follows the rest's; the slowest tests are listed.
FAULT_HOME  := $(CURDIR)/.omni/faults
FAULT_LOCAL := OMNI_LOCAL__HOME=$(FAULT_HOME) OMNI_LOCAL__KAFKA_PORT=29092 \
	OMNI_LOCAL__CONTROLLER_PORT=29093 OMNI_LOCAL__CLUSTER_BASE_PORT=29192 \
	OMNI_LOCAL__REGISTRY_PORT=28081
FAULT_LOG   := bench-results/faults-run.log
test: $(STAMP) lint browser-deps
	@$(OMNI) fetch >/dev/null && mkdir -p $(FAULT_HOME) bench-results && ln -sfn ../lib $(FAULT_HOME)/lib
	@env $(FAULT_LOCAL) $(PYTEST) tests/faults --ignore=tests/faults/test_churn.py \
		-p no:cacheprovider --durations=8 >$(FAULT_LOG) 2>&1 & faults=$$!; \
	$(PYTEST) tests/unit tests/integration tests/faults/test_churn.py -p no:cacheprovider \
		--fault-report faults-report-2b --durations=15; rc=$$?; \
	wait $$faults; frc=$$?; \
	echo; echo "==================== fault suite lane (tests/faults) ===================="; \
	cat $(FAULT_LOG); \
	for code in $$rc $$frc; do \
		if [ $$code -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; \
	done; \
	if [ $$rc -ne 0 ]; then exit $$rc; fi; exit $$frc

test-unit: $(STAMP)
	@$(PYTEST) tests/unit -p no:cacheprovider; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

test-integration: $(STAMP) browser-deps
	$(PYTEST) tests/integration -p no:cacheprovider

# Crashes, rebalances, broker loss and bad input; the report lands in bench-results/.
test-faults: $(STAMP)
	@$(PYTEST) tests/faults -p no:cacheprovider $(FAULT_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

# End-to-end benchmarks against the real broker and registry: one table, also written to
# bench-results/latest.{json,md}. Figures are reported, never gated on.
BENCH_STAMP := $(VENV)/.bench-installed
$(BENCH_STAMP): pyproject.toml $(STAMP)
	$(BIN)/pip install --quiet -e ".[test,dev,bench]"
	@touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python -m tests.bench.run

bench-quick: $(BENCH_STAMP)
	$(BIN)/python -m tests.bench.run --quick

# Debian's chromium and the pinned npm packages of the collector's browser test.
browser-deps:
	bash tests/browser/install.sh

lint: $(STAMP)
	$(BIN)/ruff check schemas streams connectors deploy tests
	$(BIN)/ruff format --check schemas streams connectors deploy tests
	$(BIN)/mypy

fmt: $(STAMP)
	$(BIN)/ruff check --fix schemas streams connectors deploy tests
	$(BIN)/ruff format schemas streams connectors deploy tests

docs: $(STAMP)
	$(BIN)/python -m schemas.docs

kafka-up: $(STAMP)
	$(OMNI) kafka up --nodes $(NODES)

kafka-down: $(STAMP)
	$(OMNI) kafka down --nodes $(NODES)

registry-up: $(STAMP)
	$(OMNI) registry up

registry-down: $(STAMP)
	$(OMNI) registry down

clean: down
	rm -rf .omni
