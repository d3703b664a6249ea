"""Exact optima of small hand-checkable cases, one per term of SPEC sections 2-4.

Every test states its optimum as an expression a reader can check by hand, asserts that the
brute-force oracle (tests/oracle.py, written from the SPEC alone) finds the same value, and that
the solver does. Every case is built so that the term under test moves the optimum: the test also
solves the case without the term (the "counterfactual") and checks that value, so a solver that
ignores the term fails.

Shorthand used in the comments: margin m, base unit cost c, capture k, demand d;
profit of a derived option = k*d*(m - c*multiplier) - holding*ss.
"""

from __future__ import annotations

from statistics import NormalDist

import pytest
from casefiles import without, write_case
from oracle import best

from svcplan import load_case, solve

Plan = dict[tuple[str, str], tuple[str, ...]]


def chosen_levels(res, periods: list[str]) -> Plan:
    """(segment, product) -> levels in period order, from the solver's assignment."""
    plan: Plan = {}
    df = res.assignment
    for (seg, prod), rows in df.groupby(["segment", "product"]):
        by_period = dict(zip(rows["period"].astype(str), rows["level"].astype(str), strict=True))
        plan[(str(seg), str(prod))] = tuple(by_period[t] for t in periods)
    return plan


def check(tmp_path, files: dict, expected: float, levels: Plan | None = None, name: str = "case"):
    """Write the case, and assert oracle and solver both reach ``expected`` (and ``levels``)."""
    folder = write_case(tmp_path, files, name)
    ref = best(folder)
    assert ref.objective == pytest.approx(expected, abs=1e-6), "oracle != hand value"
    res = solve(load_case(folder), mip_gap=0.0)
    assert res.status == "optimal"
    assert res.objective == pytest.approx(expected, abs=1e-6), "solver != hand value"
    if levels:
        assert {u: ref.plan[u] for u in levels} == levels, "oracle plan != hand plan"
        got = chosen_levels(res, ref.periods)
        assert {u: got.get(u) for u in levels} == levels, "solver plan != hand plan"
    return res


# --- shared pieces -----------------------------------------------------------------------------
# Two levels; G serves every demanded unit (k = 1) at 1.25x the unit cost, B loses 20% of demand.
# With m = 10, c = 4: B earns 0.8*d*6 = 4.8*d, G earns 1.0*d*5 = 5*d.
TWO_LEVELS = """
    level,rank,cost_multiplier
    B,1,1.0
    G,2,1.25
"""
PRODUCT_P = """
    product,product_class,unit_margin,base_unit_cost
    P,fresh,10,4
"""
RESPONSE_AC = """
    segment,level,capture
    A,B,0.8
    A,G,1.0
    C,B,0.8
    C,G,1.0
"""
SEGMENTS_AC = """
    segment
    A
    C
"""

# Options given explicitly (revenue, cost): one unit, levels B and G.
OPTION_LEVELS = """
    level,rank
    B,1
    G,2
"""
OPTION_BASE = {
    "segments.csv": "segment\nA",
    "products.csv": "product,unit_margin\nP,0",
    "levels.csv": OPTION_LEVELS,
}


# --- switching ---------------------------------------------------------------------------------
SWITCH = {
    **OPTION_BASE,
    "case.yaml": "name: switching\nswitching_cost: 15",
    "periods.csv": "period\nt1\nt2",
    # profit: t1 B 100, G 92; t2 B 90, G 100
    "options.csv": """
        segment,product,period,level,revenue,cost
        A,P,t1,B,130,30
        A,P,t1,G,100,8
        A,P,t2,B,90,0
        A,P,t2,G,150,50
    """,
}


def test_switching_without_current(tmp_path):
    # BB = 190, GG = 92 + 100 = 192, BG = 200 - 15 = 185, GB = 182 - 15 = 167 -> GG.
    # No change is charged at t1: there is no current.csv.
    check(tmp_path, SWITCH, 92 + 100, {("A", "P"): ("G", "G")})
    # without switching cost: BG = 100 + 100
    free = without(SWITCH, case_yaml="name: switching")
    check(tmp_path, free, 100 + 100, {("A", "P"): ("B", "G")}, name="free")


