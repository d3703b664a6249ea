"""A small valid case shared by the trust tests (inputs, fuzzing, explanations).

Two segments (KEY tier 1, OTH tier 2), two products, three levels, three periods; its
optimum is known to the oracle. Tests derive broken or quirky variants from ``BASE``.
"""

from __future__ import annotations

BASE = {
    "case.yaml": "name: trust\nperiod_days: 30\n",
    "segments.csv": """
        segment,tier,goodwill_sensitivity
        KEY,1,0
        OTH,2,0
    """,
    "products.csv": """
        product,product_class,unit_margin,base_unit_cost,holding_cost,demand_cv
        P,star,10,4,0.5,0.3
        Q,std,8,3,0.2,0.1
    """,
    "levels.csv": """
        level,rank,service_target,lead_time_days,cost_multiplier,fixed_cost
        B,1,0.8,10,1.0,0
        G,2,0.95,5,1.25,0
        S,3,0.99,2,1.6,0
    """,
    "periods.csv": """
        period,budget,discount
        2025-01,2000,1
        2025-02,2000,0.99
        2025-03,,0.98
    """,
    "demand.csv": """
        segment,product,period,base_demand
        KEY,P,2025-01,100
        KEY,P,2025-02,120
        KEY,P,2025-03,90
        OTH,Q,2025-01,50.5
        OTH,Q,2025-02,60
        OTH,Q,2025-03,0
    """,
    "response.csv": """
        segment,level,capture
        KEY,B,0.7
        KEY,G,0.9
        KEY,S,1.0
        OTH,B,0.8
        OTH,G,0.95
        OTH,S,1.0
    """,
}
