"""An svcplan extension: at most LIMIT unit-periods served at PREMIUM in any one month.

    svcplan solve examples/extend-case --extend examples/extend_premium_cap.py:premium_cap

PREMIUM is flown in by a partner who takes a limited number of accounts a month (here one).
One row per period: ``sum over units of x[unit, PREMIUM, period] <= LIMIT``. The row spans
every unit, so svcplan treats it like a budget row (priced in the LP bound of large cases).
"""

import pyomo.environ as pyo

LEVEL = "PREMIUM"
LIMIT = 1


def premium_cap(m, h, level=LEVEL, limit=LIMIT):
    """Add ``m.premium_cap[period]``: at most ``limit`` options at ``level`` per period."""
    o = h.options
    premium = o[o["level"] == level]

    def rule(m, t):
        rows = premium[premium["period"] == t]
        terms = [h.x(s, p, level, t) for s, p in zip(rows["segment"], rows["product"], strict=True)]
        return sum(terms) <= limit if terms else pyo.Constraint.Skip

    m.premium_cap = pyo.Constraint(sorted(set(o["period"])), rule=rule)
