# The two commands: `make demo` runs the main job on the bundled examples; `make test` runs the
# whole suite (lint, types, architecture contracts, tests). Both create .venv on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test lint typecheck contracts pytest docs schemas examples clean

$(VENV)/.installed-run: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(VENV)/.installed-run $@

OFFICES := rovaniemi kemi tornio kemijarvi sodankyla inari kittila

demo: $(VENV)/.installed-run
	$(BIN)/cmo validate
	$(BIN)/cmo summary --lang en
	test -f .cmo/pseudonymisation.key || $(BIN)/cmo key create
	for office in $(OFFICES); do \
	  $(BIN)/cmo collect --office $$office examples/$$office/* || exit $$?; \
	done
	$(BIN)/cmo batches
	$(BIN)/cmo analyse --lang en
	$(BIN)/cmo report --lang fi --out out/raportti.html
	$(BIN)/cmo report --lang en --out out/report.html
	@echo "The reports: $(CURDIR)/out/raportti.html (suomeksi) and $(CURDIR)/out/report.html"

test: $(VENV)/.installed-test lint typecheck contracts pytest

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy

contracts: $(VENV)/.installed-test
	$(BIN)/lint-imports

pytest: $(VENV)/.installed-test
	$(BIN)/pytest

# Regenerate what is generated from the models (tests fail when these drift).
docs: $(VENV)/.installed-run
	$(BIN)/python -m cmo.findings > docs/findings.md
	$(BIN)/python -m cmo.theory.schema > docs/theory-reference.md

examples: $(VENV)/.installed-test
	$(BIN)/python examples/generate.py

schemas: $(VENV)/.installed-run
	for kind in theory indicators settings; do $(BIN)/cmo schema $$kind > schemas/$$kind.schema.json; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
