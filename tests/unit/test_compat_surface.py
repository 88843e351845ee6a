"""Every public name of pycloudsigma 2.0 exists here with a compatible signature.

The contract is ``data/pycloudsigma-2.0-surface.json``: modules, classes, methods,
functions and their positional parameter names. The listed parameters must come
first, by name and in order; anything added after them must be optional: keyword-only
with a default, a trailing positional parameter with a default (as ``errors`` on the
exception classes), or ``*args``/``**kwargs``. Old calls therefore keep working.
"""

from __future__ import annotations

import importlib
import inspect
import json
import types
from pathlib import Path
from typing import Any

import pytest

SURFACE = json.loads(
    (Path(__file__).parent / "data" / "pycloudsigma-2.0-surface.json").read_text(encoding="utf-8")
)

POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def _entries() -> list[Any]:
    entries = []
    for module_name, names in SURFACE.items():
        for name, entry in names.items():
            entries.append(pytest.param(module_name, name, entry, id=f"{module_name}.{name}"))
    return entries


def _methods() -> list[Any]:
    methods = []
    for module_name, names in SURFACE.items():
        for name, entry in names.items():
            for method, params in entry.get("methods", {}).items():
                case_id = f"{module_name}.{name}.{method}"
                methods.append(pytest.param(module_name, name, method, params, id=case_id))
    return methods


def _parameters(func: Any, drop_first: bool) -> list[inspect.Parameter]:
    parameters = list(inspect.signature(func).parameters.values())
    return parameters[1:] if drop_first else parameters


def _assert_compatible(func: Any, expected: list[str], drop_first: bool) -> None:
    """The ``expected`` names lead the positional parameters; every other one is optional."""
    parameters = _parameters(func, drop_first)
    positional = [p for p in parameters if p.kind in POSITIONAL]
    names = [p.name for p in positional]
    assert names[: len(expected)] == expected, f"{func!r}{tuple(names)} should take {expected}"
    added = positional[len(expected) :] + [
        p for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    for param in added:
        assert param.default is not inspect.Parameter.empty, (
            f"parameter {param.name!r} of {func!r} is not in pycloudsigma, so it needs a default"
        )


@pytest.mark.parametrize("module_name", sorted(SURFACE))
def test_module_imports(module_name: str) -> None:
    assert isinstance(importlib.import_module(module_name), types.ModuleType)


@pytest.mark.parametrize(("module_name", "name", "entry"), _entries())
def test_name_exists_with_its_kind(module_name: str, name: str, entry: dict[str, Any]) -> None:
    module = importlib.import_module(module_name)
    assert hasattr(module, name), f"{module_name}.{name} is missing"
    value = getattr(module, name)
    kind = entry["kind"]
    if kind == "module":
        assert isinstance(value, types.ModuleType)
    elif kind == "class":
        assert isinstance(value, type)
    elif kind == "function":
        assert callable(value)
        _assert_compatible(value, entry["params"], drop_first=False)


@pytest.mark.parametrize(("module_name", "class_name", "method", "params"), _methods())
def test_method_has_compatible_signature(
    module_name: str, class_name: str, method: str, params: list[str] | None
) -> None:
    cls = getattr(importlib.import_module(module_name), class_name)
    assert hasattr(cls, method), f"{module_name}.{class_name}.{method} is missing"
    if params is None:
        return
    static = inspect.getattr_static(cls, method)
    bound_to_class = isinstance(static, (staticmethod, classmethod))
    _assert_compatible(getattr(cls, method), params, drop_first=not bound_to_class)


def test_surface_file_covers_the_resource_classes() -> None:
    """Guard against an emptied contract: it lists the resources with their actions."""
    resources = SURFACE["cloudsigma.resource"]
    assert resources["Server"]["methods"]["start"] == ["uuid", "allocation_method"]
    assert len([e for e in resources.values() if e["kind"] == "class"]) > 40


@pytest.mark.parametrize(
    ("signature", "compatible"),
    [
        ("(self, uuid, data=None)", True),
        ("(self, uuid, data=None, *, avoid=None)", True),
        ("(self, uuid, data=None, extra=None)", True),
        ("(self, data, uuid=None)", False),
        ("(self, uuid)", False),
        ("(self, uuid, data=None, *, avoid)", False),
        ("(self, uuid, data, extra)", False),
    ],
)
def test_checker_rejects_incompatible_signatures(signature: str, compatible: bool) -> None:
    namespace: dict[str, Any] = {}
    exec(f"def method{signature}: return None", namespace)  # noqa: S102 - a fixed test table
    if compatible:
        _assert_compatible(namespace["method"], ["uuid", "data"], drop_first=True)
    else:
        with pytest.raises(AssertionError):
            _assert_compatible(namespace["method"], ["uuid", "data"], drop_first=True)


@pytest.mark.parametrize("module_name", sorted(SURFACE))
def test_star_import_brings_every_public_name(module_name: str) -> None:
    """pycloudsigma had no ``__all__``, so scripts used ``from cloudsigma.resource import *``."""
    namespace: dict[str, Any] = {}
    exec(f"from {module_name} import *", namespace)  # noqa: S102 - module names from the contract
    missing = [
        name
        for name, entry in SURFACE[module_name].items()
        if entry["kind"] in ("class", "function") and name not in namespace
    ]
    assert missing == []
