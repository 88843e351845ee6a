"""The ``cloudsigma`` command line: resources, server actions, uploads, events and the emulator.

``main(argv)`` parses the command line, runs the command and returns the exit status:
0 on success, 1 for an API or library error, 2 for a usage error, 130 when interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cloudsigma.errors import ApiClientError

__all__ = ["main"]

PROG = "cloudsigma"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``cloudsigma`` command with ``argv`` (default: ``sys.argv[1:]``).

    :returns: the exit status.
    """
    from cloudsigma.cli.app import build_parser

    arguments = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if "_ARGCOMPLETE" in os.environ:  # the shell asks for completions: answer and exit
        from cloudsigma.cli.completion import complete

        complete(parser)
    try:
        args, extra = parser.parse_known_args(arguments)
        if args.command == "emulator":
            return _run_emulator(extra)
        if extra:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        if getattr(args, "config", None) and not os.path.isfile(args.config):
            parser.error(f"--config {args.config}: no such file")
    except SystemExit as exit_request:
        return _exit_status(exit_request)
    return _run(args)


def _exit_status(exit_request: SystemExit) -> int:
    code = exit_request.code
    if code is None:
        return 0
    return code if isinstance(code, int) else 2


#: Commands that read no account, and so need no configuration file chosen for them.
_OFFLINE_COMMANDS = frozenset({"context", "completion", "metadata"})


def _run(args: argparse.Namespace) -> int:
    """Run a parsed command, turning library errors into a message and a status."""
    from cloudsigma import errors
    from cloudsigma.cli.contexts import selected_config
    from cloudsigma.cli.problems import CommandFailed, UsageError
    from cloudsigma.cli.session import Session

    try:
        session = Session.from_args(args)
        offline = args.command in _OFFLINE_COMMANDS
        config = None if offline else selected_config(args.config, args.context)
        with _config_file(config), _logging_to_stderr(args.verbose):
            status = args.handler(args, session)
        sys.stdout.flush()  # here, so that a closed pipe is handled below, not at exit
        return status
    except UsageError as exc:
        _complain(f"{_command_name(args)}: {exc}")
        return 2
    except CommandFailed as exc:
        _complain(str(exc))
        return 1
    except BrokenPipeError:
        # the reader (``| head``) left, having read what it wanted: that is no failure
        _silence_stdout()
        return 0
    except errors.ApiClientError as exc:
        _complain_api_error(exc)
        return 1
    except (OSError, ValueError) as exc:
        _complain(_describe_os_error(exc))
        return 1
    except KeyboardInterrupt:
        _complain("interrupted")
        return 130


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that the flush at exit does not fail on the closed pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass  # stdout is not a file (main() called with redirected streams)


def _command_name(args: argparse.Namespace) -> str:
    return " ".join(part for part in (args.command, getattr(args, "verb", None)) if part)


@contextlib.contextmanager
def _config_file(path: str | None) -> Iterator[None]:
    """Point the SDK's configuration at ``--config`` for the duration of the command."""
    if not path:
        yield
        return
    previous = os.environ.get("CLOUDSIGMA_CONFIG")
    os.environ["CLOUDSIGMA_CONFIG"] = os.path.abspath(path)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("CLOUDSIGMA_CONFIG", None)
        else:
            os.environ["CLOUDSIGMA_CONFIG"] = previous


@contextlib.contextmanager
def _logging_to_stderr(verbose: bool) -> Iterator[None]:
    """Show the SDK's warnings on stderr, and with ``-v`` its request log at DEBUG.

    The logger is put back as it was afterwards, so that ``main()`` called from Python
    leaves no trace in the caller's logging.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    if not verbose:
        handler.addFilter(_not_a_retry)
    package_logger = logging.getLogger("cloudsigma")
    saved_level, saved_propagate = package_logger.level, package_logger.propagate
    package_logger.addHandler(handler)
    package_logger.setLevel(logging.DEBUG if verbose else logging.WARNING)
    package_logger.propagate = False
    try:
        yield
    finally:
        package_logger.removeHandler(handler)
        package_logger.setLevel(saved_level)
        package_logger.propagate = saved_propagate


def _not_a_retry(record: logging.LogRecord) -> bool:
    """Without -v, retries that may still succeed are not worth a warning on the terminal."""
    return not (record.name in _RETRY_LOGGERS and "retry" in str(record.msg))


#: The loggers that announce retries: the HTTP client's, and a dedicated one if it has it.
_RETRY_LOGGERS = frozenset({"cloudsigma.generic", "cloudsigma.retry"})


def _complain(message: str) -> None:
    print(f"{PROG}: error: {message}", file=sys.stderr)


def _complain_api_error(exc: ApiClientError) -> None:
    """The API's own messages (one per entry of its error list), then status and request id."""
    messages = []
    for entry in exc.errors:
        text = str(entry.get("error_message") or entry.get("error_type") or "error")
        point = entry.get("error_point")
        messages.append(f"{point}: {text}" if point else text)
    if not messages:
        messages = [str(exc.message) if exc.message is not None else type(exc).__name__]
    details = []
    if exc.status_code is not None:
        details.append(f"status {exc.status_code}")
    if exc.request_id:
        details.append(f"request id {exc.request_id}")
    if details:
        messages[-1] += f" ({', '.join(details)})"
    hint = _timeout_hint(exc)
    if hint:
        messages.append(hint)
    for message in messages:
        _complain(message)


def _timeout_hint(exc: ApiClientError) -> str | None:
    """Which option allows more time, when the error is a timeout."""
    from cloudsigma import errors
    from cloudsigma.cli.parsing import WAIT_TIMEOUT_OPTION

    if isinstance(exc, errors.WaitTimeoutError) and WAIT_TIMEOUT_OPTION not in str(exc):
        return f"give it longer with {WAIT_TIMEOUT_OPTION} SECONDS"
    if isinstance(exc, errors.RequestTimeoutError) and "--timeout" not in str(exc):
        return "allow each request longer with --timeout SECONDS"
    return None


def _describe_os_error(exc: Exception) -> str:
    if isinstance(exc, OSError) and exc.filename and exc.strerror:
        return f"{exc.filename}: {exc.strerror}"
    return str(exc)


def _run_emulator(argv: list[str]) -> int:
    """Run the emulator's own command line (``cloudsigma-emulator``) with the remaining options."""
    try:
        from cloudsigma.emulator.__main__ import main as emulator_main
    except ImportError as exc:
        _complain(
            f"the emulator cannot start ({exc}); install it: pip install 'cloudsigma[emulator]'"
        )
        return 1
    try:
        status = emulator_main(argv)
    except SystemExit as exit_request:
        return _exit_status(exit_request)
    except KeyboardInterrupt:
        return 130
    return status if isinstance(status, int) else 0
