"""Shell completion: the scripts, and what a shell is offered for commands, options and names."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import cli_support
import pytest

BIN = os.path.dirname(sys.executable)

#: Complete the last word of $LINE the way bash does on TAB, and print the candidates.
_BASH = """\
source <(cloudsigma completion bash)
read -r -a COMP_WORDS <<< "$LINE"
[[ "$LINE" == *" " ]] && COMP_WORDS+=("")
COMP_LINE="$LINE"; COMP_POINT=${#COMP_LINE}; COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
_python_argcomplete cloudsigma "${COMP_WORDS[-1]}" "${COMP_WORDS[-2]}"
printf '%s\\n' "${COMPREPLY[@]}"
"""


def offered(line: str, env: dict[str, str]) -> list[str]:
    """What bash offers for the last word of ``line``."""
    env = dict(env, LINE=line, PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}")
    done = subprocess.run(
        ["bash", "-c", _BASH], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return [word.strip() for word in done.stdout.splitlines() if word.strip()]


@pytest.fixture
def shell_env(cli, tmp_path):
    return dict(cli.env, XDG_CACHE_HOME=str(tmp_path / "cache"))


@pytest.mark.parametrize(
    ("shell", "marker"),
    [("bash", "complete -o"), ("zsh", "compdef"), ("fish", "complete --command cloudsigma")],
)
def test_completion_prints_a_script_for_each_shell(cli, shell, marker):
    script = cli("completion", shell).expect(0).stdout
    assert marker in script and "cloudsigma" in script
    assert cli("completion", "csh").expect(2).status == 2


def test_commands_and_options_complete(shell_env):
    assert offered("cloudsigma dri", shell_env) == ["drives"]
    assert offered("cloudsigma servers attach-", shell_env) == ["attach-drive", "attach-nic"]
    assert offered("cloudsigma drives list --out", shell_env) == ["--output"]
    assert offered("cloudsigma drives list -o y", shell_env) == ["yaml"]
    assert offered("cloudsigma completion f", shell_env) == ["fish"]
    assert offered("cloudsigma --location mn", shell_env) == ["mnl", "mnl2"]
    assert offered("cloudsigma servers list --context def", shell_env) == ["default"]


def test_object_names_complete_from_a_short_lived_cache(shell_env, cloudsigma_emulator, tmp_path):
    from cloudsigma import resource

    disk = cli_support.drive("alpha-disk")
    cli_support.drive("beta-disk")
    before = len(cloudsigma_emulator.journal)
    assert offered("cloudsigma drives get al", shell_env) == ["alpha-disk"]
    assert disk["uuid"] in offered("cloudsigma drives delete ", shell_env)
    lists = [e for e in cloudsigma_emulator.journal[before:] if e["method"] == "GET"]
    assert len(lists) == 1  # the second completion came from the cache

    caches = list((tmp_path / "cache" / "cloudsigma" / "names").iterdir())
    assert len(caches) == 1
    assert stat.S_IMODE(os.stat(caches[0]).st_mode) == 0o600
    resource.Drive().delete(disk["uuid"])
    assert offered("cloudsigma drives get al", shell_env) == ["alpha-disk"]  # still cached
    os.utime(caches[0], (0, 0))  # a minute later
    assert offered("cloudsigma drives get al", shell_env) == []


def test_names_complete_for_the_collection_a_wait_names_and_never_prompt(shell_env):
    cli_support.server("web-1")
    assert offered("cloudsigma wait servers we", shell_env) == ["web-1"]
    # an account that cannot log in offers nothing, and asks for nothing
    stranger = dict(shell_env, CLOUDSIGMA_PASSWORD="wrong")
    assert offered("cloudsigma servers get --username nobody@example.com we", stranger) == []
