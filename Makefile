.PHONY: lint test run
PY := .venv/bin

# One command for every static check: ruff, mypy (strict on desktop/core and spec), import contracts.
lint:
	$(PY)/ruff check desktop training spec tests benchmarks scripts packaging
	$(PY)/mypy desktop training spec
	$(PY)/lint-imports --no-cache

test:
	bash scripts/test.sh

run:
	bash scripts/run.sh
