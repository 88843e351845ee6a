"""What can go wrong on the command line, by the exit status it leads to."""

from __future__ import annotations

__all__ = ["Ambiguous", "CommandFailed", "LookupFailed", "NotFound", "UsageError"]


class UsageError(Exception):
    """The command line is incomplete or contradictory (exit status 2)."""


class CommandFailed(Exception):
    """What was asked cannot be done with the objects as they are (exit status 1)."""


class LookupFailed(CommandFailed):
    """A name matched no object, or several (exit status 1)."""


class NotFound(LookupFailed):
    """No object has the name given."""


class Ambiguous(LookupFailed):
    """Several objects have the name given."""