def test_switching_from_current(tmp_path):
    # current level B: GG now pays 15 at t1 -> 177; BB = 190; BG = 185 -> BB.
    files = {**SWITCH, "current.csv": "segment,product,level\nA,P,B"}
    check(tmp_path, files, 100 + 90, {("A", "P"): ("B", "B")})
    # current level G: GG pays nothing -> 192 again
    files_g = {**SWITCH, "current.csv": "segment,product,level\nA,P,G"}
    check(tmp_path, files_g, 92 + 100, {("A", "P"): ("G", "G")}, name="current_g")


def test_switching_cost_is_discounted(tmp_path):
    # discount t2 = 0.5, switching_cost 8.  BB = 100 + 0.5*90 = 145, GG = 92 + 50 = 142,
    # BG = 100 + 0.5*(100 - 8) = 146 -> BG.  Undiscounted switching would make BG = 142 -> BB.
    files = without(
        SWITCH,
        case_yaml="name: sw\nswitching_cost: 8",
        periods_csv="period,discount\nt1,1\nt2,0.5",
    )
    check(tmp_path, files, 100 + 0.5 * (100 - 8), {("A", "P"): ("B", "G")})


MAX_CHANGES = {
    **OPTION_BASE,
    "periods.csv": "period\nt1\nt2\nt3",
    # profit: t1 B 100, G 50; t2 B 40, G 100; t3 B 100, G 60
    "options.csv": """
        segment,product,period,level,revenue,cost
        A,P,t1,B,100,0
        A,P,t1,G,50,0
        A,P,t2,B,40,0
        A,P,t2,G,100,0
        A,P,t3,B,100,0
        A,P,t3,G,60,0
    """,
}


@pytest.mark.parametrize(
    "max_changes, current, expected, plan",
    [
        (None, None, 100 + 100 + 100, ("B", "G", "B")),  # unconstrained: 2 changes
        (1, None, 100 + 100 + 60, ("B", "G", "G")),  # BGG 260 > GGB 250 > BBB 240
        (0, None, 100 + 40 + 100, ("B", "B", "B")),
        # from current G the first period counts: BGG has 2 changes; GGB 250 > BBB 240 (1 change)
        (1, "G", 50 + 100 + 100, ("G", "G", "B")),
    ],
)
def test_max_changes(tmp_path, max_changes, current, expected, plan):
    files = dict(MAX_CHANGES)
    files["case.yaml"] = "name: mc" + (
        "" if max_changes is None else f"\nmax_changes: {max_changes}"
    )
    if current:
        files["current.csv"] = f"segment,product,level\nA,P,{current}"
    check(tmp_path, files, expected, {("A", "P"): plan})


# --- goodwill ----------------------------------------------------------------------------------
# m = 10, c = 4, no response.csv (k = 1), d = 100.  B: 100*(10-4) = 600; G (x1.5): 100*(10-6) = 400.
# G costs 200 of profit; each goodwill unit G[u,t] brings lift = sens*d*G units worth 6 each.
GOODWILL = {
    "case.yaml": "name: goodwill",
    "segments.csv": """
        segment,goodwill_sensitivity
        A,0.5
        C,0
    """,
    "products.csv": "product,unit_margin,base_unit_cost\nP,10,4",
    "levels.csv": """
        level,rank,cost_multiplier,goodwill
        B,1,1.0,0
        G,2,1.5,1.0
    """,
    "periods.csv": "period\nt1\nt2",
    "demand.csv": """
        segment,product,period,base_demand
        A,P,t1,100
        A,P,t2,100
        C,P,t1,100
        C,P,t2,100
    """,
}


