"""Every control of the catalogue judged both ways on canned answers (no host, no network):
one case where it passes and one where it fails, each for a reason its summary names.

Each family's cases live in a module of this package (``linux``, ``services``,
``vpn_laptop``, ``byod_netdev``) as a list ``CASES``; ``all_cases`` gathers them and
tests/audit/test_every_control_both_ways.py runs them and refuses a catalogue control that
lacks either case. The per-family test modules (test_hardening_controls.py, ...) keep the
finer cases (warnings, errors on hostile answers)."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from tests.audit.conftest import Answer, fake_context, params, with_offer
from toolkit.audit.catalogue import Catalogue
from toolkit.audit.model import Outcome, Status
from toolkit.audit.registry import implementations

#: The day the cases that judge dates (ends of life) are judged on, so that a case does not
#: change its verdict when a release's support nears its end.
AUDIT_DAY = date(2026, 11, 25)

#: How a case runs its control: the real catalogue (for the control's default parameters)
#: and a scratch folder of its own, to the control's outcome.
Judge = Callable[[Catalogue, Path], Outcome]


@dataclass(frozen=True)
class Case:
    """One canned host and the verdict its control must give on it."""

    control: str
    expect: Status
    #: What the canned host shows, as the end of a sentence ("root may log in with a
    #: password"): it names the case in the test report.
    shows: str
    judge: Judge
    #: Text the outcome's summary (or one of its details) must contain: a pass or a
    #: failure for another reason than the case's is caught.
    says: str

    def __post_init__(self) -> None:
        if self.expect not in (Status.PASS, Status.FAIL):
            raise ValueError(f"{self.control}: a canned case expects pass or fail")
        if not self.says.strip():
            raise ValueError(f"{self.control}: a canned case names the text its verdict says")

    @property
    def id(self) -> str:
        words = "-".join(self.shows.lower().split())[:70]
        verb = "passes" if self.expect is Status.PASS else "fails"
        return f"{self.control}-{verb}-when-{words}"


def judged(
    control: str,
    answers: Mapping[str, Answer | str],
    *,
    offer: Mapping[str, tuple[str, ...]] | None = None,
    context: Mapping[str, Any] | None = None,
    host: str = "",
    **overrides: Any,
) -> Judge:
    """A judge running ``control``'s real check on a host answering ``answers``: a fake
    context with ``context``'s fields, named ``host`` when given, and for the SSH controls
    ``offer`` as the handshake's lists (nothing is probed); the catalogue's parameters but
    ``overrides``."""

    def judge(catalogue: Catalogue, _scratch: Path) -> Outcome:
        ctx = fake_context(answers, **(context or {}))
        if host:
            ctx.name = host
        if offer is not None:
            with_offer(ctx, **offer)
        return implementations()[control].check(ctx, params(catalogue, control, **overrides))

    return judge


def all_cases() -> list[Case]:
    """The cases of every module of this package, in module then list order."""
    cases: list[Case] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        cases.extend(getattr(module, "CASES", []))
    return cases
