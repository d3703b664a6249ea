"""Which units exist and which levels each may use (SPEC §1), and the capture of each (SPEC §2).

These rules are needed twice: validation refuses a case in which a unit has no allowed level
left or a demanded (segment, level, class) has no capture, and the option economics
(:mod:`svcplan.economics.options`) builds its options from exactly the same allowed pairs.
They live here, in the case stage, so that validation does not depend on a later stage;
economics imports them from here.

The functions take the mapping of typed tables (``Case.tables``, or the tables validation has
typed so far) rather than a :class:`~svcplan.case.case.Case`: validation runs them before a
Case exists, and this module then needs nothing else from the package. Pure pandas/numpy.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

Tables = Mapping[str, pd.DataFrame]

#: The key columns of a unit.
UNIT = ["segment", "product"]


def units_frame(tables: Tables) -> pd.DataFrame:
    """Every unit (SPEC §1: pairs in demand.csv or options.csv) with its product class.

    Columns: segment, product, product_class, in_options. Order: first appearance.
    """
    frames = [tables[n][UNIT] for n in ("demand", "options") if n in tables]
    units = pd.concat(frames, ignore_index=True).drop_duplicates(ignore_index=True)
    units = units.merge(tables["products"][["product", "product_class"]], on="product", how="left")
    if "options" in tables:
        listed = tables["options"][UNIT].drop_duplicates()
        units = units.merge(listed.assign(in_options=True), on=UNIT, how="left")
        units["in_options"] = units["in_options"].fillna(False).astype(bool)
    else:
        units["in_options"] = False
    return units


def allowed_options(tables: Tables) -> pd.DataFrame:
    """Every unit × level with ``allowed`` (policies and options.csv narrowing, SPEC §1).

    All matching policy rows apply (their rank ranges intersect). A unit listed in
    options.csv may only use the levels listed for it there (in any period).
    """
    units = units_frame(tables)
    lv = tables["levels"][["level", "rank"]]
    pairs = units.merge(lv, how="cross")
    ok = np.ones(len(pairs), dtype=bool)
    rank_of = dict(zip(lv["level"], lv["rank"], strict=True))
    pol = tables.get("policies")
    if pol is not None:
        for seg, cls, lo, hi in pol[["segment", "product_class", "min_level", "max_level"]].itertuples(
            index=False
        ):
            match = np.ones(len(pairs), dtype=bool)
            if seg is not None:
                match &= (pairs["segment"] == seg).to_numpy()
            if cls is not None:
                match &= (pairs["product_class"] == cls).to_numpy()
            out = np.zeros(len(pairs), dtype=bool)
            if lo is not None:
                out |= (pairs["rank"] < rank_of[lo]).to_numpy()
            if hi is not None:
                out |= (pairs["rank"] > rank_of[hi]).to_numpy()
            ok &= ~(match & out)
    if "options" in tables:
        listed = tables["options"][[*UNIT, "level"]].drop_duplicates().assign(_listed=True)
        flag = pairs.merge(listed, on=[*UNIT, "level"], how="left")["_listed"]
        flag = flag.fillna(False).astype(bool).to_numpy()
        ok &= ~pairs["in_options"].to_numpy() | flag
    pairs["allowed"] = ok
    return pairs


def captures(tables: Tables, pairs: pd.DataFrame) -> pd.Series:
    """capture[s,l] for each row of ``pairs`` (class-specific row wins over blank class).

    ``pairs`` needs segment, level and product_class. 1.0 everywhere without response.csv;
    NaN where response.csv has no row for the pair (:func:`missing_captures` reports those).
    """
    resp = tables.get("response")
    if resp is None:
        return pd.Series(1.0, index=pairs.index)
    keys = ["segment", "level"]
    blank = resp[resp["product_class"].isna()][[*keys, "capture"]]
    by_class = resp[resp["product_class"].notna()][[*keys, "product_class", "capture"]]
    left = pairs[[*keys, "product_class"]].reset_index(drop=True)
    c1 = left.merge(by_class, on=[*keys, "product_class"], how="left")["capture"]
    c0 = left.merge(blank, on=keys, how="left")["capture"]
    return pd.Series(c1.fillna(c0).to_numpy(), index=pairs.index)


def missing_captures(tables: Tables, pairs: pd.DataFrame) -> pd.DataFrame:
    """(segment, level, product_class) combinations of demanded units lacking a capture."""
    if "response" not in tables or "demand" not in tables:
        return pd.DataFrame(columns=["segment", "level", "product_class"])
    demanded = tables["demand"][UNIT].drop_duplicates()
    pairs = pairs.merge(demanded, on=UNIT)
    cap = captures(tables, pairs)
    miss = pairs.loc[cap.isna(), ["segment", "level", "product_class"]]
    return miss.drop_duplicates(ignore_index=True)
