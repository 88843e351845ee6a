"""Seeded fault injection for the emulator's API: errors, resets, latency and cut-off bodies.

A spec such as ``seed=7,503=0.02,429=0.02,reset_before=0.02,reset_after=0.02,latency=0.05:0.2,
truncate=0.01`` is parsed by :func:`parse_faults`; :class:`FaultInjector` draws the fault of
each request under ``/api/2.0/`` and counts them. :mod:`cloudsigma.emulator.http.faults` applies
the draws to the answers and serves the configuration and counters at ``/_emulator/faults``.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FAULT_KINDS", "FaultConfig", "FaultError", "FaultInjector", "parse_faults"]

#: The faults that replace or spoil an answer, in the order a draw walks them.
FAULT_KINDS = ("503", "429", "reset_before", "reset_after", "truncate")
API_PREFIX = "/api/2.0/"


class FaultError(ValueError):
    """A fault spec that cannot be understood; the message names the bad part."""


@dataclass(frozen=True)
class FaultConfig:
    """What to inject and where.

    :param seed: seed of the ``random.Random`` that draws the faults (replayable runs).
    :param rates: probability of each kind of :data:`FAULT_KINDS` per request (sum <= 1).
    :param latency: ``(probability, max_seconds)``: sleep up to ``max_seconds`` first.
    :param retry_after: the ``Retry-After`` seconds a 429 announces.
    :param methods: only requests with these methods (empty: all).
    :param paths: only paths below ``/api/2.0/`` starting with one of these (empty: all).
    """

    seed: int = 0
    rates: Mapping[str, float] = field(default_factory=dict)
    latency: tuple[float, float] = (0.0, 0.0)
    retry_after: float = 1.0
    methods: frozenset[str] = frozenset()
    paths: tuple[str, ...] = ()

    @property
    def active(self) -> bool:
        return any(self.rates.values()) or self.latency[0] > 0

    def applies_to(self, method: str, path: str) -> bool:
        """Whether a request may get a fault (only the API, within the method/path limits)."""
        if not path.startswith(API_PREFIX):
            return False
        if self.methods and method not in self.methods:
            return False
        below = path[len(API_PREFIX) :]
        return not self.paths or any(below.startswith(prefix) for prefix in self.paths)

    def as_dict(self) -> dict[str, Any]:
        """The JSON form served by ``GET /_emulator/faults`` (and accepted by POST)."""
        return {
            "seed": self.seed,
            **{kind: self.rates.get(kind, 0.0) for kind in FAULT_KINDS},
            "latency": list(self.latency),
            "retry_after": self.retry_after,
            "methods": sorted(self.methods),
            "paths": list(self.paths),
        }

    def spec(self) -> str:
        """The command-line form of this configuration."""
        parts = [f"seed={self.seed}"]
        parts += [f"{kind}={self.rates[kind]:g}" for kind in FAULT_KINDS if self.rates.get(kind)]
        if self.latency[0]:
            parts.append(f"latency={self.latency[0]:g}:{self.latency[1]:g}")
        if self.retry_after != 1.0:
            parts.append(f"retry_after={self.retry_after:g}")
        if self.methods:
            parts.append("methods=" + "|".join(sorted(self.methods)))
        if self.paths:
            parts.append("paths=" + "|".join(self.paths))
        return ",".join(parts)


def _number(key: str, text: Any, low: float, high: float | None = None) -> float:
    if isinstance(text, bool):
        raise FaultError(f"{key} must be a number, not {text!r}")
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise FaultError(f"{key} must be a number, not {text!r}") from None
    if not (value >= low and (high is None or value <= high)):  # also refuses NaN
        bound = f"between {low:g} and {high:g}" if high is not None else f">= {low:g}"
        raise FaultError(f"{key} must be {bound}, not {text!r}")
    return value


def _seed(text: Any) -> int:
    if isinstance(text, bool):
        raise FaultError(f"seed must be a whole number, not {text!r}")
    try:
        return int(str(text).strip())
    except ValueError:
        raise FaultError(f"seed must be a whole number, not {text!r}") from None


def _latency(text: Any) -> tuple[float, float]:
    if isinstance(text, (list, tuple)):
        parts = [str(part) for part in text]
    else:
        parts = str(text).split(":")
    if len(parts) != 2:
        raise FaultError(f"latency must be PROBABILITY:MAX_SECONDS, not {text!r}")
    return (_number("latency probability", parts[0], 0, 1), _number("latency", parts[1], 0, 600))


def _words(key: str, value: Any) -> list[str]:
    items = value if isinstance(value, (list, tuple)) else str(value).split("|")
    if not all(isinstance(item, str) for item in items):
        raise FaultError(f"{key} must be names separated by '|', not {value!r}")
    return [item.strip() for item in items if item.strip()]


def _from_items(items: Mapping[str, Any]) -> FaultConfig:
    settings: dict[str, Any] = {}
    rates: dict[str, float] = {}
    for key, value in items.items():
        if key in FAULT_KINDS:
            rates[key] = _number(key, value, 0, 1)
        elif key == "seed":
            settings["seed"] = _seed(value)
        elif key == "latency":
            settings["latency"] = _latency(value)
        elif key == "retry_after":
            settings["retry_after"] = _number(key, value, 0, 3600)
        elif key == "methods":
            settings["methods"] = frozenset(word.upper() for word in _words(key, value))
        elif key == "paths":
            settings["paths"] = tuple(word.lstrip("/") for word in _words(key, value))
        else:
            known = ", ".join(("seed", *FAULT_KINDS, "latency", "retry_after", "methods", "paths"))
            raise FaultError(f"unknown fault setting {key!r}; use one of {known}")
    if sum(rates.values()) > 1 + 1e-9:
        raise FaultError(f"the fault probabilities add up to {sum(rates.values()):g}, over 1")
    return FaultConfig(rates=rates, **settings)


def parse_faults(spec: str | Mapping[str, Any] | FaultConfig | None) -> FaultConfig:
    """Turn a spec string, a JSON-style mapping or a FaultConfig into a FaultConfig.

    The string form is ``key=value`` pairs separated by commas; an empty spec or ``off``
    turns faults off.

    :raises FaultError: for an unknown key, a bad number or probabilities over 1.
    """
    if spec is None:
        return FaultConfig()
    if isinstance(spec, FaultConfig):
        return spec
    if isinstance(spec, Mapping):
        if "spec" in spec:
            return parse_faults(spec["spec"])
        return _from_items(spec)
    if not isinstance(spec, str):
        raise FaultError(f"a fault spec is a string or a mapping, not {type(spec).__name__}")
    items: dict[str, str] = {}
    for part in spec.split(","):
        part = part.strip()
        if not part or part == "off":
            continue
        key, sep, value = part.partition("=")
        if not sep:
            raise FaultError(f"expected key=value in the fault spec, got {part!r}")
        items[key.strip()] = value.strip()
    return _from_items(items)


class FaultInjector:
    """Draws the faults of a :class:`FaultConfig` for API requests and counts them."""

    def __init__(self, spec: str | Mapping[str, Any] | FaultConfig | None = None) -> None:
        self._lock = threading.Lock()
        self.config = FaultConfig()
        self.random = random.Random(0)
        self.counts: Counter[str] = Counter()
        self.configure(spec)

    def configure(self, spec: str | Mapping[str, Any] | FaultConfig | None) -> FaultConfig:
        """Replace the configuration, re-seed the draws and zero the counters.

        :raises FaultError: for a spec that cannot be understood (nothing changes then).
        """
        config = parse_faults(spec)
        with self._lock:
            self.config = config
            self.random = random.Random(config.seed)
            self.counts = Counter()
        return config

    def report(self) -> dict[str, Any]:
        """The configuration, its spec string and the counters by kind."""
        with self._lock:
            counts = {kind: self.counts.get(kind, 0) for kind in (*FAULT_KINDS, "latency")}
            return {
                "config": self.config.as_dict(),
                "spec": self.config.spec(),
                "active": self.config.active,
                "requests": self.counts.get("requests", 0),
                "counts": counts,
            }

    def draw(self, method: str, path: str) -> tuple[str | None, float]:
        """The fault for one request (or None) and the latency to add before it."""
        with self._lock:
            config = self.config
            if not config.active or not config.applies_to(method, path):
                return None, 0.0
            self.counts["requests"] += 1
            delay = 0.0
            if config.latency[0] and self.random.random() < config.latency[0]:
                delay = self.random.uniform(0, config.latency[1])
                self.counts["latency"] += 1
            roll, ceiling = self.random.random(), 0.0
            for kind in FAULT_KINDS:
                ceiling += config.rates.get(kind, 0.0)
                if roll < ceiling:
                    return kind, delay
            return None, delay

    def count(self, kind: str) -> None:
        """Count one injected fault of ``kind``."""
        with self._lock:
            self.counts[kind] += 1
