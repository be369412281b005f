PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test test-slow lint imports duplicates typecheck check clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "torch==2.13.0"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[test]"
	touch $(STAMP)

demo: install
	$(BIN)/deepmod example burgers --output demo-data.npz --noise 0.05 --samples 1000 --quiet
	$(BIN)/deepmod discover demo-data.npz --coords t,x --fields u --seed 0

test: install
	$(BIN)/python -m pytest -q

test-slow: install
	$(BIN)/python -m pytest -q -m slow

lint: install
	$(BIN)/ruff check src tests examples benchmarks
	$(BIN)/ruff format --check src tests examples benchmarks

# The import-linter contracts in pyproject.toml: the layers of DESIGN.md, method packages independent.
imports: install
	$(BIN)/lint-imports

# Repeated code in src/ (the workplace's `duplicates` tool, where it is installed): any pair found fails.
duplicates:
	@if command -v duplicates >/dev/null 2>&1; then \
		out=$$(duplicates --repo src); echo "$$out"; \
		case "$$out" in "no duplicates"*) ;; *) exit 1 ;; esac; \
	else echo "duplicates: tool not installed, check skipped"; fi

typecheck: install
	$(BIN)/mypy

check: lint imports duplicates typecheck test

clean:
	rm -rf $(VENV) demo-data.npz
