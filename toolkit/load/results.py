"""Results of a load run, step by step, and the ceiling they give (no Locust import)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from toolkit.capacity.inputs import Ceiling
from toolkit.load.config import CAPACITY_PLATFORM, Slo


class RequestStats(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    count: int = Field(ge=0)
    failures: int = Field(ge=0)
    p95_ms: float = Field(ge=0)
    rps: float = Field(ge=0)
    errors: list[str] = Field(default_factory=list, description="A few distinct error texts.")


class StepResult(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    users: int
    #: Users running at the end of the step as the runner counts them (with workers: the
    #: sum the master merged from their reports).
    running: int = 0
    seconds: float
    requests: list[RequestStats]

    @property
    def count(self) -> int:
        return sum(r.count for r in self.requests)

    @property
    def error_rate(self) -> float:
        return sum(r.failures for r in self.requests) / self.count if self.count else 1.0

    @property
    def p95_ms(self) -> float:
        return max((r.p95_ms for r in self.requests if r.count), default=0.0)

    def meets(self, slo: Slo) -> bool:
        """Requests were made, the error rate and every request's p95 within the SLO."""
        return self.count > 0 and self.error_rate <= slo.error_rate and self.p95_ms <= slo.p95_ms


class LoadResult(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    platform: str
    profile: str
    target: str
    token: str
    workers: int
    slo: Slo
    started_at: datetime
    steps: list[StepResult]
    cleanup_deleted: int | None = None
    cleanup_error: str = ""

    @property
    def carried_step(self) -> StepResult | None:
        """The highest step of the ramp that met the SLO, every step below it too."""
        best = None
        for step in self.steps:
            if not step.meets(self.slo):
                break
            best = step
        return best

    @property
    def carried(self) -> int:
        step = self.carried_step
        return step.users if step else 0

    def ceiling(self) -> Ceiling | None:
        step = self.carried_step
        if step is None:
            return None
        return Ceiling(
            platform=CAPACITY_PLATFORM.get(self.platform, self.platform),
            teleworkers=step.users if self.profile == "teleworker" else 0,
            rates={r.name: round(r.rps, 3) for r in step.requests},
            p95_ms=step.p95_ms,
            error_rate=step.error_rate,
            target=self.target,
            measured_at=self.started_at,
        )

    def summary(self) -> dict[str, Any]:
        data = self.model_dump(mode="json")
        data["carried"] = self.carried
        data["steps_met"] = [s.meets(self.slo) for s in self.steps]
        return data
