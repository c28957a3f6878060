# Two commands for a new user: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ARGS ?=

.PHONY: test lint typecheck pytest demo bench bench-quick chaos soak clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest $(ARGS)

demo: $(STAMP)
	scripts/with-redis $(BIN)/broadcaster demo $(ARGS)

# Benchmarks against the baselines, on a redis-server, sandbox and workers of their own
# (needs redis-server installed): bench/results/latest.md and .json; see docs/benchmarks.md.
bench: $(STAMP)
	$(BIN)/python -m bench $(ARGS)

bench-quick: $(STAMP)
	$(BIN)/python -m bench --quick $(ARGS)

# Reliability (docs/reliability.md), on a redis-server, sandbox and workers of their own (needs
# redis-server): `chaos` kills workers, Redis and the sandbox during a 5,000-recipient campaign
# (about 4 min; `ARGS=--short` for the 1-min version in `make test`, `ARGS="--broker rabbitmq"`
# with a RabbitMQ node of its own as the broker); `soak` sends 100,000
# recipients with periodic kills and samples memory (about 10 min; not in `make test`).
chaos: $(STAMP)
	$(BIN)/python -m bench.chaos $(ARGS)

soak: $(STAMP)
	$(BIN)/python -m bench.soak $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