def test_goodwill_carry_over_and_sensitivity(tmp_path):
    # A: GB = 400 + 600 + lift 0.5*100*1.0 = 50 units * 6 = 300 -> 1300 (BB 1200, GG 1100).
    # C (sensitivity 0): BB = 1200.
    check(tmp_path, GOODWILL, 1300 + 1200, {("A", "P"): ("G", "B"), ("C", "P"): ("B", "B")})
    # without sensitivity no one invests in goodwill: 1200 + 1200
    flat = without(GOODWILL, segments_csv="segment,goodwill_sensitivity\nA,0\nC,0")
    check(tmp_path, flat, 2400, {("A", "P"): ("B", "B")}, name="flat")


def test_goodwill_retention(tmp_path):
    # 3 periods, goodwill[G] = 0.6, retention 0.5, one unit (A, sensitivity 0.5, d = 100).
    # lift value = 0.5*100*G*6 = 300*G.  G at t1: G2 = 0.6 (180), G3 = 0.3 (90) -> +270 > 200.
    # GBB = 400 + 600 + 600 + 180 + 90 = 1870; BBB = 1800; GGB = 1400 + 180 + 270 = 1850;
    # BGB = 1600 + 180 = 1780.  Without retention GBB = 1780 < BBB = 1800.
    files = {
        **GOODWILL,
        "case.yaml": "name: retention\ngoodwill_retention: 0.5",
        "levels.csv": "level,rank,cost_multiplier,goodwill\nB,1,1.0,0\nG,2,1.5,0.6",
        "periods.csv": "period\nt1\nt2\nt3",
        "demand.csv": """
            segment,product,period,base_demand
            A,P,t1,100
            A,P,t2,100
            A,P,t3,100
        """,
    }
    check(tmp_path, files, 1600 + 180 + 90, {("A", "P"): ("G", "B", "B")})
    no_retention = without(files, case_yaml="name: retention")
    check(tmp_path, no_retention, 1800, {("A", "P"): ("B", "B", "B")}, name="none")


def test_goodwill_lift_uses_budget(tmp_path):
    # Unit A only.  GB spends at t2: B 100*4 + lift 50*c = 400 + 200 = 600 > budget 550 -> BB.
    files = {
        **GOODWILL,
        "periods.csv": "period,budget\nt1,\nt2,550",
        "demand.csv": "segment,product,period,base_demand\nA,P,t1,100\nA,P,t2,100",
    }
    check(tmp_path, files, 1200, {("A", "P"): ("B", "B")})
    roomy = without(files, periods_csv="period,budget\nt1,\nt2,600")  # exactly enough
    check(tmp_path, roomy, 1300, {("A", "P"): ("G", "B")}, name="roomy")


def test_discounting(tmp_path):
    # Unit A of the goodwill case, discount 0.95 and 0.6:
    # BB = 0.95*600 + 0.6*600 = 930; GB = 0.95*400 + 0.6*(600 + 300) = 920 -> BB.
    files = {
        **GOODWILL,
        "periods.csv": "period,discount\nt1,0.95\nt2,0.6",
        "demand.csv": "segment,product,period,base_demand\nA,P,t1,100\nA,P,t2,100",
    }
    check(tmp_path, files, 0.95 * 600 + 0.6 * 600, {("A", "P"): ("B", "B")})
    undiscounted = without(files, periods_csv="period\nt1\nt2")
    check(tmp_path, undiscounted, 1300, {("A", "P"): ("G", "B")}, name="undiscounted")


