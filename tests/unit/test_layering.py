"""The package's import rules, read from the source with ``ast`` (no module is imported).

Every ``import`` counts: at the top, inside functions, under ``if TYPE_CHECKING:``, relative
or absolute. The rules:

* no import cycle anywhere in ``cloudsigma/``;
* a client module (anything outside ``cloudsigma/emulator/``) never imports the emulator,
  except the pytest plugin, ``cloudsigma.testing`` and the command line's ``emulator`` command;
* aiohttp is imported only below ``cloudsigma/emulator/http/``;
* requests and urllib3 are imported only by ``cloudsigma/_transport.py``;
* inside the emulator, a module imports only its own layer or the ones below it:
  models (and the plain fault specs and serial context) < registry < backend < http < runner
  < the package's command and facade.

The second half of the file runs the same checks on small package trees written to
``tmp_path``, so a checker that stopped seeing a cycle or a forbidden import fails too.
"""

from __future__ import annotations

import ast
import textwrap
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parents[2] / "cloudsigma"

#: Import edges allowed to close a cycle: none. A lazy import of a higher module from a lower
#: one that closes a cycle would wait here while it is reworked; an entry that no longer
#: closes a cycle fails test_allowed_cycle_edges_still_close_a_cycle.
ALLOWED_CYCLE_EDGES: frozenset[tuple[str, str]] = frozenset()
#: Client modules that may import the emulator, and what they may import of it.
EMULATOR_USERS = {
    "cloudsigma.pytest_plugin": "cloudsigma.emulator",  # the emulator fixture
    "cloudsigma.testing": "cloudsigma.emulator",  # mock_cloudsigma, for unittest users
    "cloudsigma.cli": "cloudsigma.emulator.__main__",  # the `cloudsigma emulator` command
}
#: Third-party packages and the only modules (or packages) that may import them.
CONFINED = {
    "aiohttp": ("cloudsigma.emulator.http",),
    "requests": ("cloudsigma._transport",),
    "urllib3": ("cloudsigma._transport",),
}
#: The layers of the emulator, lowest first: (layer number, module or package). The package
#: itself (its facade ``__init__``) stands for that one module, not for what is below it.
EMULATOR_LAYERS = (
    (0, "cloudsigma.emulator.models"),
    (0, "cloudsigma.emulator.faults"),
    (0, "cloudsigma.emulator.serial_context"),
    (1, "cloudsigma.emulator.registry"),
    (2, "cloudsigma.emulator.backend"),
    (3, "cloudsigma.emulator.http"),
    (4, "cloudsigma.emulator.runner"),
    (5, "cloudsigma.emulator.__main__"),
    (5, "cloudsigma.emulator"),
)


@dataclass(frozen=True)
class Import:
    """One import statement's target, resolved to a module of the package when it is one."""

    source: str  # the importing module
    target: str  # a module of the package, or the dotted name of a third-party import
    path: str  # relative to the directory that holds the package
    line: int
    internal: bool

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.source} imports {self.target}"


# reading the tree -----------------------------------------------------------------------------
def modules_of(package_dir: Path) -> dict[str, Path]:
    """Every module below ``package_dir`` by dotted name (packages by their own name)."""
    root = package_dir.parent
    found = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imports_of(package_dir: Path) -> list[Import]:
    """Every import of every module of the package, wherever it stands in the file."""
    modules = modules_of(package_dir)
    found = []
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
            for target in targets(node, name, is_package, modules):
                internal = target in modules
                where = str(path.relative_to(package_dir.parent))
                found.append(Import(name, target, where, node.lineno, internal))
    return found


