"""Rank 4 — insight on a solved or infeasible case: marginal values and the smallest relaxation."""
