"""The built reference names every public name and module: run by ``make docs`` after the build.

``CLOUDSIGMA_DOCS_HTML`` names the built site (default ``docs/_build/html``).
"""

from __future__ import annotations

import importlib
import os
import re
import sys
import zlib
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))

from apiref import public_modules, public_names  # noqa: E402

HTML = Path(os.environ.get("CLOUDSIGMA_DOCS_HTML", DOCS / "_build" / "html"))

CHECKED_MODULES = ["cloudsigma.resource", "cloudsigma.errors", "cloudsigma.generic"]


def built_page(relative: str) -> str:
    path = HTML / relative
    if not path.is_file():
        pytest.fail(f"{path} is missing: build the site first (make docs)")
    return path.read_text(encoding="utf-8")


def inventory_names() -> set[str]:
    """The Python objects of the site's ``objects.inv`` (the index other sites link to)."""
    raw = (HTML / "objects.inv").read_bytes()
    header_end = 0
    for _ in range(4):  # four text lines, then the zlib-compressed entries
        header_end = raw.index(b"\n", header_end) + 1
    entries = zlib.decompress(raw[header_end:]).decode("utf-8").splitlines()
    return {line.split(" ", 1)[0] for line in entries if " py:" in line}


def top_level_signatures(page: str, module: str) -> set[str]:
    """Names shown as ``module.NAME`` signatures on a page (methods show no module prefix)."""
    prefix = re.escape(f"{module}.")
    pattern = (
        rf'sig-prename descclassname"><span class="pre">{prefix}</span></span>'
        r'<span class="sig-name descname"><span class="pre">(\w+)</span>'
    )
    return set(re.findall(pattern, page))


@pytest.mark.parametrize("module_name", CHECKED_MODULES)
def test_every_public_name_is_on_its_module_page(module_name):
    module = importlib.import_module(module_name)
    page = built_page(f"reference/{module_name}.html")
    missing = set(public_names(module)) - top_level_signatures(page, module_name)
    assert not missing, f"reference/{module_name}.html does not show {sorted(missing)}"


@pytest.mark.parametrize("module_name", CHECKED_MODULES)
def test_every_public_name_is_described_once_in_the_index(module_name):
    """A re-exported name points at a described object; every other name is described here."""
    module = importlib.import_module(module_name)
    page = built_page(f"reference/{module_name}.html")
    indexed = inventory_names()
    links = set(re.findall(r'href="[^"#]*#([\w.]+)"', page))
    for name in public_names(module):
        value = getattr(module, name)
        here = f"{module_name}.{name}"
        home = f"{getattr(value, '__module__', module_name)}.{getattr(value, '__qualname__', '')}"
        described = here in indexed or (home in indexed and home in links)
        assert described, f"{here} is neither described nor linked to its description"


def test_every_public_module_has_a_page():
    modules = public_modules()
    assert {"cloudsigma", "cloudsigma.resource", "cloudsigma.emulator"} <= set(modules)
    index = built_page("reference/index.html")
    for module in modules:
        built_page(f"reference/{module}.html")
        assert f'href="{module}.html"' in index, f"the reference index does not list {module}"


def test_private_modules_stay_out_of_the_reference():
    pages = {path.stem for path in (HTML / "reference").glob("*.html")}
    assert pages, "no reference pages were built"
    assert not [page for page in pages if "._" in page], sorted(pages)


def test_the_emulator_options_page_lists_every_option_of_the_command():
    import html

    from cliparsers import emulator_parser

    text = html.unescape(re.sub(r"<[^>]+>", " ", built_page("emulator-options.html")))
    options = {
        option
        for action in emulator_parser()._actions
        for option in action.option_strings
        if option.startswith("--") and option != "--help"  # the page leaves out --help
    }
    assert "--write-config" in options
    assert sorted(option for option in options if option not in text) == []