# --- fixed cost of offering a level ----------------------------------------------------------
def test_fixed_cost_of_a_level(tmp_path):
    # G costs 100 in each period in which any unit uses it.  B earns 4.8*d, G 5*d (gain 0.2*d).
    # t1: d_A 250, d_C 200 -> gains 50 + 40 = 90 < 100 -> all B: 4.8*450 = 2160
    # t2: d_A 350, d_C 200 -> gains 70 + 40 = 110 > 100 -> both G: 5*550 - 100 = 2650
    #     (A alone: 1750 + 960 - 100 = 2610).  Without fixed cost: 5*450 + 5*550 = 5000.
    files = {
        "case.yaml": "name: fixed",
        "segments.csv": SEGMENTS_AC,
        "products.csv": PRODUCT_P,
        "levels.csv": """
            level,rank,cost_multiplier,fixed_cost
            B,1,1.0,0
            G,2,1.25,100
        """,
        "periods.csv": "period\nt1\nt2",
        "response.csv": RESPONSE_AC,
        "demand.csv": """
            segment,product,period,base_demand
            A,P,t1,250
            A,P,t2,350
            C,P,t1,200
            C,P,t2,200
        """,
    }
    check(tmp_path, files, 2160 + 2650, {("A", "P"): ("B", "G"), ("C", "P"): ("B", "G")})
    free = without(files, levels_csv=TWO_LEVELS)
    check(tmp_path, free, 5000, name="free")


# --- tier ordering -----------------------------------------------------------------------------
@pytest.mark.parametrize("ordered", [True, False])
def test_tier_ordering(tmp_path, ordered):
    # d = 100 everywhere.  GOLD (tier 1) gains nothing from G (k 0.8 both): B 480, G 400.
    # STD (tier 2) and X (no tier): B 480, G 500.  Ordering per product: GOLD >= STD on P, so
    # on P either both B (960) or both G (900) -> both B; X is free -> G; STD on Q has no GOLD
    # unit of Q to respect -> G.
    files = {
        "case.yaml": f"name: tiers\ntier_ordering: {str(ordered).lower()}",
        "segments.csv": """
            segment,tier
            GOLD,1
            STD,2
            X,
        """,
        "products.csv": """
            product,unit_margin,base_unit_cost
            P,10,4
            Q,10,4
        """,
        "levels.csv": TWO_LEVELS,
        "periods.csv": "period\nt1",
        "response.csv": """
            segment,level,capture
            GOLD,B,0.8
            GOLD,G,0.8
            STD,B,0.8
            STD,G,1.0
            X,B,0.8
            X,G,1.0
        """,
        "demand.csv": """
            segment,product,period,base_demand
            GOLD,P,t1,100
            STD,P,t1,100
            X,P,t1,100
            STD,Q,t1,100
        """,
    }
    std_p = "B" if ordered else "G"
    expected = 480 + (480 if ordered else 500) + 500 + 500
    plan = {("GOLD", "P"): ("B",), ("STD", "P"): (std_p,), ("X", "P"): ("G",), ("STD", "Q"): ("G",)}
    check(tmp_path, files, expected, plan)


# --- capacity ----------------------------------------------------------------------------------
def test_capacity(tmp_path):
    # staff per unit served: B 0.05, G 0.1; capacity only for (staff, t1).  d_A 100, d_C 120.
    # t1 use: A B 80*0.05 = 4, A G 10; C B 96*0.05 = 4.8, C G 12.  Capacity 15:
    #   A G + C B = 14.8 ok -> 500 + 576 = 1076; A B + C G = 16 no; both G = 22 no; both B 1056.
    # t2 (no capacity row for staff): both G = 500 + 600.  Capacity 22 (both G): 2200.
    files = {
        "case.yaml": "name: capacity",
        "segments.csv": SEGMENTS_AC,
        "products.csv": PRODUCT_P,
        "levels.csv": TWO_LEVELS,
        "periods.csv": "period\nt1\nt2",
        "response.csv": RESPONSE_AC,
        "demand.csv": """
            segment,product,period,base_demand
            A,P,t1,100
            A,P,t2,100
            C,P,t1,120
            C,P,t2,120
        """,
        "usage.csv": """
            level,resource,per_unit
            B,staff,0.05
            G,staff,0.1
        """,
        "capacity.csv": """
            resource,period,capacity
            staff,t1,15
        """,
    }
    check(tmp_path, files, 1076 + 1100, {("A", "P"): ("G", "G"), ("C", "P"): ("B", "G")})
    roomy = without(files, capacity_csv="resource,period,capacity\nstaff,t1,22")
    check(tmp_path, roomy, 2200, name="roomy")


