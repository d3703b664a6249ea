"""Rank 2 — the Pyomo formulation: ``add_*`` blocks, the row recorder and registry, the standard form."""
