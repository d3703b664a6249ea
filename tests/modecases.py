"""A tiny case for the objective-mode and service-target tests: 4 units × 2 periods × 3 levels
(3^8 = 6,561 plans, enumerated by tests/oracle_modes.py in well under a second).

Every term is in play: budgets, a fixed cost (MID), switching against current.csv, goodwill
(KEY), discounting; one unit (SMALL, P2) has no demand in M1, so demand- and equal-weighted
means differ. Promises of the levels (SPEC §2, normal demand, lead time 5 of 30 days, no
review, no spread): cycle service = service_target.
"""

from __future__ import annotations

from pathlib import Path

import oracle_modes
from casefiles import write_case

BASE = {
    "case.yaml": "name: modes\nswitching_cost: 5\ngoodwill_retention: 0.5\n",
    "segments.csv": "segment,goodwill_sensitivity\nKEY,0.1\nSMALL,0\n",
    "products.csv": "product,product_class,unit_margin,base_unit_cost,holding_cost,demand_cv\n"
                    "P1,A,10,2,1,0.5\nP2,B,8,3,1,0.4\n",
    "levels.csv": "level,rank,service_target,lead_time_days,cost_multiplier,fixed_cost,goodwill\n"
                  "LOW,1,0.8,5,1.0,0,0\nMID,2,0.9,5,1.1,20,0.05\nHIGH,3,0.98,5,1.3,0,0.1\n",
    "periods.csv": "period,budget,discount\nM1,700,1\nM2,700,0.95\n",
    "demand.csv": "segment,product,period,base_demand\nKEY,P1,M1,100\nKEY,P1,M2,120\n"
                  "KEY,P2,M1,50\nSMALL,P1,M1,80\nSMALL,P2,M2,60\n",
    "current.csv": "segment,product,level\nKEY,P1,MID\n",
}


def make(tmp_path: Path, *, settings: str = "", targets: str | None = None,
         name: str = "case", **files: str) -> Path:
    """BASE with extra case.yaml lines, a targets.csv and replaced files (``periods_csv=``)."""
    f = dict(BASE)
    f["case.yaml"] = BASE["case.yaml"] + settings
    if targets is not None:
        f["targets.csv"] = targets
    for key, text in files.items():
        f[key.replace("_csv", ".csv").replace("_yaml", ".yaml")] = text
    return write_case(tmp_path, f, name=name)


def oracle(folder: Path):
    return oracle_modes.best(folder)
