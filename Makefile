# The front door: `make demo`, `make test`, `make lint`, `make bench`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat setup.py pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: demo test test-long lint type bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): $(PY) setup.py pyproject.toml
	$(PY) -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

demo: $(STAMP)
	$(PY) samples/demo.py

test: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider

test-long: $(STAMP)
	CLOUDSIGMA_LONG=1 $(PY) -m pytest -q -p no:cacheprovider tests/reliability

lint: $(STAMP)
	$(VENV)/bin/ruff check cloudsigma tests samples
	$(VENV)/bin/ruff format --check cloudsigma tests samples

type: $(STAMP)
	$(PY) -m pip install --quiet mypy types-requests
	$(PY) -m mypy

bench: $(STAMP)
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache .hypothesis