# --- inventory days ----------------------------------------------------------------------------
def test_inventory_days(tmp_path):
    # period_days 60.  ss = z*cv*q*sqrt(lead/60), cv 0.5, no holding cost:
    # B (z 1, lead 15) ss = 0.25*q, G (z 2, lead 60) ss = q.
    # Limit 30 days: sum ss <= (30/60) * sum q.  d_A 50, d_C 200.
    #   both B: ss 50 <= 100, profit 4.8*250 = 1200
    #   A G, C B: q 50 + 160, ss 50 + 40 = 90 <= 105 -> 250 + 960 = 1210
    #   A B, C G: q 40 + 200, ss 10 + 200 = 210 > 120;  both G: 250 > 125.
    # Unlimited: both G = 1250.  (Taking period_days as 30 in ss or in the limit changes the
    # optimum to 1200 or 1250.)
    files = {
        "case.yaml": "name: inventory\nperiod_days: 60\nmax_inventory_days: 30",
        "segments.csv": SEGMENTS_AC,
        "products.csv": """
            product,unit_margin,base_unit_cost,holding_cost,demand_cv
            P,10,4,0,0.5
        """,
        "levels.csv": """
            level,rank,safety_factor,lead_time_days,cost_multiplier
            B,1,1.0,15,1.0
            G,2,2.0,60,1.25
        """,
        "periods.csv": "period\nt1",
        "response.csv": RESPONSE_AC,
        "demand.csv": "segment,product,period,base_demand\nA,P,t1,50\nC,P,t1,200",
    }
    check(tmp_path, files, 1210, {("A", "P"): ("G",), ("C", "P"): ("B",)})
    unlimited = without(files, case_yaml="name: inventory\nperiod_days: 60")
    check(tmp_path, unlimited, 1250, name="unlimited")


# --- budgets -----------------------------------------------------------------------------------
# d_A 100, d_C 110.  cost/profit per period: A B 320/480, A G 500/500, C B 352/528, C G 550/550.
# Per period plans (cost, profit): all B (672, 1008), A G (852, 1028), C G (870, 1030),
# both G (1050, 1050).
BUDGET = {
    "case.yaml": "name: budget",
    "segments.csv": SEGMENTS_AC,
    "products.csv": PRODUCT_P,
    "levels.csv": TWO_LEVELS,
    "periods.csv": "period\nt1\nt2",
    "response.csv": RESPONSE_AC,
    "demand.csv": """
        segment,product,period,base_demand
        A,P,t1,100
        A,P,t2,100
        C,P,t1,110
        C,P,t2,110
    """,
}


def test_period_budget(tmp_path):
    # t1 budget 900: both G (1050) no -> C G (870) 1030; t2 blank budget: both G 1050.
    files = {**BUDGET, "periods.csv": "period,budget\nt1,900\nt2,"}
    check(tmp_path, files, 1030 + 1050, {("A", "P"): ("B", "G"), ("C", "P"): ("G", "G")})
    check(tmp_path, BUDGET, 2100, name="unbudgeted")


def test_total_budget(tmp_path):
    # Horizon budget 1900: GG+GG 2100, GG+CG 1920, GG+AG 1902 all too dear;
    # CG+CG costs 1740 -> 2060 beats GG+BB (1722) 2058 and CG+AG (1722) 2058.
    files = {**BUDGET, "case.yaml": "name: budget\ntotal_budget: 1900"}
    check(tmp_path, files, 2 * 1030, {("A", "P"): ("B", "B"), ("C", "P"): ("G", "G")})


def test_infeasible_budget(tmp_path):
    # The cheapest plan (all B) costs 672 in each period; the budget of t2 is 600.
    files = {**BUDGET, "periods.csv": "period,budget\nt1,\nt2,600"}
    folder = write_case(tmp_path, files)
    assert best(folder).objective is None
    res = solve(load_case(folder), mip_gap=0.0)
    assert res.status == "infeasible"