def targets(node: ast.AST, module: str, is_package: bool, modules: dict) -> Iterator[str]:
    """The modules an ``import``/``from ... import`` node names (``from p import m`` names the
    module ``p.m`` when there is one, else ``p``)."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield known_prefix(alias.name, modules)
    elif isinstance(node, ast.ImportFrom):
        base = absolute(node, module, is_package)
        for alias in node.names:
            child = f"{base}.{alias.name}"
            yield child if child in modules else known_prefix(base, modules)


def absolute(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    """The absolute module a (possibly relative) ``from`` import starts from."""
    if not node.level:
        return node.module or ""
    parts = module.split(".") if is_package else module.split(".")[:-1]
    parts = parts[: len(parts) - (node.level - 1)]
    return ".".join(parts + ([node.module] if node.module else []))


def known_prefix(dotted: str, modules: dict) -> str:
    """The longest prefix of ``dotted`` that is a module of the package, else ``dotted``."""
    parts = dotted.split(".")
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in modules:
            return ".".join(parts[:end])
    return dotted


def within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


# the rules --------------------------------------------------------------------------------------
def import_cycles(
    found: Iterable[Import], allowed: frozenset[tuple[str, str]] = frozenset()
) -> list[list[str]]:
    """The import cycles (strongly connected sets of more than one module, or a module that
    imports itself), ignoring the ``allowed`` edges."""
    graph: dict[str, set[str]] = {}
    for item in found:
        if item.internal and (item.source, item.target) not in allowed:
            graph.setdefault(item.source, set()).add(item.target)
    return [c for c in strongly_connected(graph) if len(c) > 1 or c[0] in graph.get(c[0], ())]


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative; each component sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(sorted(component))
    return components


def emulator_imports_by_clients(found: Iterable[Import], package: str) -> list[Import]:
    """Client modules importing the emulator, beyond :data:`EMULATOR_USERS`."""
    emulator = f"{package}.emulator"
    wrong = []
    for item in found:
        if within(item.source, emulator) or not within(item.target, emulator):
            continue
        allowed = [
            target
            for user, target in EMULATOR_USERS.items()
            if within(item.source, user.replace("cloudsigma", package, 1))
        ]
        if not any(within(item.target, t.replace("cloudsigma", package, 1)) for t in allowed):
            wrong.append(item)
    return wrong


def confined_imports(found: Iterable[Import], package: str) -> list[Import]:
    """Imports of the packages of :data:`CONFINED` from outside their modules."""
    wrong = []
    for item in found:
        top = item.target.split(".")[0]
        if item.internal or top not in CONFINED:
            continue
        homes = [home.replace("cloudsigma", package, 1) for home in CONFINED[top]]
        if not any(within(item.source, home) for home in homes):
            wrong.append(item)
    return wrong


def layer_of(module: str, package: str) -> int | None:
    """The emulator layer of ``module`` (the most specific entry wins), or None outside it."""
    best: tuple[int, int] | None = None
    root = f"{package}.emulator"
    for layer, prefix in EMULATOR_LAYERS:
        prefix = prefix.replace("cloudsigma", package, 1)
        matches = module == prefix if prefix == root else within(module, prefix)
        if matches and (best is None or len(prefix) > best[1]):
            best = (layer, len(prefix))
    return None if best is None else best[0]


def upward_emulator_imports(found: Iterable[Import], package: str) -> list[Import]:
    """Emulator modules that import a module of a higher layer than their own."""
    wrong = []
    for item in found:
        source, target = layer_of(item.source, package), layer_of(item.target, package)
        if source is not None and target is not None and target > source:
            wrong.append(item)
    return wrong


# the package -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def package_imports() -> list[Import]:
    return imports_of(PACKAGE_DIR)


def test_the_checker_reads_the_whole_package(package_imports: list[Import]) -> None:
    sources = {item.source for item in package_imports}
    assert {"cloudsigma.generic", "cloudsigma.emulator.http.app"} <= sources
    assert any(item.target == "aiohttp" for item in package_imports)


def report(lines: Iterable[object]) -> str:
    return "\n".join(str(line) for line in lines)


def test_no_import_cycle_in_the_package(package_imports: list[Import]) -> None:
    cycles = import_cycles(package_imports, ALLOWED_CYCLE_EDGES)
    assert cycles == [], "import cycles among:\n" + report(" ".join(c) for c in cycles)


def test_allowed_cycle_edges_still_close_a_cycle(package_imports: list[Import]) -> None:
    edges = {(item.source, item.target) for item in package_imports if item.internal}
    together = {module: set(c) for c in import_cycles(package_imports) for module in c}
    stale = sorted(
        (source, target)
        for source, target in ALLOWED_CYCLE_EDGES
        if (source, target) not in edges or target not in together.get(source, ())
    )
    assert stale == [], f"no cycle needs these edges; remove them from ALLOWED_CYCLE_EDGES: {stale}"


def test_client_modules_do_not_import_the_emulator(package_imports: list[Import]) -> None:
    wrong = emulator_imports_by_clients(package_imports, "cloudsigma")
    assert wrong == [], report(wrong)


def test_aiohttp_requests_and_urllib3_stay_in_their_modules(
    package_imports: list[Import],
) -> None:
    wrong = confined_imports(package_imports, "cloudsigma")
    assert wrong == [], report(wrong)


def test_emulator_modules_import_only_their_layer_and_below(
    package_imports: list[Import],
) -> None:
    wrong = upward_emulator_imports(package_imports, "cloudsigma")
    assert wrong == [], report(wrong)


def test_every_emulator_module_has_a_layer() -> None:
    emulator = [name for name in modules_of(PACKAGE_DIR) if within(name, "cloudsigma.emulator")]
    assert len(emulator) > 20
    assert [name for name in emulator if layer_of(name, "cloudsigma") is None] == []


# the checks themselves, on trees that break the rules -------------------------------------------
def write_tree(root: Path, files: dict[str, str]) -> Path:
    """Write ``files`` (relative path -> source) below ``root``; returns the package dir."""
    for relative, source in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source), "utf-8")
    return root / "pkg"


CLEAN_TREE = {
    "pkg/__init__.py": "from . import client\n",
    "pkg/client.py": "from pkg import errors\n",
    "pkg/errors.py": "",
    "pkg/_transport.py": "import requests\nfrom urllib3.util import Retry\n",
    "pkg/emulator/__init__.py": "",
    "pkg/emulator/models/__init__.py": "",
    "pkg/emulator/models/kernel.py": "",
    "pkg/emulator/models/drives.py": "from .kernel import *\n",
    "pkg/emulator/backend.py": "from .models import drives\n",
    "pkg/emulator/http/__init__.py": "",
    "pkg/emulator/http/app.py": "from aiohttp import web\nfrom ..backend import *\n",
    "pkg/emulator/runner.py": "from .http import app\n",
    "pkg/emulator/__main__.py": "from .runner import *\n",
    "pkg/pytest_plugin.py": "def emu():\n    from pkg.emulator import runner\n",
    "pkg/cli/__init__.py": "def emulator():\n    from pkg.emulator.__main__ import main\n",
}


def test_a_clean_tree_passes_every_check(tmp_path: Path) -> None:
    found = imports_of(write_tree(tmp_path, CLEAN_TREE))
    assert import_cycles(found) == []
    assert emulator_imports_by_clients(found, "pkg") == []
    assert confined_imports(found, "pkg") == []
    assert upward_emulator_imports(found, "pkg") == []


@pytest.mark.parametrize(
    "changes, cycle",
    [
        # a relative import inside a function closes a two-module cycle
        (
            {"pkg/errors.py": "def later():\n    from .client import thing\n"},
            ["pkg.client", "pkg.errors"],
        ),
        # an import under TYPE_CHECKING counts too, and so does `import a.b`
        (
            {"pkg/errors.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
             "    import pkg.client\n"},
            ["pkg.client", "pkg.errors"],
        ),
        # a model that imports the aggregate: the cycle the emulator used to have
        (
            {"pkg/emulator/models/kernel.py": "from .. import backend\n"},
            ["pkg.emulator.backend", "pkg.emulator.models.drives", "pkg.emulator.models.kernel"],
        ),
        # `from . import x` in a package's __init__ names the module x
        ({"pkg/client.py": "import pkg\n"}, ["pkg", "pkg.client"]),
        # a module that imports itself
        ({"pkg/errors.py": "from . import errors\n"}, ["pkg.errors"]),
    ],
)  # fmt: skip
def test_the_cycle_check_finds_a_cycle(
    tmp_path: Path, changes: dict[str, str], cycle: list[str]
) -> None:
    found = imports_of(write_tree(tmp_path, {**CLEAN_TREE, **changes}))
    assert import_cycles(found) == [cycle]


def test_an_allowed_edge_breaks_a_cycle_and_only_that_one(tmp_path: Path) -> None:
    changes = {"pkg/errors.py": "def later():\n    from .client import thing\n"}
    found = imports_of(write_tree(tmp_path, {**CLEAN_TREE, **changes}))
    assert import_cycles(found, frozenset({("pkg.errors", "pkg.client")})) == []
    assert import_cycles(found, frozenset({("pkg.client", "pkg.nowhere")})) != []


@pytest.mark.parametrize(
    "changes, wrong",
    [
        ({"pkg/client.py": "def f():\n    from pkg.emulator import backend\n"},
         "pkg.client imports pkg.emulator.backend"),
        ({"pkg/cli/__init__.py": "from pkg.emulator.backend import *\n"},
         "pkg.cli imports pkg.emulator.backend"),
        ({"pkg/cli/verbs.py": "import pkg.emulator\n"}, "pkg.cli.verbs imports pkg.emulator"),
    ],
)  # fmt: skip
def test_the_client_check_finds_an_emulator_import(
    tmp_path: Path, changes: dict[str, str], wrong: str
) -> None:
    found = imports_of(write_tree(tmp_path, {**CLEAN_TREE, **changes}))
    assert [str(item).split(": ", 1)[1] for item in emulator_imports_by_clients(found, "pkg")] == [
        wrong
    ]


@pytest.mark.parametrize(
    "changes, wrong",
    [
        ({"pkg/emulator/models/drives.py": "def f():\n    import aiohttp.web\n"},
         "pkg.emulator.models.drives imports aiohttp.web"),
        ({"pkg/emulator/backend.py": "from aiohttp import web\n"},
         "pkg.emulator.backend imports aiohttp"),
        ({"pkg/client.py": "import requests\n"}, "pkg.client imports requests"),
        ({"pkg/client.py": "from urllib3.util.retry import Retry\n"},
         "pkg.client imports urllib3.util.retry"),
    ],
)  # fmt: skip
def test_the_confinement_check_finds_a_stray_import(
    tmp_path: Path, changes: dict[str, str], wrong: str
) -> None:
    found = imports_of(write_tree(tmp_path, {**CLEAN_TREE, **changes}))
    assert [str(item).split(": ", 1)[1] for item in confined_imports(found, "pkg")] == [wrong]


@pytest.mark.parametrize(
    "changes, wrong",
    [
        ({"pkg/emulator/models/drives.py": "from ..http import app\n"},
         "pkg.emulator.models.drives imports pkg.emulator.http.app"),
        ({"pkg/emulator/backend.py": "def f():\n    from .runner import Emulator\n"},
         "pkg.emulator.backend imports pkg.emulator.runner"),
    ],
)  # fmt: skip
def test_the_layer_check_finds_an_upward_import(
    tmp_path: Path, changes: dict[str, str], wrong: str
) -> None:
    found = imports_of(write_tree(tmp_path, {**CLEAN_TREE, **changes}))
    assert [str(item).split(": ", 1)[1] for item in upward_emulator_imports(found, "pkg")] == [
        wrong
    ]


# the client's layers ------------------------------------------------------------------------------
#: The layers of the client, lowest first, as for the emulator: a module imports only its own
#: layer or those below it. errors knows nothing of the package; the pure values (policies,
#: ids, redaction) come next, then configuration, the websocket connection and the one module
#: that talks HTTP, the client, the resources and the event waiter built on it, and the
#: leaves on top: transfers, bulk helpers, the server context, test helpers and the CLI.
CLIENT_LAYERS = (
    (0, "cloudsigma.errors"),
    (0, "cloudsigma.version"),
    (1, "cloudsigma._redact"),
    (1, "cloudsigma.policies"),
    (1, "cloudsigma._ids"),
    (1, "cloudsigma._isolation"),
    (1, "cloudsigma._attempts"),
    (1, "cloudsigma._layout"),
    (1, "cloudsigma.payloads"),
    (2, "cloudsigma.conf"),
    (3, "cloudsigma.websocket.connection"),
    (3, "cloudsigma._transport"),
    (4, "cloudsigma.generic"),
    (5, "cloudsigma.resource"),
    (5, "cloudsigma.websocket.events"),
    (6, "cloudsigma._chunks"),
    (6, "cloudsigma.metadata"),
    (7, "cloudsigma.download"),
    (7, "cloudsigma.direct_upload"),
    (8, "cloudsigma.resumable_upload"),
    (8, "cloudsigma.upload_client"),
    (8, "cloudsigma.bulk"),
    (8, "cloudsigma.fleet"),
    (9, "cloudsigma.scenarios"),
    (9, "cloudsigma.testing"),
    (10, "cloudsigma.pytest_plugin"),
    (10, "cloudsigma.cli"),
    (11, "cloudsigma.__main__"),
    # the facades: each package's __init__, which may name anything of its own
    (12, "cloudsigma.websocket"),
    (12, "cloudsigma"),
)


#: Package facades: their ``__init__`` stands for that one module, not for what is below it.
CLIENT_FACADES = ("cloudsigma", "cloudsigma.websocket")
#: Upward imports by design: a resource verb that hands its work to a transfer module.
ALLOWED_UPWARD = frozenset({("cloudsigma.resource", "cloudsigma.direct_upload")})


def client_layer_of(module: str, package: str) -> int | None:
    """The client layer of ``module`` (the most specific entry wins); None for the emulator."""
    if within(module, f"{package}.emulator"):
        return None
    best: tuple[int, int] | None = None
    for layer, prefix in CLIENT_LAYERS:
        facade = prefix in CLIENT_FACADES
        prefix = prefix.replace("cloudsigma", package, 1)
        matches = module == prefix if facade else within(module, prefix)
        if matches and (best is None or len(prefix) > best[1]):
            best = (layer, len(prefix))
    return None if best is None else best[0]


def upward_client_imports(found: Iterable[Import], package: str) -> list[Import]:
    """Client modules that import a client module of a higher layer than their own."""
    wrong = []
    for item in found:
        if not item.internal:
            continue
        source = client_layer_of(item.source, package)
        target = client_layer_of(item.target, package)
        edge = (item.source, item.target)
        if edge in {
            (a.replace("cloudsigma", package, 1), b.replace("cloudsigma", package, 1))
            for a, b in ALLOWED_UPWARD
        }:
            continue
        if source is not None and target is not None and target > source:
            wrong.append(item)
    return wrong


def test_client_modules_import_only_their_layer_and_below(package_imports: list[Import]) -> None:
    wrong = upward_client_imports(package_imports, "cloudsigma")
    assert wrong == [], report(wrong)


def test_every_client_module_has_a_layer() -> None:
    client = [n for n in modules_of(PACKAGE_DIR) if not within(n, "cloudsigma.emulator")]
    assert len(client) > 20
    assert [name for name in client if client_layer_of(name, "cloudsigma") is None] == []


CLIENT_TREE = {
    "pkg/__init__.py": "from . import generic\n",
    "pkg/errors.py": "",
    "pkg/policies.py": "from pkg.errors import ApiClientError\n",
    "pkg/conf.py": "from pkg import errors, policies\n",
    "pkg/_transport.py": "import requests\nfrom pkg import policies\n",
    "pkg/generic.py": "from pkg import conf\ndef send():\n    from pkg import _transport\n",
    "pkg/resource.py": "from pkg.generic import GenericClient\n",
    "pkg/cli/__init__.py": "from pkg import resource\n",
}


def test_a_clean_client_tree_has_no_upward_import(tmp_path: Path) -> None:
    assert upward_client_imports(imports_of(write_tree(tmp_path, CLIENT_TREE)), "pkg") == []


@pytest.mark.parametrize(
    "changes, wrong",
    [
        # errors must know nothing of the package, even inside a function
        ({"pkg/errors.py": "def f():\n    from pkg import conf\n"}, "pkg.errors imports pkg.conf"),
        # a pure policy that reaches for the HTTP module
        ({"pkg/policies.py": "from pkg._transport import classify\n"},
         "pkg.policies imports pkg._transport"),
        # the client that names a resource (the re-export direction the websocket used to take)
        ({"pkg/generic.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
          "    from pkg.resource import Drive\n"}, "pkg.generic imports pkg.resource"),
    ],
)  # fmt: skip
def test_the_client_layer_check_finds_an_upward_import(
    tmp_path: Path, changes: dict[str, str], wrong: str
) -> None:
    found = imports_of(write_tree(tmp_path, {**CLIENT_TREE, **changes}))
    assert [str(item).split(": ", 1)[1] for item in upward_client_imports(found, "pkg")] == [wrong]
