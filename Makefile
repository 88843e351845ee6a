# The front door: `make demo`, `make test`, `make lint`, `make bench`, `make docs`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# One stamp per extra, renewed whenever the package metadata changes.
HASH := $(shell cat setup.py pyproject.toml | cksum | cut -d' ' -f1)
installed = $(VENV)/.installed-$(1)-$(HASH)
DIST := build/check-dist

.PHONY: demo test test-long lint type bench docs check-dist clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed-%-$(HASH): $(PY) setup.py pyproject.toml
	$(PY) -m pip install --quiet -e '.[$*]'
	rm -f $(VENV)/.installed-$*-*
	touch $@

demo: $(call installed,test)
	$(PY) samples/demo.py

# Two workers (pytest-xdist), one per core of the CI machine; each has its own emulators.
test: $(call installed,test)
	$(PY) -m pytest -q -p no:cacheprovider -n 2

test-long: $(call installed,test)
	CLOUDSIGMA_LONG=1 $(PY) -m pytest -q -p no:cacheprovider tests/reliability tests/adversarial

lint: $(call installed,dev)
	$(VENV)/bin/ruff check cloudsigma tests samples
	$(VENV)/bin/ruff format --check cloudsigma tests samples

type: $(call installed,dev)
	$(PY) -m mypy

bench: $(call installed,test)
	$(PY) bench/run.py

# The site, from a fresh environment (the reference follows the package and the CLI page the
# parser); any warning is an error. Then check that the reference names every public name.
docs: $(call installed,docs)
	rm -rf docs/_build
	$(PY) -m sphinx -E -W --keep-going -q -b html docs docs/_build/html
	$(PY) -m pytest -q -p no:cacheprovider docs/test_reference.py

# The sdist round trip: build both distributions (no warning allowed), check their metadata,
# install the sdist into a fresh venv and run the suite from the unpacked sdist.
# setuptools says "byte-compiling is disabled" whenever PYTHONDONTWRITEBYTECODE is set; that
# says nothing about the package, so the build runs without it.
check-dist: $(call installed,dev)
	rm -rf $(DIST) && mkdir -p $(DIST)
	env -u PYTHONDONTWRITEBYTECODE $(PY) -m build --outdir $(DIST) . > $(DIST)/build.log 2>&1 \
		|| { cat $(DIST)/build.log; exit 1; }
	@if grep -i 'warning' $(DIST)/build.log; then echo "the build warned (above)"; exit 1; fi
	$(VENV)/bin/twine check --strict $(DIST)/*.whl $(DIST)/*.tar.gz
	$(PYTHON) -m venv $(DIST)/venv
	$(DIST)/venv/bin/python -m pip install --quiet --upgrade pip
	$(DIST)/venv/bin/python -m pip install --quiet "$$(ls $(DIST)/*.tar.gz)[test]"
	$(DIST)/venv/bin/python -m pip show --verbose cloudsigma > $(DIST)/show.txt
	grep -E '^(Home-page|Project-URLs|  [A-Za-z]+, https)' $(DIST)/show.txt
	grep -q '^Home-page: https://' $(DIST)/show.txt && grep -q '^  Changelog, https://' $(DIST)/show.txt
	@# pip show has no Requires-Python line; read it from the installed metadata
	$(DIST)/venv/bin/python -c "from importlib.metadata import metadata; \
		print('Requires-Python:', metadata('cloudsigma')['Requires-Python'])" | grep '>=3.10'
	tar -xzf $(DIST)/*.tar.gz -C $(DIST)
	cd $(DIST)/cloudsigma-*/ && ../venv/bin/pytest -q -p no:cacheprovider -n 2

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache .hypothesis docs/_build
