"""Conformance suite: the recorded API exchanges replayed against the emulator.

``pytest tests/conformance`` runs one test per replayed record; ``python -m
tests.conformance.report`` prints the covered/agree counts, every disagreement, and the
excluded and out-of-scope records with their reasons (``--json`` for scripts).
"""