# --- policies ----------------------------------------------------------------------------------
def test_min_max_policies(tmp_path):
    # Unit cost B 5, S 6, G 7 (c 5 x 1.0/1.2/1.4), m 10 -> margin per unit 5 / 4 / 3, d = 100.
    # A: k 0.5/0.7/1.0 -> B 250, S 280, G 300.  C: k 1 -> B 500, S 400, G 300.
    # (A,P): row 1 caps at S, row 2 (class fresh) floors at S -> S 280
    # (C,P): row 2 -> >= S -> S 400;  (C,Q): row 3 -> exactly G 300;  row 4 changes nothing.
    # Without policies: G 300 + B 500 + B 500 = 1300.
    files = {
        "case.yaml": "name: policies",
        "segments.csv": SEGMENTS_AC,
        "products.csv": """
            product,product_class,unit_margin,base_unit_cost
            P,fresh,10,5
            Q,dry,10,5
        """,
        "levels.csv": """
            level,rank,cost_multiplier
            B,1,1.0
            S,2,1.2
            G,3,1.4
        """,
        "periods.csv": "period\nt1",
        "response.csv": """
            segment,level,capture
            A,B,0.5
            A,S,0.7
            A,G,1.0
            C,B,1.0
            C,S,1.0
            C,G,1.0
        """,
        "demand.csv": """
            segment,product,period,base_demand
            A,P,t1,100
            C,P,t1,100
            C,Q,t1,100
        """,
        "policies.csv": """
            segment,product_class,min_level,max_level
            A,,,S
            ,fresh,S,
            C,dry,G,G
            ,,B,G
        """,
    }
    plan = {("A", "P"): ("S",), ("C", "P"): ("S",), ("C", "Q"): ("G",)}
    check(tmp_path, files, 280 + 400 + 300, plan)
    check(tmp_path, without(files, "policies.csv"), 1300, name="free")


# --- economics of an option (SPEC section 2) ---------------------------------------------------
def test_response_class_row_wins_over_blank(tmp_path):
    # P is fresh: G captures 0.7 -> 0.7*100*5 = 350 < B 480 -> B.  Q (dry) uses the blank row:
    # G 500 > B 480.  The class row is listed before the blank one for A and after it for C.
    # If the blank row won, every unit would take G: 4 * 500.
    files = {
        "case.yaml": "name: response",
        "segments.csv": SEGMENTS_AC,
        "products.csv": """
            product,product_class,unit_margin,base_unit_cost
            P,fresh,10,4
            Q,dry,10,4
        """,
        "levels.csv": TWO_LEVELS,
        "periods.csv": "period\nt1",
        "response.csv": """
            segment,level,capture,product_class
            A,G,0.7,fresh
            A,G,1.0,
            A,B,0.8,
            C,B,0.8,
            C,G,1.0,
            C,G,0.7,fresh
        """,
        "demand.csv": """
            segment,product,period,base_demand
            A,P,t1,100
            A,Q,t1,100
            C,P,t1,100
            C,Q,t1,100
        """,
    }
    plan = {("A", "P"): ("B",), ("A", "Q"): ("G",), ("C", "P"): ("B",), ("C", "Q"): ("G",)}
    check(tmp_path, files, 2 * 480 + 2 * 500, plan)
    blank_only = without(files, response_csv=RESPONSE_AC)
    check(tmp_path, blank_only, 4 * 500, name="blank_only")


def test_unit_costs_override_multiplier(tmp_path):
    # Multiplier: B 4.8*d = 480, G 5*d = 500 -> G for both products.
    # unit_costs: (P, G) 5.5 -> G 100*4.5 = 450 < 480 -> B;  (Q, B) 3 -> B 80*7 = 560 > 500 -> B.
    files = {
        "case.yaml": "name: unit-costs",
        "segments.csv": SEGMENTS_AC,
        "products.csv": "product,unit_margin,base_unit_cost\nP,10,4\nQ,10,4",
        "levels.csv": TWO_LEVELS,
        "periods.csv": "period\nt1",
        "response.csv": RESPONSE_AC,
        "demand.csv": "segment,product,period,base_demand\nA,P,t1,100\nA,Q,t1,100",
        "unit_costs.csv": """
            product,level,unit_cost
            P,G,5.5
            Q,B,3
        """,
    }
    check(tmp_path, files, 480 + 560, {("A", "P"): ("B",), ("A", "Q"): ("B",)})
    check(tmp_path, without(files, "unit_costs.csv"), 1000, name="multipliers")


