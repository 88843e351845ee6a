"""Every sample is a script with --help and a module docstring."""

from __future__ import annotations

import ast
import subprocess

import pytest
from sample_runner import SAMPLES, sample_command

SCRIPTS = [
    "set_ssh_key.py",
    "monitor_websocket_activity.py",
    "snapshot.py",
    "snapshot_purge.py",
    "server_bill.py",
]


@pytest.mark.parametrize("name", SCRIPTS)
def test_help_describes_the_script(name):
    docstring = ast.get_docstring(ast.parse((SAMPLES / name).read_text()))

    result = subprocess.run(
        sample_command(name, "--help"), capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: ")
    assert docstring and docstring.splitlines()[0] in " ".join(result.stdout.split())


@pytest.mark.parametrize("name", SCRIPTS)
def test_uses_only_the_public_sdk(name):
    tree = ast.parse((SAMPLES / name).read_text())
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}

    ours = {module for module in imported if module and module.startswith("cloudsigma")}

    assert ours <= {"cloudsigma", "cloudsigma.resource", "cloudsigma.metadata", "cloudsigma.errors"}
    assert "cloudsigma" in ours
