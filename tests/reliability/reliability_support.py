"""Switches and helpers shared by the reliability tests.

``CLOUDSIGMA_LONG=1`` (``make test-long``) runs the long form: thousands of chaos operations
and many more generated examples. The hypothesis profiles are named ``cloudsigma-short`` and
``cloudsigma-long``; tests take their settings from :data:`EXAMPLES`.
"""

from __future__ import annotations

import copy
import os
from typing import Any

from hypothesis import HealthCheck, settings

LONG = os.environ.get("CLOUDSIGMA_LONG", "").strip().lower() in ("1", "true", "yes", "on")

settings.register_profile(
    "cloudsigma-short",
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile(
    "cloudsigma-long",
    max_examples=2600,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
#: The settings of every property test here (apply as a decorator).
EXAMPLES = settings.get_profile("cloudsigma-long" if LONG else "cloudsigma-short")
#: Operations of the chaos workload.
CHAOS_OPERATIONS = 5000 if LONG else 400


def state_snapshot(emulator: Any) -> Any:
    """A deep copy of everything the backend keeps per account (taken on the emulator's loop)."""

    def take() -> Any:
        return {
            account.email: copy.deepcopy(
                {
                    "objects": {k: v for k, v in account.objects.items() if v},
                    "profile": account.profile,
                    "balance": account.balance,
                    "global_context": account.global_context,
                    "password": account.password,
                }
            )
            for account in emulator.backend.accounts.values()
        }

    return emulator.call(take)