def test_safety_stock_from_service_target_or_factor(tmp_path):
    # holding 2, cv 0.5, lead 30 = period_days (default 30) -> ss = z*0.5*q, costs 2*ss = z*q.
    # B: z = inv_cdf(0.90) = 1.28155; G: safety_factor 1.0 wins over service_target 0.99.
    # A (k 0.8 / 1.0): B = 480 - 80*z90 = 377.48, G = 500 - 100*1.0 = 400 -> G
    # C (k 1.0 / 1.0): B = 600 - 100*z90 = 471.84, G = 400 -> B
    z90 = NormalDist().inv_cdf(0.90)
    files = {
        "case.yaml": "name: safety",
        "segments.csv": SEGMENTS_AC,
        "products.csv": """
            product,unit_margin,base_unit_cost,holding_cost,demand_cv
            P,10,4,2,0.5
        """,
        "levels.csv": """
            level,rank,service_target,safety_factor,lead_time_days,cost_multiplier
            B,1,0.90,,30,1.0
            G,2,0.99,1.0,30,1.25
        """,
        "periods.csv": "period\nt1",
        "response.csv": """
            segment,level,capture
            A,B,0.8
            A,G,1.0
            C,B,1.0
            C,G,1.0
        """,
        "demand.csv": "segment,product,period,base_demand\nA,P,t1,100\nC,P,t1,100",
    }
    check(tmp_path, files, 400 + 600 - 100 * z90, {("A", "P"): ("G",), ("C", "P"): ("B",)})
    # Without the safety factor G uses z99 = 2.326: G = 500 - 232.6 = 267.4 -> A takes B.
    by_target = without(
        files,
        levels_csv="""
            level,rank,service_target,lead_time_days,cost_multiplier
            B,1,0.90,30,1.0
            G,2,0.99,30,1.25
        """,
    )
    check(tmp_path, by_target, 480 - 80 * z90 + 600 - 100 * z90, name="by_target")


# --- options.csv next to demand.csv ------------------------------------------------------------
def test_options_replace_and_restrict(tmp_path):
    # (A,P) is demanded (d 100, k 1: B 600, G 400 derived) and has one options row: (t1, G)
    # revenue 900, cost 100.  Its only allowed level is therefore G in both periods; t1 uses the
    # row (800), t2 is derived (400).  (C,Q) only in options.csv: t1 G 50 > B 40; at t2 it has
    # no row and no demand -> 0.  Allowing B to (A,P) would give G B = 800 + 600 + 50.
    files = {
        "case.yaml": "name: options",
        "segments.csv": SEGMENTS_AC,
        "products.csv": "product,unit_margin,base_unit_cost\nP,10,4\nQ,10,4",
        "levels.csv": "level,rank,cost_multiplier\nB,1,1.0\nG,2,1.5",
        "periods.csv": "period\nt1\nt2",
        "demand.csv": "segment,product,period,base_demand\nA,P,t1,100\nA,P,t2,100",
        "options.csv": """
            segment,product,period,level,revenue,cost,units
            A,P,t1,G,900,100,90
            C,Q,t1,B,50,10,5
            C,Q,t1,G,80,30,8
        """,
    }
    res = check(tmp_path, files, 800 + 400 + 50, {("A", "P"): ("G", "G")})
    rows = res.assignment
    c_t1 = rows[(rows["segment"] == "C") & (rows["period"].astype(str) == "t1")]
    assert list(c_t1["level"]) == ["G"]
