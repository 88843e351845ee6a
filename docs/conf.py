"""Sphinx configuration of the cloudsigma documentation site (``make docs``).

The pages are Markdown (MyST), like the README; the API reference is generated from the
package's docstrings by ``_ext/apiref.py``; the command line page from the parser itself.
"""

from __future__ import annotations

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))

from cloudsigma.version import __version__  # noqa: E402

project = "cloudsigma"
author = "The cloudsigma contributors"
copyright = "2026, the cloudsigma contributors"  # noqa: A001 - Sphinx's name for it
version = release = __version__

REPOSITORY = "https://github.com/cloudsigma-community/cloudsigma"

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
    "sphinxarg.ext",
    "apiref",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "_ext", "Thumbs.db", ".DS_Store"]
# `--timeout` stays two hyphens, as typed.
smartquotes = False
# `code` in a docstring is code, as in Markdown.
default_role = "literal"

suppress_warnings = [
    # A short name in a signature (``ApiError``, ``Jobs``) can match classes of two modules;
    # Sphinx links the nearest one, which is what a reader wants.
    "ref.python",
    # sphinx-argparse's domain cannot answer MyST's "any" lookups; links still resolve.
    "myst.domains",
]

myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

autodoc_default_options = {
    "members": True,
    "undoc-members": True,
    "show-inheritance": True,
    "member-order": "bysource",
}
autodoc_typehints = "signature"
autodoc_class_signature = "separated"
autodoc_preserve_defaults = True

html_theme = "furo"
html_title = f"cloudsigma {release}"
html_theme_options = {
    "source_repository": f"{REPOSITORY}/",
    "source_branch": "main",
    "source_directory": "docs/",
}
html_static_path: list[str] = []

#: The site's pages in reading order. A page that another change has not added yet is left
#: out of the table of contents instead of breaking the build.
PAGES = [
    "quickstart",
    "migrating",
    "testing",
    "emulator",
    "emulator-options",
    "cli",
    "architecture",
    "benchmarks",
    "reference/index",
    "changelog",
    "contributing",
]


def _fill_contents(app, docname, source):  # type: ignore[no-untyped-def]
    """Put the toctree of the existing pages where the front page says ``{pages}``."""
    if docname != "index":
        return
    present = [
        page
        for page in PAGES
        if page.startswith("reference/")
        or any((DOCS / f"{page}{suffix}").exists() for suffix in source_suffix)
    ]
    toctree = "```{toctree}\n:maxdepth: 2\n\n" + "\n".join(present) + "\n```"
    source[0] = source[0].replace("{pages}", toctree)


def setup(app):  # type: ignore[no-untyped-def]
    app.connect("source-read", _fill_contents)
    # the front page lists the pages that exist and the command pages read their parsers: read
    # them again
    app.connect(
        "env-get-outdated",
        lambda app, env, added, changed, removed: ["index", "cli", "emulator-options"],
    )
