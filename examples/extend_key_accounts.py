"""An svcplan extension: KEY accounts of one product are never served below EXPRESS in Q4.

    svcplan solve examples/extend-case --extend examples/extend_key_accounts.py:key_accounts_q4

A contractual floor the case tables cannot say (a policy applies to every period). For each
KEY unit-period of the product in October-December, the options ranked below EXPRESS must
all be 0: ``sum of x over those levels == 0``, one row per unit-period.
"""

import pyomo.environ as pyo

SEGMENT = "KEY"
PRODUCT = "SKU-001"
FLOOR = "EXPRESS"
MONTHS = ("10", "11", "12")  # Q4: periods are YYYY-MM


def key_accounts_q4(m, h, segment=SEGMENT, product=PRODUCT, floor=FLOOR, months=MONTHS):
    """Add ``m.key_floor[period]``: no option of (segment, product) below ``floor``."""
    o = h.options
    floor_rank = o.loc[o["level"] == floor, "rank"].iloc[0]
    mine = o[(o["segment"] == segment) & (o["product"] == product)
             & o["period"].str[-2:].isin(months)]
    below = mine[mine["rank"] < floor_rank]
    periods = sorted(set(mine["period"]))

    def rule(m, t):
        terms = [h.x(segment, product, lv, t) for lv in below.loc[below["period"] == t, "level"]]
        return sum(terms) == 0 if terms else pyo.Constraint.Skip

    m.key_floor = pyo.Constraint(periods, rule=rule)
