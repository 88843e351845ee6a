"""Write one reference page per public module of the package, found by walking it.

Nothing lists the modules by hand, so a module that is added, moved or split appears in the
reference at the next build. A module is public when no part of its dotted name starts with
an underscore; the command line's own modules are left to the command-line page, which is
generated from the parser. Each page documents what the module defines (``automodule``), and
each name its ``__all__`` takes from elsewhere: in full when the defining module is private,
otherwise as a short entry pointing at the one full description.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

PACKAGE = "cloudsigma"
#: Subpackages documented by their package page alone (their modules are internals).
INTERNAL_SUBPACKAGES = ("cloudsigma.cli.",)

#: Sections of the reference index, in reading order, with the module-name prefixes they take.
SECTIONS = (
    ("Client", ("cloudsigma",)),
    (
        "Images and transfers",
        (
            "cloudsigma.transfers",
            "cloudsigma.resumable_upload",
            "cloudsigma.upload_client",
            "cloudsigma.download",
        ),
    ),
    ("Server context", ("cloudsigma.metadata",)),
    ("Testing", ("cloudsigma.pytest_plugin", "cloudsigma.testing")),
    ("Emulator", ("cloudsigma.emulator",)),
    ("Command line", ("cloudsigma.cli",)),
)


def is_public(module_name: str) -> bool:
    """Whether ``module_name`` belongs in the reference."""
    if any(part.startswith("_") for part in module_name.split(".")):
        return False
    return not module_name.startswith(INTERNAL_SUBPACKAGES)


def public_modules() -> list[str]:
    """Every public module of the package, the package first, in dotted-name order."""
    package = importlib.import_module(PACKAGE)
    found = [PACKAGE]
    for info in pkgutil.walk_packages(package.__path__, f"{PACKAGE}."):
        if is_public(info.name):
            found.append(info.name)
    return sorted(found)


def public_names(module: ModuleType) -> list[str]:
    """The module's ``__all__``, or its public attributes that are not modules."""
    names = getattr(module, "__all__", None)
    if names is not None:
        return list(names)
    return [
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and not inspect.ismodule(value)
        and getattr(value, "__module__", module.__name__) == module.__name__
    ]


def _kind(value: Any) -> str:
    if inspect.isclass(value):
        return "exception" if issubclass(value, BaseException) else "class"
    if inspect.isroutine(value):
        return "function"
    return "data"


@dataclass
class Page:
    """What one module's page shows: its own definitions, and pointers for re-exports."""

    module: str
    pointers: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, name, target)
    submodules: list[str] = field(default_factory=list)


def plan_pages(modules: list[str]) -> dict[str, Page]:
    """Decide which page describes each public object in full; the others point there."""
    pages = {name: Page(name) for name in modules}
    loaded = {name: importlib.import_module(name) for name in modules}
    described: dict[int, str] = {}  # id(object) -> dotted name of its one full description
    for name, module in loaded.items():
        for attr in public_names(module):
            value = getattr(module, attr)
            if _kind(value) != "data" and getattr(value, "__module__", None) == name:
                described[id(value)] = f"{name}.{attr}"
    for name, module in loaded.items():
        page = pages[name]
        for attr in public_names(module):
            value = getattr(module, attr)
            kind = _kind(value)
            if inspect.ismodule(value):
                page.submodules.append(value.__name__)
            elif kind == "data" or getattr(value, "__module__", None) == name:
                continue  # automodule describes what the module defines, and its data
            elif id(value) in described:
                page.pointers.append((kind, attr, described[id(value)]))
            else:  # defined in a private module: automodule describes it here, once
                described[id(value)] = f"{name}.{attr}"
    return pages


def _title(text: str) -> list[str]:
    return [text, "=" * len(text), ""]


def render_page(page: Page) -> str:
    """The reST source of one module's page."""
    lines = _title(f"``{page.module}``")
    lines += [f".. automodule:: {page.module}"]
    if page.pointers:
        lines += [f"   :exclude-members: {', '.join(attr for _, attr, _ in page.pointers)}"]
    lines += [""]
    if page.pointers:
        lines += ["Also importable from here", "-" * 25, ""]
    for kind, attr, target in page.pointers:
        role = {"exception": "exc", "class": "class", "function": "func"}[kind]
        # no-index: the name is described once, where the link goes
        lines += [
            f".. py:{kind}:: {attr}",
            f"   :module: {page.module}",
            "   :no-index:",
            "",
            f"   The same object as :py:{role}:`{target}`.",
            "",
        ]
    if page.submodules:
        lines += ["Submodules, loaded on first use:", ""]
        lines += [f"- :py:mod:`{sub}`" for sub in page.submodules] + [""]
    return "\n".join(lines)


def section_of(module: str) -> str:
    """The section of a module: the one with the longest matching prefix."""
    matches = [
        (len(prefix), title)
        for title, prefixes in SECTIONS
        for prefix in prefixes
        if module == prefix or module.startswith(prefix + ".")
    ]
    return max(matches)[1]


def render_index(modules: list[str]) -> str:
    """The reST source of the reference's front page: one toctree per section."""
    lines = _title("API reference")
    lines += [
        "Generated from the package's docstrings, one page per public module. Every module",
        "and class here is importable as named; names a module re-exports from another are",
        "listed on both pages and described once.",
        "",
    ]
    for title, _prefixes in SECTIONS:
        members = [m for m in modules if section_of(m) == title]
        if not members:
            continue
        lines += [title, "-" * len(title), "", ".. toctree::", "   :maxdepth: 1", ""]
        lines += [f"   {m}" for m in members] + [""]
    return "\n".join(lines)


def _write_if_changed(path: Path, text: str) -> None:
    """Rewrite a page only when it changed, so Sphinx rebuilds only what changed."""
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def write_reference(out_dir: Path) -> list[str]:
    """Write the reference pages into ``out_dir``; return the documented modules."""
    modules = public_modules()
    out_dir.mkdir(parents=True, exist_ok=True)
    pages = plan_pages(modules)
    wanted = {f"{m}.rst" for m in modules} | {"index.rst"}
    for stale in out_dir.glob("*.rst"):
        if stale.name not in wanted:
            stale.unlink()
    for name, page in pages.items():
        _write_if_changed(out_dir / f"{name}.rst", render_page(page))
    _write_if_changed(out_dir / "index.rst", render_index(modules))
    return modules


def setup(app: Any) -> dict[str, Any]:
    def generate(app: Any) -> None:
        write_reference(Path(app.srcdir) / "reference")

    app.connect("builder-inited", generate)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
