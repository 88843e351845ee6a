"""The command-line parsers as the docs show them: built by the commands' own code.

The pages call these through sphinx-argparse, so the options on the site are the options of the
installed version. The only change is for display: epilogs (examples, configuration notes) are
laid out for a terminal, so they become literal blocks instead of reST paragraphs.
"""

from __future__ import annotations

import argparse
import textwrap


def _literal_epilogs(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    if parser.epilog:
        parser.epilog = ".. code-block:: text\n\n" + textwrap.indent(parser.epilog, "    ")
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for subparser in dict.fromkeys(action.choices.values()):
                _literal_epilogs(subparser)
    return parser


def cloudsigma_parser() -> argparse.ArgumentParser:
    """The ``cloudsigma`` command's parser."""
    from cloudsigma.cli.app import build_parser

    return _literal_epilogs(build_parser())


def emulator_parser() -> argparse.ArgumentParser:
    """The ``cloudsigma-emulator`` command's parser."""
    from cloudsigma.emulator.__main__ import build_parser

    return _literal_epilogs(build_parser())
