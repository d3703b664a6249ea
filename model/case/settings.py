"""case.yaml: the scalar settings of a case, as a strict pydantic model.

Strict means an unknown or misspelt key is an error (with a suggestion), never silently
ignored: a planner who writes ``switching_costs: 500`` must learn that it did nothing.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

#: What a solve optimises (SPEC §4): profit (max), cost (min) or mean promised service (max).
Objective = Literal["profit", "cost", "service"]
#: Which promise a service target or the service objective reads.
ServiceMetric = Literal["cycle", "fill_rate"]
#: How unit-periods are weighted in a mean service: by base demand, or one each.
ServiceWeight = Literal["demand", "equal"]


class SolverSettings(BaseModel):
    """Solver controls; the CLI flags ``--time-limit``, ``--gap``, ``--threads`` override them."""

    model_config = ConfigDict(extra="forbid")

    time_limit: float | None = Field(None, gt=0, description="seconds")
    mip_gap: float | None = Field(None, ge=0, lt=1, description="relative gap; 0 = prove optimality")
    threads: int | None = Field(None, ge=1)


class Settings(BaseModel):
    """The settings of SPEC §5 (case.yaml) with their defaults."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "case"
    period_days: float = Field(30.0, gt=0)
    objective: Objective = "profit"
    service_metric: ServiceMetric = "cycle"
    service_weight: ServiceWeight = "demand"
    switching_cost: float = Field(0.0, ge=0)
    max_changes: int | None = Field(None, ge=0)
    goodwill_retention: float = Field(0.0, ge=0, le=1)
    tier_ordering: bool = False
    total_budget: float | None = Field(None, ge=0)
    max_inventory_days: float | None = Field(None, ge=0)
    solver: SolverSettings = Field(default_factory=SolverSettings)


def setting_keys() -> list[str]:
    """All valid keys, nested ones dotted (``solver.time_limit``), for suggestions and scenarios."""
    keys = [k for k in Settings.model_fields if k != "solver"]
    return keys + [f"solver.{k}" for k in SolverSettings.model_fields]
