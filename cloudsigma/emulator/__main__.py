"""``cloudsigma-emulator`` / ``python -m cloudsigma.emulator``: run the emulator until stopped."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from typing import Any

from .backend import DEFAULT_PASSWORD, DEFAULT_USERNAME
from .models.statemachine import PROFILES


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``cloudsigma-emulator`` (no side effects; the docs are made from it)."""
    parser = argparse.ArgumentParser(
        prog="cloudsigma-emulator",
        description="Run a local emulator of the CloudSigma API 2.0 until SIGINT or SIGTERM.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=0, help="port (0 picks a free one)")
    parser.add_argument(
        "--tls",
        action="store_true",
        help="serve HTTPS/WSS with a self-signed certificate (CA written next to the config file)",
    )
    parser.add_argument("--username", default=DEFAULT_USERNAME, help="default account e-mail")
    parser.add_argument("--password", default=DEFAULT_PASSWORD, help="default account password")
    parser.add_argument(
        "--transition-delay",
        type=float,
        default=0.1,
        metavar="SECONDS",
        help="seconds each status change takes (default 0.1)",
    )
    parser.add_argument(
        "--timing",
        choices=sorted(PROFILES),
        default="uniform",
        help="how long status changes take: uniform (each takes --transition-delay) or "
        "realistic (the cloud's pace per operation; see docs/emulator.md, Timing)",
    )
    parser.add_argument(
        "--latency",
        type=float,
        default=0.0,
        metavar="MS",
        help="milliseconds added to every API and websocket request, as a network round "
        "trip would (default 0)",
    )
    parser.add_argument(
        "--write-config",
        metavar="PATH",
        help="write api_endpoint, ws_endpoint, username, password and emulator_token to PATH "
        "(mode 600); a file there that the emulator did not write is left alone",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="let --write-config replace a file that the emulator did not write",
    )
    parser.add_argument(
        "--serial-context",
        metavar="SERVER",
        action="append",
        default=[],
        help="serve the context of this server (uuid or name) on a pty and print "
        "its path; may be repeated",
    )
    parser.add_argument(
        "--direct-port",
        type=int,
        metavar="PORT",
        help="listen as a separate direct host (raw upload, downloads, websocket) on PORT "
        "(0 picks a free one); without it one port serves every role",
    )
    parser.add_argument("--access-log", action="store_true", help="log every request")
    parser.add_argument(
        "--faults",
        metavar="SPEC",
        help="inject faults into API answers, e.g. 'seed=7,503=0.02,429=0.02,reset_before=0.02,"
        "reset_after=0.02,latency=0.05:0.2,truncate=0.01' (see docs/emulator.md, Faults)",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="answer 400 to filters, query parameters and body fields that the API ignores "
        "(by default they are ignored, with a warning in the journal)",
    )
    return parser


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The options of ``argv``; a bad one ends the program with a usage line."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.transition_delay < 0:
        parser.error("--transition-delay must be >= 0")
    if not 0 <= args.latency < float("inf"):
        parser.error("--latency must be a number of milliseconds >= 0")
    if not 0 <= args.port <= 65535:
        parser.error("--port must be between 0 and 65535")
    if args.direct_port is not None and not 0 <= args.direct_port <= 65535:
        parser.error("--direct-port must be between 0 and 65535")
    if args.faults:
        from .faults import FaultError, parse_faults

        try:
            parse_faults(args.faults)
        except FaultError as error:
            parser.error(f"--faults: {error}")
    if args.write_config:
        folder = os.path.dirname(os.path.abspath(args.write_config))
        if not os.path.isdir(folder):
            parser.error(f"--write-config: the folder {folder} does not exist")
    return args


def load_emulator() -> Any:
    """The :class:`~cloudsigma.emulator.Emulator` class, or ``None`` without its extra."""
    try:
        from .runner import Emulator
    except ImportError as error:
        print(
            f"cloudsigma-emulator: the emulator needs its extra ({error.name or error} is "
            "missing): pip install 'cloudsigma[emulator]'",
            file=sys.stderr,
        )
        return None
    return Emulator


def main(argv: list[str] | None = None) -> int:
    """Start the emulator, print its configuration lines and wait for SIGINT/SIGTERM."""
    args = parse_args(argv)
    emulator_class = load_emulator()
    if emulator_class is None:
        return 1
    if args.access_log:
        import logging

        logging.basicConfig(level=logging.INFO, format="%(message)s")
    config_path = os.path.abspath(args.write_config) if args.write_config else None
    emulator = emulator_class(
        args.host,
        args.port,
        args.tls,
        args.username,
        args.password,
        args.transition_delay,
        config_path=config_path,
        access_log=args.access_log,
        faults=args.faults,
        direct_port=args.direct_port,
        strict=args.strict,
        timing=args.timing,
        latency=args.latency / 1000,
        overwrite_config=args.force,
    )
    stop = threading.Event()
    previous = {
        sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        emulator.start()
    except RuntimeError as error:
        print(f"cloudsigma-emulator: {error}", file=sys.stderr)
        return 1
    try:
        for line in emulator.config_lines():
            print(line)
        if config_path:
            print(f"# config written to {config_path}")
        for server in args.serial_context:
            print(f"serial_context {server} = {emulator.serial_device(server)}")
        sys.stdout.flush()
        while not stop.wait(0.5):
            pass
    finally:
        emulator.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


if __name__ == "__main__":
    sys.exit(main())
