"""Hypothesis settings of the adversarial tests: short and derandomized in ``make test``, long
and seeded in ``make test-long`` (``CLOUDSIGMA_LONG=1``; ``CLOUDSIGMA_SEED=N`` picks the seed).

Every test takes its settings from :func:`examples`, so one switch scales the whole layer, and a
failure replays from the command :func:`replay_line` prints (plus the ``@reproduce_failure`` blob
that Hypothesis prints with the failing example).
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any, TypeVar

from hypothesis import HealthCheck, seed, settings

LONG = os.environ.get("CLOUDSIGMA_LONG", "").strip().lower() in ("1", "true", "yes", "on")
#: The seed of the long run; the short run is derandomized (its cases depend on the code only).
SEED = int(os.environ.get("CLOUDSIGMA_SEED", "20240610"))
#: How many times more examples the long run generates.
LONG_FACTOR = 20

#: Generated requests are slow next to pure functions, and stateful rules wait for their bundles.
SUPPRESSED = [
    HealthCheck.too_slow,
    HealthCheck.function_scoped_fixture,
    HealthCheck.filter_too_much,
]
settings.register_profile(
    "adversarial-short",
    derandomize=True,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=SUPPRESSED,
)
settings.register_profile(
    "adversarial-long",
    derandomize=False,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=SUPPRESSED,
)
PROFILE = settings.get_profile("adversarial-long" if LONG else "adversarial-short")
T = TypeVar("T", bound=Callable[..., Any])
#: Counters per generated layer (requests sent, checks made...), printed at the end of the run.
FIGURES: defaultdict[str, Counter] = defaultdict(Counter)


def examples(count: int, **more: Any) -> settings:
    """Settings for ``count`` examples in ``make test`` (``LONG_FACTOR`` times more when long)."""
    return settings(PROFILE, max_examples=count * (LONG_FACTOR if LONG else 1), **more)


def seeded(test: T) -> T:
    """Apply the long run's seed (a no-op for the derandomized short run)."""
    return seed(SEED)(test) if LONG else test


def replay_line() -> str:
    """The line that says which profile runs and how to replay it."""
    if LONG:
        return (
            f"adversarial: long profile, seed {SEED}; replay with "
            f"CLOUDSIGMA_LONG=1 CLOUDSIGMA_SEED={SEED} make test-long"
        )
    return "adversarial: short derandomized profile; a failure replays with the same make test"
