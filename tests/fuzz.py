"""The project's one fuzz profile: bounded and reproducible.

Every fuzz test uses ``@FUZZ`` (``from tests.fuzz import FUZZ``): 200 examples, no per-example
deadline (the machine may be busy; a slow example is not a failure), and derandomized so a
failure found once is found again on every run and in CI.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

FUZZ = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
