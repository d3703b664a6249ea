"""Period ids that are dates: their row order must be their calendar order.

The row order of the periods table is the time order of the plan (switching, goodwill and
the first period's comparison with today's levels all follow it). A planner who sorts the
sheet by budget in Excel reorders time without noticing; when the ids say which month they
are, the case is refused rather than planned in the wrong order (a warning would scroll by
while the solve runs on a reordered year; a refusal costs one re-sort). Ids that do not all
read as dates in one format (``P01``, ``spring``) keep their row order unchecked.
"""

from __future__ import annotations

import re

import pandas as pd

from .problems import Problem

#: strptime formats a column of period ids is tried against, in this order (all ids must
#: read in one format). Day-first/month-first slashes are ambiguous and not tried.
DATE_FORMATS = ("%Y-%m", "%Y/%m", "%Y-%m-%d", "%Y/%m/%d", "%Y-%m-%d %H:%M:%S", "%d.%m.%Y",
                "%b %Y", "%B %Y", "%b-%Y", "%b-%y", "%Y-%b")
#: Quarters (``2026-Q1``, ``2026Q1``, ``Q1 2026``) and ISO weeks (``2026-W07``).
_QUARTER = re.compile(r"^(?:(\d{4})[- ]?Q([1-4])|Q([1-4])[- ]?(\d{4}))$", re.IGNORECASE)
_WEEK = re.compile(r"^(\d{4})-?W(\d{1,2})$", re.IGNORECASE)


def calendar_keys(ids: pd.Series) -> pd.Series | None:
    """A sortable calendar key per id when every id reads as a date, month, quarter or week
    in one format; None when they do not (then row order is all there is)."""
    text = ids.astype(str).str.strip()
    for fmt in DATE_FORMATS:
        when = pd.to_datetime(text, format=fmt, errors="coerce")
        if when.notna().all():
            return pd.Series(when.to_numpy(), index=ids.index)
    for pattern, make in ((_QUARTER, _quarter_key), (_WEEK, _week_key)):
        found = text.str.match(pattern)
        if found.all():
            return text.map(lambda t, p=pattern, m=make: m(p.match(t)))
    return None


def _quarter_key(m: re.Match) -> int:
    year, quarter = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(3))
    return 4 * int(year) + int(quarter)


def _week_key(m: re.Match) -> int:
    return 100 * int(m.group(1)) + int(m.group(2))


def out_of_order(ids: pd.Series) -> tuple[int, str, str] | None:
    """The first row whose date id comes before the previous row's in the calendar:
    ``(row, id, previous id)``; None when the ids are not dates or are in calendar order."""
    ids = ids.dropna()
    if len(ids) < 2:
        return None
    keys = calendar_keys(ids)
    if keys is None:
        return None
    values = keys.to_list()
    for k in range(1, len(values)):
        if values[k] < values[k - 1]:
            return int(ids.index[k]), str(ids.iloc[k]), str(ids.iloc[k - 1])
    return None


def order_problem(periods: pd.DataFrame, label: str) -> Problem | None:
    """The problem to report when a periods table's date ids are out of calendar order."""
    found = out_of_order(periods["period"])
    if found is None:
        return None
    row, period, before = found
    return Problem(label, f"period {period!r} is listed after {before!r}, a later date: the rows "
                   "are not in calendar order and row order is the plan's time order; sort the "
                   "rows by period", row=row, column="period")
